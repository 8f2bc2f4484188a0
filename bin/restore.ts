#!/usr/bin/env tsx
// Put a dump back. Refuses anything it cannot trust (no file, a checksum that does not match,
// an archive pg_restore cannot read) before touching the database, asks first, and restores in
// ONE transaction: a restore that fails half way leaves the database exactly as it was.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { main, Refusal, type Command } from './lib/cli.js';
import { readSql, settings, type Settings, connectionTarget } from './lib/config.js';
import { describeTarget, type Target } from './lib/target.js';
import { withSql } from './lib/db.js';
import { pgPlace, toolCommand } from './lib/pgtools.js';
import { failureCause, mb, runStreaming } from './lib/stream.js';
import { describeProgress } from './lib/progress.js';
import type { Manifest } from './dump.js';
import { maintenanceStatus } from './maintenance.js';
import { isMain } from './lib/entry.js';

export interface RestoreResult {
  database: string;
  seconds: number;
  tables: { name: string; expected: number; actual: number | null }[];
  countsMatch: boolean | null; // null: no manifest to compare with
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

/** Every check that needs no database: the dump is there, intact and readable. */
export async function checkDump(target: Target, s: Settings, dumpPath: string | undefined): Promise<Manifest | null> {
  if (!dumpPath)
    throw new Refusal(
      'restore: DUMP is required.',
      'List dumps with `make backups`, then `make restore DUMP=backups/….dump`.',
    );
  if (!existsSync(dumpPath))
    throw new Refusal(`restore: ${dumpPath} does not exist.`, 'List dumps with `make backups`.');
  const sumFile = `${dumpPath}.sha256`;
  if (!existsSync(sumFile)) {
    throw new Refusal(
      `restore: ${dumpPath} has no checksum file (${basename(sumFile)}); its integrity cannot be checked.`,
      `If you know it is intact: \`sha256sum ${dumpPath} > ${sumFile}\`, then run again.`,
    );
  }
  const expected = readFileSync(sumFile, 'utf8').trim().split(/\s+/)[0];
  const actual = await sha256(dumpPath);
  if (expected !== actual) {
    throw new Refusal(
      `restore: checksum mismatch for ${dumpPath}: the file changed after it was written (expected ${expected.slice(0, 12)}…, got ${actual.slice(0, 12)}…).`,
      'Do not use this file; pick another dump (`make backups`).',
    );
  }
  const { container } = await pgPlace(s);
  const list = await runStreaming(toolCommand('pg_restore', target, ['--list'], { container, stdin: true }), {
    input: dumpPath,
  });
  if (list.code !== 0) {
    throw new Refusal(
      `restore: ${dumpPath} is not a readable pg_dump archive (${failureCause(list.stderr) || `exit ${list.code}`}).`,
      'Pick another dump (`make backups`).',
    );
  }
  const manifestFile = `${dumpPath}.manifest.json`;
  return existsSync(manifestFile) ? (JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest) : null;
}

/** Restores a dump; `checked` passes checkDump's result when the caller already ran it. */
/** `portable`: into another server or a scratch database: no owners, no grants (roles may not exist there). */
export async function restore(
  target: Target,
  s: Settings,
  dumpPath: string,
  opts: { checked?: Manifest | null; log?: (line: string) => void; portable?: boolean } = {},
): Promise<RestoreResult> {
  const t0 = performance.now();
  const log = opts.log ?? console.log;
  const manifest = opts.checked !== undefined ? opts.checked : await checkDump(target, s, dumpPath);
  const database = target.database;
  log(`→ restore ${dumpPath} into ${describeTarget(target)} (one transaction)`);
  const r = await restoreInOneTransaction(target, s, dumpPath, log, opts.portable);
  if (!r.ok) {
    throw new Refusal(
      `restore: the restore failed and was rolled back; the database is as it was: ${r.why}`,
      'Fix the cause above and run it again.',
      1,
    );
  }
  const tables: RestoreResult['tables'] = [];
  if (manifest) {
    const counts = await withSql(target, (sql) => sql.unsafe(readSql('table_counts.sql')));
    const actual = new Map(counts.map((c) => [String(c.name), Number(c.rows)]));
    for (const [name, expected] of Object.entries(manifest.tables))
      tables.push({ name, expected, actual: actual.get(name) ?? null });
  }
  return {
    database,
    seconds: (performance.now() - t0) / 1000,
    tables,
    countsMatch: manifest ? tables.every((t) => t.actual === t.expected) : null,
  };
}

/**
 * pg_restore --clean --if-exists writes the SQL; psql runs it. We sit between the two and wrap
 * the stream in BEGIN … COMMIT ourselves, sending COMMIT only once pg_restore has exited 0 and
 * psql has met no error (ON_ERROR_STOP): a truncated archive never commits half a restore.
 * The toolkit's own schema is dropped first, in the same transaction, so that it comes back
 * exactly as the dump has it (or not at all, for a dump taken before the toolkit was installed).
 * psql opts in to writing (the guard) and gives up on a lock after a minute rather than queue
 * the site behind it.
 */
async function restoreInOneTransaction(
  target: Target,
  s: Settings,
  dumpPath: string,
  log: (l: string) => void,
  portable = false,
): Promise<{ ok: boolean; why: string }> {
  const args = [
    '--clean',
    '--if-exists',
    ...(portable ? ['--no-owner', '--no-privileges'] : []),
    '--no-password',
    '--file=-',
  ];
  const { container } = await pgPlace(s); // asked again: the service's task may have been replaced
  const producer = toolCommand('pg_restore', target, args, { container, stdin: true });
  const dumpBytes = statSync(dumpPath).size;
  const consumer = toolCommand(
    'psql',
    target,
    ['--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', '--no-password', '--file=-'],
    { container, stdin: true, writable: true },
  );
  consumer.env.PGOPTIONS = `${consumer.env.PGOPTIONS ?? ''} -c lock_timeout=60s -c client_min_messages=warning`.trim();
  const psql = spawn(consumer.argv[0], consumer.argv.slice(1), {
    env: consumer.env,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let psqlErr = '';
  psql.stderr.on('data', (d) => (psqlErr = (psqlErr + d).slice(-8192)));
  psql.stdin.on('error', () => {}); // psql stopped on an error: its exit code tells
  const psqlDone = new Promise<number | null>((res) => psql.once('close', res));
  psql.stdin.write('BEGIN;\nDROP SCHEMA IF EXISTS breaking_migrations CASCADE;\n');
  const produced = await runStreaming(producer, {
    input: dumpPath,
    onData: (chunk) => void psql.stdin.write(chunk),
    // Measured: the share of the dump file read so far (pg_restore reads it once, in order).
    progress: (_sent, sec, read) =>
      log(`  … restore: ${describeProgress({ done: read, total: dumpBytes, unit: 'bytes' }, sec)}`),
  });
  if (produced.code === 0) psql.stdin.end('COMMIT;\n');
  else psql.kill('SIGTERM'); // the connection closes, the server rolls the transaction back
  const psqlCode = await psqlDone;
  if (produced.code !== 0)
    return { ok: false, why: `pg_restore: ${failureCause(produced.stderr) || `exit ${produced.code}`}` };
  if (psqlCode !== 0) return { ok: false, why: failureCause(psqlErr) || `psql exit ${psqlCode}` };
  return { ok: true, why: '' };
}

/**
 * What a restore would throw away, measured now: the dump's age, each table's rows now against
 * the dump, and the writes since (the statistics counters now minus the manifest's).
 */
export async function discarded(target: Target, manifest: Manifest): Promise<string[]> {
  const { counts, writes } = await withSql(target, async (sql) => ({
    counts: await sql.unsafe(readSql('table_counts.sql')),
    writes: await sql.unsafe(readSql('table_writes.sql')),
  }));
  const rows = new Map(counts.map((c) => [String(c.name), Number(c.rows)]));
  const now = new Map(writes.map((w) => [String(w.name), Number(w.writes)]));
  const minutes = Math.round((Date.now() - Date.parse(manifest.createdAt)) / 60000);
  const lines = [
    `the dump was taken ${minutes} min ago (${manifest.createdAt}); restoring it discards what changed since:`,
  ];
  for (const [name, then] of Object.entries(manifest.tables)) {
    const at = manifest.writes?.[name];
    const since =
      at === undefined || !now.has(name)
        ? 'writes since: not measured'
        : now.get(name)! < at
          ? 'writes since: unknown (statistics were reset)'
          : `${now.get(name)! - at} writes since`;
    lines.push(`  ${name}: ${rows.get(name) ?? 'missing'} rows now, ${then} in the dump; ${since}`);
  }
  return lines;
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim().toLowerCase() === 'yes';
  } finally {
    rl.close();
  }
}

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(args: string[]): Command {
  return {
    name: 'restore',
    usage: 'usage: tsx bin/restore.ts DUMP   (make restore DUMP=backups/….dump [YES=1] [LIVE=1])',
    help: `
Restores DUMP into DATABASE_URL in ONE transaction: pg_restore --clean --if-exists produces the
SQL, psql runs it between BEGIN and a COMMIT sent only when everything succeeded.
Before touching the database it refuses: no DUMP, a missing file, a missing or wrong checksum
(<dump>.sha256), an archive pg_restore cannot read. It shows the target and the dump's manifest
and what the restore discards (the dump's age; per table, rows now against the dump and the writes
made since, from the statistics counters the manifest kept). It refuses while maintenance is OFF
(the site is live) unless LIVE=1. It asks to type "yes" on a terminal; YES=1 skips the question; with no terminal and no YES=1 it
refuses. Afterwards it compares each table's row count with the manifest.
With PG_CONTAINER (or PG_SERVICE: its running task, found afresh), pg_restore and psql run inside
that container, fed from this host.
Exit codes: 0 restored and counts match, 1 restore failed (database unchanged) or counts differ,
2 refused (nothing done), 3 unreachable.`,
    async run(argv) {
      const dumpPath = argv[0] || process.env.DUMP || undefined;
      const target = await connectionTarget('restore');
      const s = settings();
      const manifest = await checkDump(target, s, dumpPath);
      console.log(`target:  database ${target.database} on ${describeTarget(target)}`);
      if (manifest) {
        console.log(
          `dump:    ${dumpPath} — database ${manifest.database}, ${manifest.createdAt}, PostgreSQL ${manifest.serverVersion}, ${mb(manifest.bytes)}`,
        );
        for (const [t, n] of Object.entries(manifest.tables)) console.log(`         ${t}: ${n} rows`);
      } else console.log(`dump:    ${dumpPath} (no manifest: row counts cannot be checked afterwards)`);
      if (manifest) for (const line of await discarded(target, manifest)) console.log(line);
      // With the site live, the app's queries queue behind the restore's locks and every write
      // made since the dump is gone afterwards: only on purpose.
      if (process.env.LIVE !== '1' && !(await maintenanceStatus(s, target)).on) {
        throw new Refusal(
          'restore: maintenance is OFF: the site is live, and every write made since the dump ' +
            'would be lost; nothing done.',
          'Run `make maintenance-on` first, then the restore; ' + 'or add LIVE=1 to restore with the site live.',
          2,
        );
      }
      if (process.env.YES !== '1') {
        if (!process.stdin.isTTY)
          throw new Refusal(
            'restore: not confirmed: no terminal to ask on.',
            'Run it on a terminal, or add YES=1 to confirm.',
          );
        if (!(await confirm(`Replace the data of database ${target.database} with this dump? Type yes: `)))
          throw new Refusal('restore: not confirmed; nothing done.', undefined, 2);
      }
      const r = await restore(target, s, dumpPath!, { checked: manifest });
      for (const t of r.tables)
        console.log(
          `  ${t.actual === t.expected ? 'ok  ' : 'DIFF'} ${t.name}: ${t.actual ?? 'missing'} rows (dump: ${t.expected})`,
        );
      if (r.countsMatch === false) {
        console.log(
          `restore: restored into ${r.database}, but row counts differ from the manifest (${r.seconds.toFixed(2)} s)`,
        );
        return 1;
      }
      console.log(
        `restore: restored ${dumpPath} into ${r.database}${r.countsMatch ? `; ${r.tables.length} tables match the manifest` : ''} (${r.seconds.toFixed(2)} s)`,
      );
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

// Put a dump back. Refuses anything it cannot trust (no file, a checksum that does not match,
// an archive pg_restore cannot read) before touching the database, asks first, and restores in
// ONE transaction: a restore that fails half way leaves the database exactly as it was.
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Refusal } from '../connection/refusal.js';
import { readSql, type Settings } from '../connection/config.js';
import { describeTarget, type Target } from '../connection/target.js';
import { withSql } from '../connection/db.js';
import { pgPlace, toolCommand } from '../connection/pgtools.js';
import { failureCause, runStreaming } from '../connection/stream.js';
import { describeProgress } from '../cli/progress.js';
import { readManifest, type Manifest } from './manifest.js';
import { foreignExtensions, withoutExtensions } from './extensions.js';

export interface RestoreResult {
  database: string;
  seconds: number;
  // compared: false for the toolkit's live bookkeeping (NOT_COMPARED), shown but never a difference
  tables: { name: string; expected: number; actual: number | null; compared: boolean }[];
  countsMatch: true | null; // checked before the COMMIT; null: no manifest to check against
}

/**
 * Tables whose row count the after-check shows but does not compare with the dump, and why.
 * breaking_migrations.app_instances is the toolkit's live bookkeeping, not user data: every process
 * of the app upserts its own row every 5 s (sql/app_instances.sql), maintenance or not. A report
 * the restore's locks held back lands right after the COMMIT, and an instance started since the dump
 * adds a row: its count differs from the manifest's by design, while the restore is exact.
 */
export const NOT_COMPARED: Readonly<Record<string, string>> = {
  'breaking_migrations.app_instances': "the app's live bookkeeping: its instances report into it",
};

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
      `restore: checksum mismatch for ${dumpPath}: the file changed after it was written ` +
        `(expected ${expected.slice(0, 12)}…, got ${actual.slice(0, 12)}…).`,
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
  return readManifest(dumpPath);
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
  const expected = manifest
    ? Object.fromEntries(Object.entries(manifest.tables).filter(([name]) => !(name in NOT_COMPARED)))
    : null;
  const r = await restoreInOneTransaction(target, s, dumpPath, log, expected, opts.portable);
  if (!r.ok) {
    throw new Refusal(
      `restore: the restore failed and was rolled back; the database is as it was: ${r.why}`,
      failedItsCheck(r.why)
        ? `Pick another dump (\`make backups\`): this one does not hold what its manifest counted.`
        : 'Fix the cause above and run it again.',
      1,
    );
  }
  // Every compared table held its manifest's rows at the COMMIT (the check); only the toolkit's live
  // bookkeeping is counted again, to show it: no second scan of the data inside the window.
  const live = Object.keys(manifest?.tables ?? {}).filter((name) => name in NOT_COMPARED);
  const liveRows = new Map<string, number>();
  // After the COMMIT nothing may throw: the restore is done, whatever this count meets (shown as "missing").
  if (live.length)
    await withSql(target, async (sql) => {
      for (const name of live) liveRows.set(name, Number((await sql.unsafe(`SELECT count(*) AS n FROM ${name}`))[0].n));
    }).catch(() => {});
  const tables: RestoreResult['tables'] = Object.entries(manifest?.tables ?? {}).map(([name, rows]) => ({
    name,
    expected: rows,
    actual: name in NOT_COMPARED ? (liveRows.get(name) ?? null) : rows,
    compared: !(name in NOT_COMPARED),
  }));
  return { database, seconds: (performance.now() - t0) / 1000, tables, countsMatch: manifest ? true : null };
}

/**
 * pg_restore --clean --if-exists --single-transaction writes the SQL; psql runs it. We sit between
 * the two and open the transaction ourselves, and hold pg_restore's own COMMIT back (the last
 * statement it writes, once it has read the whole archive): only once pg_restore has exited 0 do
 * we send sql/restore_check.sql (every table's rows as the manifest counted them, or it raises)
 * and then the COMMIT. psql stops at the first error (ON_ERROR_STOP): a truncated archive, a
 * failed check, never commit half a restore, and neither do large objects (see args).
 * The toolkit's own schema is dropped first, in the same transaction, so that it comes back
 * exactly as the dump has it (or not at all, for a dump taken before the toolkit was installed).
 * The app's instance reports (report_instance(), into app_instances) go on meanwhile: the DROP waits
 * for one in flight (a transaction of one statement), and those that come after wait on the dropped
 * table's lock, taking nothing the restore needs, and land in the restored table after the COMMIT.
 * psql opts in to writing (the guard) and gives up on a lock after a minute rather than queue
 * the site behind it.
 */
async function restoreInOneTransaction(
  target: Target,
  s: Settings,
  dumpPath: string,
  log: (l: string) => void,
  expected: Record<string, number> | null,
  portable = false,
): Promise<{ ok: boolean; why: string }> {
  const args = [
    '--clean',
    '--if-exists',
    // No BEGIN / COMMIT of pg_restore's own around large objects: inside the BEGIN sent below,
    // that COMMIT committed half a restore. Its BEGIN and final COMMIT then frame the whole stream.
    '--single-transaction',
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
  consumer.env.PGOPTIONS = `${consumer.env.PGOPTIONS ?? ''} -c client_min_messages=warning`.trim();
  const psql = spawn(consumer.argv[0], consumer.argv.slice(1), {
    env: consumer.env,
    stdio: ['pipe', 'ignore', 'pipe'],
  });
  let psqlErr = '';
  psql.stderr.on('data', (d) => (psqlErr = (psqlErr + d).slice(-8192)));
  psql.stdin.on('error', () => {}); // psql stopped on an error: its exit code tells
  const psqlDone = new Promise<number | null>((res) => psql.once('close', res));
  const filter = withoutExtensions(await withSql(target, foreignExtensions));
  const held = withoutFinalCommit();
  const header = withLockTimeout(RESTORE_LOCK_TIMEOUT);
  psql.stdin.write(`BEGIN;\n${lockBound(RESTORE_LOCK_TIMEOUT)}DROP SCHEMA IF EXISTS breaking_migrations CASCADE;\n`);
  const produced = await runStreaming(producer, {
    input: dumpPath,
    onData: (chunk) => void psql.stdin.write(held.push(header.push(filter.push(chunk)))),
    // Measured: the share of the dump file read so far (pg_restore reads it once, in order).
    progress: (_sent, sec, read) =>
      log(`  … restore: ${describeProgress({ done: read, total: dumpBytes, unit: 'bytes' }, sec)}`),
  });
  const rest = produced.code === 0 ? held.push(header.push(filter.end(), true)) : Buffer.alloc(0);
  const tail = produced.code === 0 ? held.end() : null;
  if (tail) {
    // base64: pg_restore's header set client_encoding and standard_conforming_strings as the dump's
    // database had them, and neither may change a table's name on its way in
    const counts = expected && Buffer.from(JSON.stringify(expected), 'utf8').toString('base64');
    const setting =
      "SET client_encoding = 'UTF8';\n" + // the check's message names tables: read back as UTF-8
      "SELECT set_config('breaking_migrations.restore_expected', " +
      `convert_from(decode('${counts}', 'base64'), 'UTF8'), true);`;
    const check = counts ? `${setting}\n${readSql('restore_check.sql')}\n` : '';
    psql.stdin.end(Buffer.concat([rest, tail, Buffer.from(`${check}COMMIT;\n`)]));
  } else psql.kill('SIGTERM'); // the connection closes, the server rolls the transaction back
  const psqlCode = await psqlDone;
  if (produced.code !== 0)
    return { ok: false, why: `pg_restore: ${failureCause(produced.stderr) || `exit ${produced.code}`}` };
  if (!tail) return { ok: false, why: "pg_restore's SQL ended before its COMMIT (an archive cut short?)" };
  if (psqlCode !== 0) return { ok: false, why: failureCause(psqlErr) || `psql exit ${psqlCode}` };
  return { ok: true, why: '' };
}

/**
 * Whether a restore's failure is sql/restore_check.sql's (its RAISE begins so): the dump's data is not
 * what its manifest counted, and restoring that dump again cannot help.
 */
export const failedItsCheck = (message: string) => message.includes('restore check:');

/** How long the restore waits for each lock before it gives up (and rolls back) rather than queue the site. */
const RESTORE_LOCK_TIMEOUT = '60s';
const lockBound = (bound: string) => `SET lock_timeout = '${bound}';\n`;

/**
 * pg_restore's header says `SET lock_timeout = 0;` (wait for ever), which would override the bound the
 * session starts with: that one line becomes `SET lock_timeout = '<bound>';`. It comes in the first
 * lines; the first 64 KiB are held until it has been seen, and nothing past them is looked at.
 */
export function withLockTimeout(bound: string): { push: (chunk: Buffer, last?: boolean) => Buffer } {
  const line = '\nSET lock_timeout = 0;\n';
  const within = 65536; // the header's length, many times over
  let head: Buffer | undefined = Buffer.alloc(0);
  return {
    push(chunk, last = false) {
      if (!head) return chunk;
      head = Buffer.concat([head, chunk]);
      const at = head.subarray(0, within).indexOf(line);
      if (at < 0 && head.length < within && !last) return Buffer.alloc(0);
      const out =
        at < 0
          ? head
          : Buffer.concat([
              head.subarray(0, at),
              Buffer.from(`\n${lockBound(bound)}`),
              head.subarray(at + line.length),
            ]);
      head = undefined;
      return out;
    },
  };
}

/**
 * pg_restore's SQL with its final COMMIT cut out: the last bytes wait until the end, when the
 * COMMIT line is taken out of them; end() gives null when there was none (a stream cut short).
 * Only the tail is looked at, and only a COMMIT followed by nothing but blank lines, comments and
 * psql's \unrestrict is pg_restore's: a data line that reads COMMIT; has rows or `\.` after it.
 */
export function withoutFinalCommit(): { push: (chunk: Buffer) => Buffer; end: () => Buffer | null } {
  const keep = 4096; // more than what follows the COMMIT (a comment and \unrestrict)
  const commit = '\nCOMMIT;\n';
  let held = Buffer.alloc(0);
  return {
    push(chunk) {
      const all = Buffer.concat([held, chunk]);
      const cut = Math.max(0, all.length - keep);
      held = Buffer.from(all.subarray(cut));
      return all.subarray(0, cut);
    },
    end() {
      const at = held.lastIndexOf(commit);
      const after = at < 0 ? '' : held.subarray(at + commit.length).toString('latin1');
      if (at < 0 || !/^(?:\n|--[^\n]*\n|\\unrestrict [^\n]*\n)*$/.test(after)) return null;
      return Buffer.concat([held.subarray(0, at + 1), held.subarray(at + commit.length)]);
    },
  };
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
    const live = name in NOT_COMPARED ? `; not compared afterwards (${NOT_COMPARED[name]})` : '';
    lines.push(`  ${name}: ${rows.get(name) ?? 'missing'} rows now, ${then} in the dump; ${since}${live}`);
  }
  return lines;
}

// A backup you can trust: pg_dump of DATABASE_URL into BACKUP_DIR (0700), the file 0600, renamed
// into place only once complete and readable, with a checksum and a manifest of row counts taken
// in the very snapshot pg_dump dumps.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  createWriteStream,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  statfsSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Refusal } from '../connection/refusal.js';
import type { Manifest } from './manifest.js';
import { readSql, type Settings } from '../connection/config.js';
import { describeTarget, type Target } from '../connection/target.js';
import { connect, type Sql } from '../connection/db.js';
import { pgPlace, toolCommand, type PgPlace } from '../connection/pgtools.js';
import { failureCause, mb, runStreaming } from '../connection/stream.js';
import { describeProgress } from '../cli/progress.js';
import { listBackups } from './backups.js';

export type { Manifest };
export interface DumpResult {
  path: string;
  bytes: number;
  sha256: string;
  seconds: number;
  manifest: Manifest;
}

const stamp = (d: Date) => {
  const p = (n: number) => String(n).padStart(2, '0');
  const date = `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}`;
  return `${date}_${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
};
/** backup_<db>_YYYYmmdd_HHMMSS.dump */
export const dumpFileName = (db: string, at: Date) => `backup_${db.replace(/[^A-Za-z0-9_-]/g, '_')}_${stamp(at)}.dump`;

/** `pg_dump --version` → its major version; a refusal when pg_dump is missing or too old. */
async function checkPgDump(target: Target, place: PgPlace, serverMajor: number): Promise<string> {
  const out: string[] = [];
  const r = await runStreaming(toolCommand('pg_dump', target, ['--version'], { container: place.container }), {
    onData: (c) => out.push(String(c)),
  });
  const version = /(\d+)(?:\.(\d+))?/.exec(out.join(''))?.[0];
  const elsewhere = 'or set PG_SERVICE (a Swarm service) or PG_CONTAINER to use the one beside the server';
  if (r.code !== 0 || !version) {
    throw new Refusal(
      `dump: pg_dump is not available ${place.where} (${failureCause(r.stderr) || `exit ${r.code}`}).`,
      place.setting
        ? `Check that ${place.setting} names the PostgreSQL server's own container or service.`
        : `Install it: \`apt-get install -y postgresql-client\`, ${elsewhere}.`,
    );
  }
  if (Number(version.split('.')[0]) < serverMajor) {
    throw new Refusal(
      `dump: pg_dump ${version} ${place.where} is older than the server (${serverMajor}); it cannot dump it.`,
      `Install pg_dump ${serverMajor} or newer, ${elsewhere}.`,
    );
  }
  return version;
}

export interface DumpPreflight {
  serverVersion: string;
  serverMajor: number;
  databaseBytes: number;
  pgDumpVersion: string;
  dir: string;
  place: PgPlace;
}

/** Everything a dump needs, checked before anything is written: server, pg_dump, disk. */
export async function dumpPreflight(sql: Sql, target: Target, s: Settings): Promise<DumpPreflight> {
  const [server] =
    await sql`SELECT current_setting('server_version') AS version, current_setting('server_version_num')::int AS num,
                                    pg_database_size(current_database())::int8 AS size`;
  const serverMajor = Math.floor(server.num / 10000);
  const place = await pgPlace(s);
  const pgDumpVersion = await checkPgDump(target, place, serverMajor);
  const dir = resolve(s.backupDir);
  let probe = dir; // the folder may not exist yet: measure the disk it will be on
  while (!existsSync(probe)) probe = dirname(probe);
  const { bavail, bsize } = statfsSync(probe);
  const free = Number(bavail) * Number(bsize);
  if (free < Number(server.size)) {
    throw new Refusal(
      `dump: not enough free disk in ${dir}: ${mb(free)} free, the database is ${mb(Number(server.size))}.`,
      'Free some space (`make backups KEEP=3` prunes old dumps) or set BACKUP_DIR to a larger disk.',
    );
  }
  return {
    serverVersion: String(server.version),
    serverMajor,
    databaseBytes: Number(server.size),
    pgDumpVersion,
    dir,
    place,
  };
}

export async function dump(
  target: Target,
  s: Settings,
  log: (line: string) => void = console.log,
): Promise<DumpResult> {
  const t0 = performance.now();
  const sql = connect(target, { appName: 'breaking-migrations-dump' });
  let partial: string | undefined;
  const cleanup = () => partial && existsSync(partial) && unlinkSync(partial);
  process.once('exit', cleanup);
  try {
    const { serverVersion, pgDumpVersion, dir, place } = await dumpPreflight(sql, target, s);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700); // also when it existed: dumps hold personal data

    const db = target.database;
    const previous = listBackups(dir).find((b) => b.database === db)?.bytes;
    const taken = (f: string) => existsSync(join(dir, f)) || existsSync(join(dir, `.${f}.partial`));
    let file = dumpFileName(db, new Date());
    if (taken(file)) {
      // A dump never overwrites another. This second's name is taken when a run killed right
      // after its dump is run again at once: take the next second's name.
      await new Promise((r) => setTimeout(r, 1000 - new Date().getMilliseconds()));
      file = dumpFileName(db, new Date());
    }
    const path = join(dir, file);
    if (taken(file)) throw new Refusal(`dump: ${path} already exists.`, 'Wait a second and run it again.');
    partial = join(dir, `.${file}.partial`);
    const fd = openSync(partial, 'wx', 0o600);
    const out = createWriteStream('', { fd, autoClose: false });
    const hash = createHash('sha256');

    // One snapshot for pg_dump and for the manifest's counts: they describe the same data.
    const { tables, writes, result } = await sql.begin('isolation level repeatable read read only', async (tx) => {
      const [{ snapshot }] = await tx`SELECT pg_export_snapshot() AS snapshot`;
      const counts = await tx.unsafe(readSql('table_counts.sql'));
      const writes = await tx.unsafe(readSql('table_writes.sql'));
      log(`→ dump ${describeTarget(target)} → ${path}`);
      const result = await runStreaming(
        toolCommand(
          'pg_dump',
          target,
          ['--format=custom', `--compress=${s.dumpCompress}`, `--snapshot=${snapshot}`, '--no-password'],
          { container: place.container },
        ),
        // Measured against the previous dump of this database, when there is one: its size.
        {
          output: out,
          onData: (c) => hash.update(c),
          progress: (b, sec) => {
            const p = describeProgress({ done: b, total: previous, unit: 'bytes' }, sec);
            log(`  … dump: ${p}`);
          },
        },
      );
      return {
        tables: Object.fromEntries(counts.map((r) => [String(r.name), Number(r.rows)])),
        result,
        writes: Object.fromEntries(writes.map((r) => [String(r.name), Number(r.writes)])),
      };
    });
    await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
    fsyncSync(fd);
    closeSync(fd);
    if (result.code !== 0) throw new Error(`pg_dump failed: ${failureCause(result.stderr) || `exit ${result.code}`}`);

    // Readable as an archive, or it is not a backup.
    const list = await runStreaming(
      toolCommand('pg_restore', target, ['--list'], { container: place.container, stdin: true }),
      { input: partial },
    );
    if (list.code !== 0)
      throw new Error(`the new dump does not read back (pg_restore --list: ${failureCause(list.stderr)})`);

    renameSync(partial, path);
    partial = undefined;
    const sha256 = hash.digest('hex');
    const manifest: Manifest = {
      database: db,
      serverVersion,
      pgDumpVersion,
      createdAt: new Date().toISOString(),
      file,
      bytes: result.bytes,
      sha256,
      tables,
      writes,
    };
    writeFileSync(`${path}.sha256`, `${sha256}  ${file}\n`, { mode: 0o600, flag: 'wx' });
    writeFileSync(`${path}.manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    const dirFd = openSync(dir, 'r');
    fsyncSync(dirFd);
    closeSync(dirFd);
    return { path, bytes: result.bytes, sha256, seconds: (performance.now() - t0) / 1000, manifest };
  } finally {
    cleanup();
    process.off('exit', cleanup);
    await sql.end({ timeout: 5 });
  }
}

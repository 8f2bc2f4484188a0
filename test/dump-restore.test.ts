// Backups you can trust: permissions, checksum, manifest, a faithful round trip, and a restore
// that refuses or rolls back on any damaged input, leaving the database as it was.
import t from 'tap';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  openSync,
  writeSync,
  closeSync,
  writeFileSync,
  chmodSync,
  mkdirSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readSql, settings } from '../bin/lib/connection/config.js';
import { type Target, withDatabase } from '../bin/lib/connection/target.js';
import { dump, dumpFileName } from '../bin/lib/backup/dump.js';
import { restore, withLockTimeout, withoutFinalCommit } from '../bin/lib/backup/restore.js';
import { withoutExtensions } from '../bin/lib/backup/extensions.js';
import { listBackups, pruneBackups } from '../bin/lib/backup/backups.js';
import { repo, runBin } from './helpers/cli.js';
import { tempSettings } from './helpers/runbook.js';
import {
  oracleConfig,
  serverTarget,
  query,
  roleCounts,
  seededDatabase,
  tableChecksum,
  throwawayRole,
  urlOf,
} from './helpers/database.js';
import { spawnTracked } from '../e2e/prisma/apps.js';
import { reportStatements } from '../nextjs/maintenance.js';

const quiet = () => {};
const backupDir = () => join(mkdtempSync(join(tmpdir(), 'bm-bk-')), 'backups');
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Checksums of every table of the database, by name. */
async function allTables(url: Target): Promise<Record<string, string>> {
  const names = await query<{ name: string }>(
    url,
    `SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables
    WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  const out: Record<string, string> = {};
  for (const { name } of names) out[name] = await tableChecksum(url, name);
  return out;
}

t.test('dump: 0700 folder, 0600 files, checksum and manifest match, round trip is exact', async (t) => {
  const url = await seededDatabase(t, 3000);
  await query(
    url,
    `CREATE TABLE "Post" (id serial PRIMARY KEY, author text REFERENCES "User"(id), body text);
                    INSERT INTO "Post" (author, body) SELECT id, repeat('é', 50) FROM "User" LIMIT 500`,
  );
  const s = settings({ BACKUP_DIR: backupDir() });
  const r = await dump(url, s, quiet);

  t.match(basename(r.path), /^backup_bm_test_\d+_[0-9a-f]+_\d{8}_\d{6}\.dump$/);
  t.equal(statSync(s.backupDir).mode & 0o777, 0o700, 'folder 0700');
  for (const f of [r.path, `${r.path}.sha256`, `${r.path}.manifest.json`])
    t.equal(statSync(f).mode & 0o777, 0o600, `${basename(f)} 0600`);
  t.same(
    readdirSync(s.backupDir).filter((f) => f.startsWith('.')),
    [],
    'no partial file left',
  );
  t.equal(sha(r.path), r.sha256, 'sha256 of the file');
  t.equal(readFileSync(`${r.path}.sha256`, 'utf8'), `${r.sha256}  ${basename(r.path)}\n`, 'sha256sum format');
  const manifest = JSON.parse(readFileSync(`${r.path}.manifest.json`, 'utf8'));
  t.match(manifest, {
    database: url.database,
    serverVersion: /^\d+\.\d+/,
    pgDumpVersion: /^\d+\.\d+/,
    bytes: statSync(r.path).size,
    sha256: r.sha256,
  });
  t.same(manifest.tables, { 'breaking_migrations.schema_migrations': 1, 'public."Post"': 500, 'public."User"': 3000 });

  const before = await allTables(url);
  await query(
    url,
    `DELETE FROM "Post"; UPDATE "User" SET email = 'gone-' || id;
    INSERT INTO "User" VALUES ('extra', 'extra@x', 'ADMIN')`,
  );
  t.not((await allTables(url))['public."User"'], before['public."User"'], 'data really changed');
  const rr = await restore(url, s, r.path, { log: quiet });
  t.equal(rr.countsMatch, true);
  t.same(await allTables(url), before, 'every table identical after the restore');
});

t.test(
  "dump never overwrites a dump (or a partial one) of the same second: it takes the next second's name",
  async (t) => {
    const url = await seededDatabase(t, 100);
    const s = settings({ DATABASE_URL: urlOf(url), BACKUP_DIR: backupDir() });
    mkdirSync(s.backupDir, { recursive: true, mode: 0o700 });
    await new Promise((r) => setTimeout(r, 1000 - new Date().getMilliseconds())); // start of a second
    const now = new Date();
    const db = url.database;
    const earlier = join(s.backupDir, dumpFileName(db, now));
    writeFileSync(earlier, 'an earlier dump', { mode: 0o600 });
    writeFileSync(join(s.backupDir, `.${dumpFileName(db, now)}.partial`), 'a killed dump', { mode: 0o600 });
    const r = await dump(url, s, quiet);
    t.not(r.path, earlier, 'a new name');
    t.equal(basename(r.path), dumpFileName(db, new Date(now.getTime() + 1000)), "the next second's");
    t.equal(readFileSync(earlier, 'utf8'), 'an earlier dump', 'the earlier file untouched');
    t.equal(statSync(r.path).mode & 0o777, 0o600);
  },
);

t.test('restore refuses damaged or unverifiable dumps and leaves the database as it was', async (t) => {
  const url = await seededDatabase(t, 2000);
  const s = settings({ BACKUP_DIR: backupDir() });
  const good = await dump(url, s, quiet);
  await query(url, `UPDATE "User" SET role = 'ADMIN' WHERE id IN (SELECT id FROM "User" ORDER BY id LIMIT 100)`);
  const state = await allTables(url);
  const damaged = (name: string) => {
    const p = join(s.backupDir, name);
    copyFileSync(good.path, p);
    copyFileSync(`${good.path}.manifest.json`, `${p}.manifest.json`);
    return p;
  };
  const withSum = (p: string) => {
    writeFileSync(`${p}.sha256`, `${sha(p)}  ${basename(p)}\n`);
    return p;
  };

  await t.rejects(restore(url, s, join(s.backupDir, 'nope.dump'), { log: quiet }), {
    message: /does not exist/,
    next: /make backups/,
  });

  const noSum = damaged('backup_x_20200101_000000.dump');
  await t.rejects(restore(url, s, noSum, { log: quiet }), { message: /has no checksum file/, next: /sha256sum/ });

  const flipped = damaged('backup_x_20200101_000001.dump');
  writeFileSync(`${flipped}.sha256`, readFileSync(`${good.path}.sha256`));
  const fd = openSync(flipped, 'r+');
  writeSync(fd, Buffer.from([0x42]), 0, 1, Math.floor(statSync(flipped).size / 2));
  closeSync(fd);
  await t.rejects(restore(url, s, flipped, { log: quiet }), { message: /checksum mismatch/ });

  // Damage with a checksum that matches: only pg_restore itself can find it out.
  const truncated = damaged('backup_x_20200101_000002.dump');
  truncateSync(truncated, Math.floor(statSync(truncated).size * 0.6));
  withSum(truncated);
  const tr = await restore(url, s, truncated, { log: quiet }).then(
    () => undefined,
    (e: Error) => e,
  );
  t.match(
    tr?.message,
    new RegExp(
      /^restore: the restore failed and was rolled back; the database is as it was: /.source +
        /pg_restore: .*(end of file|could not read)/.source,
    ),
    'truncated: restore rolled back',
  );
  t.same(await allTables(url), state, 'truncated: database unchanged');

  const garbage = join(s.backupDir, 'backup_x_20200101_000003.dump');
  writeFileSync(garbage, 'PGDMP this is not an archive');
  withSum(garbage);
  await t.rejects(restore(url, s, garbage, { log: quiet }), { message: /is not a readable pg_dump archive/ });

  const corrupt = damaged('backup_x_20200101_000004.dump');
  const size = statSync(corrupt).size;
  const cfd = openSync(corrupt, 'r+');
  writeSync(cfd, Buffer.alloc(4096, 0x5a), 0, 4096, Math.floor(size * 0.7));
  closeSync(cfd);
  withSum(corrupt);
  const co = await restore(url, s, corrupt, { log: quiet }).then(
    () => undefined,
    (e: Error) => e,
  );
  t.ok(co, 'corrupted data block: refused or rolled back');
  t.same(await allTables(url), state, 'corrupted: database unchanged');
});

t.test('restore CLI: DUMP required, no terminal without YES=1 refused, YES=1 restores', async (t) => {
  const url = await seededDatabase(t, 50);
  const dir = backupDir();
  const env = { DATABASE_URL: urlOf(url), BACKUP_DIR: dir };
  const none = runBin('restore.ts', [''], env);
  t.equal(none.code, 2);
  t.equal(
    none.stderr,
    'restore: DUMP is required.\n  next: List dumps with `make backups`, then `make restore DUMP=backups/….dump`.\n',
  );
  const d = runBin('dump.ts', [], env);
  t.equal(d.code, 0, d.stderr);
  const path = d.stdout.trim().split('\n').pop()!;
  t.ok(existsSync(path), 'the last line is the path');
  t.match(d.stdout, /^dump: [\d.]+ MB, 2 tables, 51 rows, sha256 [0-9a-f]{12}…/m);
  await query(url, `DELETE FROM "User"`);
  const live = runBin('restore.ts', [path], { ...env, YES: '1' });
  t.equal(live.code, 2, 'maintenance OFF: refused even with YES=1');
  t.match(live.stdout, /the dump was taken 0 min ago .*; restoring it discards what changed since:\n/);
  t.match(
    live.stdout,
    /^ {2}public\."User": 0 rows now, 50 in the dump; 50 writes since$/m,
    'rows now against the dump, and the writes since from the statistics counters',
  );
  t.equal(
    live.stderr,
    'restore: maintenance is OFF: the site is live, and every write made since the dump would be ' +
      'lost; nothing done.\n  next: Run `make maintenance-on` first, then the restore; or add LIVE=1 to restore with ' +
      'the site live.\n',
  );
  t.same(await query(url, `SELECT count(*)::int AS n FROM "User"`), [{ n: 0 }], 'nothing restored');
  const noTty = runBin('restore.ts', [path], { ...env, LIVE: '1' }, { input: 'yes\n' });
  t.equal(noTty.code, 2);
  t.match(noTty.stderr, /restore: not confirmed: no terminal to ask on.\n  next: .*YES=1/);
  t.same(await query(url, `SELECT count(*)::int AS n FROM "User"`), [{ n: 0 }], 'nothing restored');
  const yes = runBin('restore.ts', [path], { ...env, YES: '1', LIVE: '1' });
  t.equal(yes.code, 0, yes.stderr);
  t.match(yes.stdout, /ok {3}public."User": 50 rows \(dump: 50\)/);
  t.match(yes.stdout, /restore: restored .* 2 tables match the manifest/);
  t.same(await query(url, `SELECT count(*)::int AS n FROM "User"`), [{ n: 50 }]);
});

t.test('dump refusals: unreachable server, pg_dump missing', async (t) => {
  const env = { BACKUP_DIR: backupDir() };
  const down = runBin('dump.ts', [], { ...env, DATABASE_URL: 'postgres://u:pw-secret@127.0.0.1:1/app' });
  t.equal(down.code, 3);
  t.match(down.stderr, /^dump: cannot reach the PostgreSQL server/);
  t.notMatch(down.stdout + down.stderr, /pw-secret/);
  const url = await seededDatabase(t, 1);
  const empty = mkdtempSync(join(tmpdir(), 'bm-bin-'));
  const missing = runBin('dump.ts', [], { ...env, DATABASE_URL: urlOf(url), PG_BINDIR: empty });
  t.equal(missing.code, 2);
  t.match(
    missing.stderr,
    /^dump: pg_dump is not available on this host .*\n  next: Install it: `apt-get install -y postgresql-client`/,
  );
  writeFileSync(join(empty, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 9.6.24"\n');
  chmodSync(join(empty, 'pg_dump'), 0o755);
  const old = runBin('dump.ts', [], { ...env, DATABASE_URL: urlOf(url), PG_BINDIR: empty });
  t.equal(old.code, 2);
  t.match(old.stderr, /^dump: pg_dump 9\.6 on this host is older than the server \(\d+\); it cannot dump it\./);
  t.notOk(existsSync(env.BACKUP_DIR) && readdirSync(env.BACKUP_DIR).length > 0, 'no file written');
});

t.test('backups: list newest first, KEEP prunes with checksum and manifest', async (t) => {
  const dir = backupDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [i, stamp] of ['20250101_000000', '20250102_000000', '20250103_000000'].entries()) {
    const p = join(dir, `backup_app_${stamp}.dump`);
    writeFileSync(p, 'x'.repeat(100 + i));
    writeFileSync(`${p}.sha256`, 'x');
    writeFileSync(
      `${p}.manifest.json`,
      JSON.stringify({ database: 'app', createdAt: `2025-01-0${i + 1}T00:00:00.000Z` }),
    );
  }
  writeFileSync(join(dir, 'notes.txt'), 'not a dump');
  t.same(
    listBackups(dir).map((b) => basename(b.path)),
    ['backup_app_20250103_000000.dump', 'backup_app_20250102_000000.dump', 'backup_app_20250101_000000.dump'],
  );
  const r = runBin('backups.ts', [], { BACKUP_DIR: dir, KEEP: '2' });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /deleted .*backup_app_20250101_000000.dump\n/);
  t.match(r.stdout, /backups: 2 dump\(s\) in /);
  t.same(readdirSync(dir).sort(), [
    'backup_app_20250102_000000.dump',
    'backup_app_20250102_000000.dump.manifest.json',
    'backup_app_20250102_000000.dump.sha256',
    'backup_app_20250103_000000.dump',
    'backup_app_20250103_000000.dump.manifest.json',
    'backup_app_20250103_000000.dump.sha256',
    'notes.txt',
  ]);
  t.equal(runBin('backups.ts', [], { BACKUP_DIR: dir, KEEP: '0' }).code, 2);
  t.same(pruneBackups(dir, 5), []);
  chmodSync(dir, 0o700);
});

t.test(
  'dump refuses when BACKUP_DIR has less free disk than the database, writing nothing',
  { skip: process.getuid?.() !== 0 && 'needs root to mount a tiny tmpfs' },
  async (t) => {
    const url = await seededDatabase(t, 200);
    const tiny = mkdtempSync(join(tmpdir(), 'bm-tiny-'));
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', tiny], { encoding: 'utf8' });
    t.equal(mount.status, 0, `mounted a 256 kB tmpfs: ${mount.stderr}`);
    t.teardown(() => void spawnSync('umount', [tiny]));
    const r = runBin('dump.ts', [], { DATABASE_URL: urlOf(url), BACKUP_DIR: join(tiny, 'backups') });
    t.equal(r.code, 2);
    t.match(
      r.stderr,
      new RegExp(
        /^dump: not enough free disk in .*backups: 0\.\d MB free, the database is \d+\.\d MB\.\n/.source +
          / {2}next: Free some space/.source,
      ),
    );
    t.same(readdirSync(tiny), [], 'not even the folder was created');
  },
);

t.test('restore asks on a real terminal (a pseudo-terminal from util-linux script) with maintenance ON', async (t) => {
  const url = await seededDatabase(t, 30);
  const s = tempSettings(url);
  const d = runBin('dump.ts', [], s.env);
  t.equal(d.code, 0, d.stderr);
  const path = d.stdout.trim().split('\n').pop()!;
  await query(url, `DELETE FROM "User" WHERE role = 'USER'`);
  const [{ n: left }] = await query(url, `SELECT count(*)::int AS n FROM "User"`);
  t.ok(left < 30, 'rows deleted after the dump');
  t.equal(runBin('maintenance.ts', ['on'], s.env).code, 0, 'maintenance ON');
  const tsx = `${repo}/node_modules/.bin/tsx`;
  const cmd = [tsx, `${repo}/bin/restore.ts`, path].map((a) => `'${a}'`).join(' ');
  for (const [answer, code, rows] of [
    ['no', 2, left],
    ['yes', 0, 30],
  ] as const) {
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], {
      cwd: repo,
      input: `${answer}\n`,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...s.env },
    });
    t.match(r.stdout, /Replace the data of database \S+ with this dump\? Type yes: /, 'the question, on the terminal');
    t.equal(r.status, code, `answer "${answer}": exit ${code}`);
    t.same(
      await query(url, `SELECT count(*)::int AS n FROM "User"`),
      [{ n: rows }],
      answer === 'yes' ? 'restored' : 'nothing restored',
    );
  }
  t.equal(runBin('maintenance.ts', ['off'], s.env).code, 0, 'maintenance OFF');
});

/** One report of an app's instance, as the drop-in sends it (nextjs/maintenance.ts), through its pool. */
function reportThrough(app: pg.Pool, instance: string) {
  const statements = reportStatements({
    instance,
    enums: { Role: ['USER', 'ADMIN'] },
    started: new Date().toISOString(),
  });
  return app.query(`BEGIN;\n${statements.join(';\n')};\nCOMMIT;`);
}

t.test('restore while the app reports into app_instances: exit 0, every other table as dumped', async (t) => {
  const db = await seededDatabase(t, 60000);
  const s = tempSettings(db);
  await query(db, readSql('app_instances.sql'));
  const early = new pg.Pool({ ...oracleConfig(db), max: 1 });
  for (const i of [1, 2, 3]) await reportThrough(early, `app-${i}`);
  await early.end();
  const d = runBin('dump.ts', [], s.env);
  t.equal(d.code, 0, d.stderr);
  const path = d.stdout.trim().split('\n').pop()!;
  const manifest = JSON.parse(readFileSync(`${path}.manifest.json`, 'utf8'));
  t.equal(manifest.tables['breaking_migrations.app_instances'], 3, 'the dump has the 3 instances of its time');
  const dumped = await allTables(db);
  await query(db, `UPDATE "User" SET email = 'changed-' || id WHERE id IN (SELECT id FROM "User" LIMIT 5000)`);
  t.equal(runBin('maintenance.ts', ['on'], s.env).code, 0, 'maintenance ON');
  t.teardown(() => void runBin('maintenance.ts', ['off'], s.env));

  // The app's instances go on reporting, maintenance or not: those of the dump's time and new ones,
  // one report after another on a second connection, before, during and after the restore.
  const app = new pg.Pool({ ...oracleConfig(db), application_name: 'bm-test-app', max: 1 });
  app.on('error', () => {});
  t.teardown(() => app.end());
  const reports: { start: number; end: number; error?: string }[] = [];
  let stop = false;
  const loop = (async () => {
    for (let n = 0; !stop; n++) {
      const start = Date.now();
      const error = await reportThrough(app, n % 2 ? `app-${1 + (n % 3)}` : `app-new-${n}`).then(
        () => undefined,
        (e: Error) => e.message,
      );
      reports.push({ start, end: Date.now(), error });
      await sleep(5);
    }
  })();
  await sleep(300);
  const started = Date.now();
  // Asynchronous, so that the reports go on; one process (node --import tsx), killed if still running at the end.
  const restoring = spawnTracked(t, process.execPath, ['--import', 'tsx', join(repo, 'bin/restore.ts'), path], {
    ...s.env,
    YES: '1',
  });
  const r = await restoring.done;
  await sleep(300); // a few reports more, after the restore
  stop = true;
  await loop;

  t.equal(r.code, 0, `restore exits 0 (${r.stderr.trim()})`);
  t.equal(r.stderr, '', 'nothing on stderr');
  const during = reports.filter((p) => p.start >= started && p.start <= r.at);
  t.ok(during.length > 0, `${during.length} reports made while the restore ran`);
  t.comment(`the longest report waited ${Math.max(...during.map((p) => p.end - p.start))} ms`);
  t.same(
    reports.filter((p) => p.error).map((p) => p.error),
    [],
    'every report went through (held back, at most, while the restore held its locks)',
  );
  const { 'breaking_migrations.app_instances': live, ...restored } = await allTables(db);
  const { 'breaking_migrations.app_instances': atDump, ...expected } = dumped;
  t.same(restored, expected, 'every other table is exactly as dumped (checksums)');
  t.not(live, atDump, 'app_instances is not as dumped: reports landed after the restore');
  const [{ n: rows }] = await query<{ n: number }>(
    db,
    'SELECT count(*)::int AS n FROM breaking_migrations.app_instances',
  );
  t.ok(rows > 3, `app_instances has ${rows} rows now, more than the dump's 3`);
  t.match(
    r.stdout,
    new RegExp(
      /^ {2}breaking_migrations\.app_instances: \d+ rows now, 3 in the dump; .*; /.source +
        /not compared afterwards \(the app's live bookkeeping: its instances report into it\)$/.source,
      'm',
    ),
    'what the restore discards says so too',
  );
  t.match(r.stdout, /^ {2}ok {3}public\."User": 60000 rows \(dump: 60000\)$/m);
  t.match(r.stdout, /^ {2}ok {3}breaking_migrations\.schema_migrations: 1 rows \(dump: 1\)$/m);
  t.match(
    r.stdout,
    new RegExp(
      /^ {2}skip breaking_migrations\.app_instances: \d+ rows \(dump: 3; /.source +
        /not compared: the app's live bookkeeping: its instances report into it\)$/.source,
      'm',
    ),
  );
  t.match(
    r.stdout.trim().split('\n').pop(),
    new RegExp(
      /^restore: restored \S+ into \S+; 2 tables match the manifest; /.source +
        /breaking_migrations\.app_instances not compared \(live bookkeeping\) \(\d+\.\d+ s\)$/.source,
    ),
    'the summary names the table left out',
  );
});

t.test('the owner role restores a database whose extensions a superuser created', async (t) => {
  // pg_restore --clean says DROP EXTENSION, which only the extension's owner may (and there is no
  // ALTER EXTENSION … OWNER TO): the restore left those extensions out, and they stay as they are.
  const url = await seededDatabase(t, 30);
  const role = await throwawayRole(t, url, 'bm_rx');
  await query(
    url,
    `CREATE EXTENSION "uuid-ossp"; CREATE EXTENSION pgcrypto;
    CREATE SCHEMA extensions AUTHORIZATION ${role}; CREATE EXTENSION hstore SCHEMA extensions;
    COMMENT ON EXTENSION pgcrypto IS 'hashes
for the app';
    ALTER DATABASE "${url.database}" OWNER TO ${role}; ALTER TABLE "User" OWNER TO ${role};
    ALTER TYPE "Role" OWNER TO ${role}; ALTER SCHEMA breaking_migrations OWNER TO ${role};
    ALTER TABLE breaking_migrations.schema_migrations OWNER TO ${role};
    CREATE TABLE "Token" (id uuid PRIMARY KEY DEFAULT uuid_generate_v4(),
                          hash text DEFAULT encode(digest('x', 'sha1'), 'hex'));
    INSERT INTO "Token" DEFAULT VALUES; INSERT INTO "Token" DEFAULT VALUES; ALTER TABLE "Token" OWNER TO ${role}`,
  );
  const env = { DATABASE_URL: urlOf({ ...url, user: role }), BACKUP_DIR: backupDir() };
  const before = { users: await tableChecksum(url), tokens: await tableChecksum(url, '"Token"') };
  const d = runBin('dump.ts', [], env);
  t.equal(d.code, 0, d.stderr);
  await query(url, `DELETE FROM "User"; DELETE FROM "Token"`);
  const r = runBin('restore.ts', [d.stdout.trim().split('\n').pop()!], { ...env, YES: '1', LIVE: '1' });
  t.equal(r.code, 0, r.stderr);
  t.equal(await tableChecksum(url), before.users, 'every user back');
  t.equal(await tableChecksum(url, '"Token"'), before.tokens, 'every token back, its defaults working');
  t.same(
    await query(
      url,
      `SELECT extname, extowner::regrole::text AS owner FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1`,
    ),
    [
      { extname: 'hstore', owner: 'postgres' },
      { extname: 'pgcrypto', owner: 'postgres' },
      { extname: 'uuid-ossp', owner: 'postgres' },
    ],
    'the extensions as they were',
  );
  await query(url, `INSERT INTO "Token" DEFAULT VALUES`); // uuid_generate_v4() and digest() still there
});

t.test("the restore's extension filter: only those lines, whatever the chunks, never past the data", async (t) => {
  const sql = [
    'DROP TABLE IF EXISTS public."T";',
    'DROP EXTENSION IF EXISTS "uuid-ossp";',
    'DROP EXTENSION IF EXISTS pgcrypto;',
    'DROP EXTENSION IF EXISTS citext;',
    'CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public;',
    "COMMENT ON EXTENSION pgcrypto IS 'two",
    "lines';",
    'CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA public;',
    'DROP SCHEMA IF EXISTS extensions;',
    'CREATE SCHEMA extensions;',
    'CREATE SCHEMA reporting;',
    "CREATE TYPE public.\"Rôle\" AS ENUM ('Employé', 'Responsable ✓');",
    'CREATE TABLE public."T" (a text);',
    'COPY public."T" (a) FROM stdin;',
    'DROP EXTENSION IF EXISTS pgcrypto;',
    '\\.',
    'CREATE INDEX i ON public."T" (a);',
    '',
  ].join('\n');
  const expected = [0, 3, 10, 11, 12, 13, 14, 15, 16, 17].map((i) => sql.split('\n')[i]).join('\n');
  const found = { names: ['"uuid-ossp"', 'pgcrypto'], schemas: ['extensions'] };
  const bytes = Buffer.from(sql);
  for (const size of [1, 2, 7, 64, bytes.length]) {
    // Cut anywhere, inside a UTF-8 character too (size 1 and 2 split é and ✓).
    const f = withoutExtensions(found);
    const out: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += size) out.push(f.push(bytes.subarray(i, i + size)));
    out.push(f.end());
    t.equal(Buffer.concat(out).toString(), expected, `chunks of ${size} bytes`);
  }
  t.equal(
    withoutExtensions({ names: [], schemas: [] }).push(Buffer.from(sql)).toString(),
    sql,
    'nothing to leave out: unchanged',
  );
  // A LATIN1 database's dump is written in LATIN1: every byte kept as it is.
  const latin1 = Buffer.from("DROP EXTENSION IF EXISTS pgcrypto;\nCOMMENT ON TABLE t IS 'caf\xe9';\n", 'latin1');
  const f = withoutExtensions(found);
  const out = Buffer.concat([f.push(latin1.subarray(0, 40)), f.push(latin1.subarray(40)), f.end()]);
  t.same([...out], [...latin1.subarray(latin1.indexOf(0x0a) + 1)], 'LATIN1 bytes, byte for byte');
});

t.test("the restore's stream: its lock bound in the header, its COMMIT held back, whatever the chunks", async (t) => {
  const data = Array.from({ length: 400 }, (_, i) => (i === 390 ? 'COMMIT;' : `${i}\tCOMMIT; row`)).join('\n');
  const sql = [
    '--',
    '-- PostgreSQL database dump',
    'SET statement_timeout = 0;',
    'SET lock_timeout = 0;',
    'BEGIN;',
    'COPY public."T" (a) FROM stdin;',
    data, // a data line that reads COMMIT; too, before the archive's own
    '\\.',
    'COMMIT;',
    '',
    '-- PostgreSQL database dump complete',
    '\\unrestrict abc',
    '',
  ].join('\n');
  const expected = sql.replace('SET lock_timeout = 0;', "SET lock_timeout = '60s';").replace('\\.\nCOMMIT;\n', '\\.\n');
  const bytes = Buffer.from(sql);
  for (const size of [1, 3, 100, 5000, bytes.length]) {
    const header = withLockTimeout('60s');
    const held = withoutFinalCommit();
    const out: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += size) out.push(held.push(header.push(bytes.subarray(i, i + size))));
    out.push(held.push(header.push(Buffer.alloc(0), true)));
    const tail = held.end();
    t.ok(tail, `chunks of ${size} bytes: its COMMIT found`);
    t.equal(Buffer.concat([...out, tail ?? Buffer.alloc(0)]).toString(), expected, `chunks of ${size} bytes`);
  }
  // No lock line (another pg_restore): passed through whole, at the end or past 64 KiB.
  const plain = Buffer.from(`${'-- x\n'.repeat(20000)}SELECT 1;\n`);
  const h = withLockTimeout('60s');
  t.equal(Buffer.concat([h.push(plain.subarray(0, 10)), h.push(plain.subarray(10))]).length, plain.length);
  const small = withLockTimeout('60s');
  t.equal(
    Buffer.concat([small.push(Buffer.from('SELECT 1;\n')), small.push(Buffer.alloc(0), true)]).toString(),
    'SELECT 1;\n',
  );
  const cut = withoutFinalCommit();
  cut.push(Buffer.from(sql.slice(0, sql.lastIndexOf('COMMIT;'))));
  t.equal(cut.end(), null, 'a stream cut before its COMMIT: nothing to commit');
});

t.test('a restore that fails after the large objects is rolled back whole', async (t) => {
  // pg_restore framed each large object's data in a BEGIN / COMMIT of its own: inside the restore's
  // one transaction, that COMMIT committed everything before it, and a later failure left half a restore.
  const url = await seededDatabase(t, 30);
  await query(url, `SELECT lo_from_bytea(0, 'an attachment')`);
  const env = { DATABASE_URL: urlOf(url), BACKUP_DIR: backupDir() };
  const d = runBin('dump.ts', [], env);
  t.equal(d.code, 0, d.stderr);
  // After the dump: rows gone, and an event trigger that fails the restore's post-data CREATE INDEX.
  await query(
    url,
    `DELETE FROM "User" WHERE role = 'ADMIN';
    CREATE FUNCTION no_index() RETURNS event_trigger LANGUAGE plpgsql AS
      $$ BEGIN IF tg_tag = 'CREATE INDEX' THEN RAISE EXCEPTION 'no index today'; END IF; END $$;
    CREATE EVENT TRIGGER no_index ON ddl_command_end EXECUTE FUNCTION no_index()`,
  );
  const before = await tableChecksum(url);
  const r = runBin('restore.ts', [d.stdout.trim().split('\n').pop()!], { ...env, YES: '1', LIVE: '1' });
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /the restore failed and was rolled back; the database is as it was: .*no index today/);
  t.equal(await tableChecksum(url), before, 'as it was, as said: no row of the dump committed');
  t.same(
    (await query(url, `SELECT indexname FROM pg_indexes WHERE tablename = 'User' ORDER BY 1`)).map((x) => x.indexname),
    ['User_email_key', 'User_pkey'],
    'its indexes as they were',
  );
  await query(url, 'DROP EVENT TRIGGER no_index');
  const again = runBin('restore.ts', [d.stdout.trim().split('\n').pop()!], { ...env, YES: '1', LIVE: '1' });
  t.equal(again.code, 0, again.stderr);
  t.same(await query(url, `SELECT count(*)::int AS n FROM pg_largeobject_metadata`), [{ n: 1 }], 'the large object');
});

t.test("a restore whose data is not the manifest's is rolled back before its COMMIT", async (t) => {
  // The check runs inside the restore's transaction (sql/restore_check.sql), in place of pg_restore's
  // own COMMIT: before, the data was committed, then found different ("restored, but row counts differ").
  const url = await seededDatabase(t, 40);
  const env = { DATABASE_URL: urlOf(url), BACKUP_DIR: backupDir() };
  const d = runBin('dump.ts', [], env);
  t.equal(d.code, 0, d.stderr);
  const path = d.stdout.trim().split('\n').pop()!;
  const manifest = JSON.parse(readFileSync(`${path}.manifest.json`, 'utf8'));
  writeFileSync(
    `${path}.manifest.json`,
    JSON.stringify({ ...manifest, tables: { ...manifest.tables, 'public."User"': 41, 'public."Gone"': 3 } }),
  );
  await query(url, `DELETE FROM "User" WHERE role = 'ADMIN'`);
  const before = await tableChecksum(url);
  const r = runBin('restore.ts', [path], { ...env, YES: '1', LIVE: '1' });
  t.equal(r.code, 1, r.stderr);
  t.match(
    r.stderr,
    'the restore failed and was rolled back; the database is as it was: psql:<stdin>:', // the check's line
  );
  t.match(
    r.stderr,
    "restore check: the restored data is not what the dump's manifest counted: " +
      'public."Gone" is missing (the manifest: 3 rows); public."User" has 40 rows (the manifest: 41)',
  );
  t.match(r.stderr, /next: Pick another dump \(`make backups`\): this one does not hold what its manifest counted\./);
  t.equal(await tableChecksum(url), before, 'as it was, as said: nothing of the dump committed');
  writeFileSync(`${path}.manifest.json`, JSON.stringify(manifest));
  const again = runBin('restore.ts', [path], { ...env, YES: '1', LIVE: '1' });
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, /tables match the manifest/);
  t.equal((await roleCounts(url)).total, 40, 'restored: every row of the dump');
});

t.test('the check reads every name as the manifest wrote it: a LATIN1 database, old string syntax', async (t) => {
  // pg_restore's header sets client_encoding = LATIN1 and standard_conforming_strings = off as the
  // database has them; the check's counts (quoted names, an accent) must reach the server unchanged.
  const admin = await serverTarget();
  const name = `bm_test_${process.pid}_latin1`;
  await query(admin, `CREATE DATABASE ${name} ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0`);
  t.teardown(() => query(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  const url = withDatabase(admin, name);
  await query(
    url,
    `ALTER DATABASE ${name} SET standard_conforming_strings = off;
    CREATE TABLE "Café" (id int PRIMARY KEY, note text); INSERT INTO "Café" VALUES (1, 'crème'), (2, 'brûlée')`,
  );
  const env = { DATABASE_URL: urlOf(url), BACKUP_DIR: backupDir() };
  const d = runBin('dump.ts', [], env);
  t.equal(d.code, 0, d.stderr);
  const path = d.stdout.trim().split('\n').pop()!;
  t.match(JSON.parse(readFileSync(`${path}.manifest.json`, 'utf8')).tables, { 'public."Café"': 2 });
  await query(url, `DELETE FROM "Café" WHERE id = 2`);
  const manifest = readFileSync(`${path}.manifest.json`, 'utf8');
  const counted = JSON.parse(manifest);
  writeFileSync(
    `${path}.manifest.json`,
    JSON.stringify({ ...counted, tables: { ...counted.tables, 'public."Café"': 3 } }),
  );
  const wrong = runBin('restore.ts', [path], { ...env, YES: '1', LIVE: '1' });
  t.equal(wrong.code, 1, wrong.stderr);
  t.match(wrong.stderr, 'public."Café" has 2 rows (the manifest: 3)', "the check's message, its name readable");
  writeFileSync(`${path}.manifest.json`, manifest);
  const r = runBin('restore.ts', [path], { ...env, YES: '1', LIVE: '1' });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /ok {3}public\."Café": 2 rows \(dump: 2\)/);
  t.same(await query(url, `SELECT note FROM "Café" ORDER BY id`), [{ note: 'crème' }, { note: 'brûlée' }]);
});

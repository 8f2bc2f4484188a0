// README promises that no test checked before (issue 18.6), each as a real outcome.
import t from 'tap';
import pg from 'pg';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { dump } from '../bin/lib/backup/dump.js';
import { restore } from '../bin/lib/backup/restore.js';
import { repo, runBin } from './helpers/cli.js';
import { enumLabels, oracleConfig, query, seededDatabase, tableChecksum, testDatabase } from './helpers/database.js';
import { addSneakyTrigger, tempSettings } from './helpers/runbook.js';

const files = (dir: string) => (existsSync(dir) ? readdirSync(dir) : []);
const dumps = (dir: string) => files(dir).filter((f) => f.endsWith('.dump'));

t.test('a resumed run reuses the dump it took: one dump for the whole run, named in its report', async (t) => {
  const db = await seededDatabase(t, 2000);
  await addSneakyTrigger(db); // the verifier refuses: the run stops after its dump, maintenance ON
  const s = tempSettings(db);
  const first = runBin('migrate.ts', ['0001'], s.env);
  t.equal(first.code, 1, 'the first attempt fails in mutate');
  t.equal(dumps(s.backupDir).length, 1, 'one dump taken');
  const taken = dumps(s.backupDir)[0];
  await query(db, 'DROP TRIGGER sneaky ON "User"; DROP FUNCTION sneaky()', []).catch(async () => {
    // the guard holds the database read-only for ordinary sessions: fix it as the README says
    const fix = runBin('psql.ts', ['-c', 'DROP TRIGGER sneaky ON "User"; DROP FUNCTION sneaky()'], s.env);
    t.equal(fix.code, 0, `make psql fixes the cause (${fix.stderr.trim()})`);
  });
  const again = runBin('migrate.ts', ['0001'], s.env);
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, /resuming run/);
  t.match(again.stdout, new RegExp(`dump: skipped \\(taken at the start of this run: \\S+${taken}\\)`));
  t.same(dumps(s.backupDir), [taken], 'no second dump');
  t.match(again.stdout, new RegExp(`dump \\S+${taken}`), 'the summary names the first dump');
  t.same(await enumLabels(db), ['EMPLOYEE', 'MANAGER', 'ADMIN']);
});

t.test('a pg_dump interrupted half way leaves no dump and no .partial', async (t) => {
  const db = await seededDatabase(t, 200000);
  const s = tempSettings(db);
  const child = spawn(`${repo}/node_modules/.bin/tsx`, [`${repo}/bin/dump.ts`], {
    cwd: repo,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...s.env },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((res) => child.once('close', res));
  let ended = 0;
  for (let i = 0; i < 600 && !ended; i++) {
    // pg_dump's own session, copying "User": end it from the server, as a dying connection would.
    const [r] = await query<{ n: number }>(
      db,
      `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'COPY %User%'`,
    );
    ended = r.n;
    if (!ended) await sleep(20);
  }
  t.ok(ended, 'pg_dump\'s session was ended while it copied "User"');
  t.equal(await exited, 1, 'the dump fails');
  t.match(
    stderr,
    /^dump: pg_dump failed: .*(terminat|connection|PQgetCopyData)/m,
    `one line, with the cause (${stderr.trim()})`,
  );
  t.same(files(s.backupDir), [], 'no dump, no .partial, no checksum, no manifest');
});

t.test("the manifest's counts are the dump's contents while a writer inserts during the dump", async (t) => {
  const db = await seededDatabase(t, 100000);
  const s = tempSettings(db);
  const writer = new pg.Client({ ...oracleConfig(db), application_name: 'test-writer' });
  await writer.connect();
  let stop = false;
  let inserted = 0;
  const writing = (async () => {
    while (!stop) {
      await writer.query(`INSERT INTO "User" (id, email, role) SELECT md5(random()::text), md5(random()::text) || '@w',
        'USER' FROM generate_series(1, 50)`);
      inserted += 50;
    }
  })();
  await sleep(100);
  const d = await dump(db, s, () => {});
  stop = true;
  await writing;
  await writer.end();
  t.ok(inserted > 0, `the writer inserted ${inserted} rows around the dump`);
  const scratch = await testDatabase(t);
  await restore(scratch, s, d.path, { checked: d.manifest, log: () => {}, portable: true });
  const [{ n }] = await query(scratch, `SELECT count(*)::int AS n FROM "User"`);
  t.equal(d.manifest.tables['public."User"'], n, 'manifest count = rows in the dump');
  const [{ now }] = await query(db, `SELECT count(*)::int AS now FROM "User"`);
  t.not(now, n, 'the live table moved on meanwhile (the test would prove nothing otherwise)');
});

t.test('a second concurrent run is refused after waiting 30 s, changing nothing', async (t) => {
  const db = await seededDatabase(t, 100);
  const s = tempSettings(db);
  const holder = new pg.Client(oracleConfig(db));
  await holder.connect();
  await holder.query(`SELECT pg_advisory_lock(hashtext('breaking-migrations:0001'))`);
  const data = await tableChecksum(db);
  const r = runBin('migrate.ts', ['0001'], s.env);
  await holder.end();
  t.equal(r.code, 2, 'refused');
  t.match(r.stdout, /another session holds migrate-0001's lock; waiting up to 30 s/);
  t.match(r.stderr, /^migrate-0001: another run of migrate-0001 is in progress on this database\.\n {2}next: /);
  t.same(await enumLabels(db), ['USER', 'ADMIN'], 'labels unchanged');
  t.equal(await tableChecksum(db), data, 'data unchanged');
  t.same(files(s.backupDir), [], 'no dump');
  t.notOk(existsSync(`${s.maintenanceDir}/enabled.lock`), 'maintenance never ON');
});

t.test(
  'a refusal at the start of a resumed run keeps it open; the next run resumes it with its first dump',
  async (t) => {
    const db = await seededDatabase(t, 1500);
    await addSneakyTrigger(db);
    const s = tempSettings(db);
    t.equal(runBin('migrate.ts', ['0001'], s.env).code, 1, 'the first attempt fails in mutate, after its dump');
    const [first] = dumps(s.backupDir);
    const fix = runBin('psql.ts', ['-c', 'DROP TRIGGER sneaky ON "User"; DROP FUNCTION sneaky()'], s.env);
    t.equal(fix.code, 0, fix.stderr);
    // A node without PostgreSQL's programs: preflight refuses (pg_dump missing) before anything changes.
    const empty = mkdtempSync(join(tmpdir(), 'bm-no-pg-'));
    const refused = runBin('migrate.ts', ['0001'], { ...s.env, PG_BINDIR: empty });
    t.equal(refused.code, 2, 'refused in preflight');
    t.match(refused.stderr, new RegExp(`run \\S+ stays open; its way back stays \\S+${first}\\)`), refused.stderr);
    t.match(refused.stderr, /Then `make migrate-0001` resumes it\./);
    const again = runBin('migrate.ts', ['0001'], s.env);
    t.equal(again.code, 0, again.stderr);
    t.match(again.stdout, /resuming run/, 'the open run is resumed, not started afresh');
    t.same(dumps(s.backupDir), [first], 'the first dump is still the only one, and the way back');
    // The first attempt took update (the trigger saw its UPDATE); nothing of it committed, so the
    // resumed run chooses again, without the trigger: rewrite.
    t.match(
      again.stdout,
      /migrate-0001: done \(resumed\); 1\d{3} values relabelled in the table rewrite; strategy rewrite;/,
      'the rows the run changed',
    );
  },
);

t.test("dump progress: bytes and time on a first dump, a percentage of the previous dump's size after", async (t) => {
  const db = await seededDatabase(t, 5000);
  const s = tempSettings(db);
  // A pg_dump that takes 6 s longer than it needs, so that the 5 s progress line shows.
  const real = '/usr/lib/postgresql/15/bin';
  const bindir = mkdtempSync(join(tmpdir(), 'bm-slow-pg-'));
  writeFileSync(
    join(bindir, 'pg_dump'),
    `#!/bin/sh\ncase "$1" in --version) exec ${real}/pg_dump "$@";; esac\n` +
      `${real}/pg_dump "$@"; rc=$?; sleep 6; exit $rc\n`,
    { mode: 0o755 },
  );
  for (const tool of ['pg_restore', 'psql']) symlinkSync(join(real, tool), join(bindir, tool));
  const env = { ...s.env, PG_BINDIR: bindir };
  const first = runBin('dump.ts', [], env);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /^ {2}… dump: [\d.]+ MB, \d+ s$/m, 'first dump: bytes and seconds, no percentage');
  const second = runBin('dump.ts', [], env);
  t.equal(second.code, 0, second.stderr);
  t.match(second.stdout, /^ {2}… dump: \d+% \([\d.]+ MB of [\d.]+ MB\), /m, 'then: a share of the previous dump');
});

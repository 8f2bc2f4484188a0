// The app's instances report the labels their client knows (issue 21.1–21.3): the runbook refuses
// a migration a running replica cannot read, says so when none reports, keeps maintenance ON
// while one that cannot read the final labels is up after the contract; make app-status shows them.
import t, { type Test } from 'tap';
import pg from 'pg';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { databaseProbe } from '../nextjs/maintenance.js';
import { repo, runBin } from './helpers/cli.js';
import { spawnTracked } from '../e2e/prisma/apps.js';
import {
  enumLabels,
  oracleConfig,
  query,
  seededDatabase,
  tableChecksum,
  throwawayRole,
  urlOf,
} from './helpers/database.js';
import { holdRunner, tempSettings } from './helpers/runbook.js';
import type { Target } from '../bin/lib/connection/target.js';
import { connect } from '../bin/lib/connection/db.js';
import { loadEnumSpec } from '../bin/lib/enum/enum-spec.js';
import { appPreflight, appsReadFinalLabels, instancesThatCannotRead } from '../bin/lib/runbook/instances.js';

const V1 = ['USER', 'ADMIN'];
const V2 = ['USER', 'EMPLOYEE', 'MANAGER', 'ADMIN'];

/** An app process's report, as the drop-in makes it, through its own pg pool. */
function app(t: Test, db: Target, labels: string[], build: string, intervalMs = 200) {
  const pool = new pg.Pool({ ...oracleConfig(db), max: 2 });
  pool.on('error', () => {}); // the guard ends the pool's sessions: they reconnect
  t.teardown(() => pool.end());
  const logged: string[] = [];
  const probe = databaseProbe(async (sql) => (await pool.query(sql)).rows as Record<string, unknown>[], {
    enums: { Role: labels },
    build,
    instance: `test-app-${build}`,
    intervalMs,
    log: (l) => logged.push(l),
  });
  return { pool, probe, logged };
}

/**
 * `bin/<script>` in its own process, without blocking this one (whose app keeps reporting meanwhile);
 * killed at the test's end if still running. One process, `node --import tsx`: the tsx command would
 * run the script in a child of its own, which a SIGKILL of tsx leaves running.
 */
const runAsync = (t: Test, script: string, args: string[], env: Record<string, string>) =>
  spawnTracked(t, process.execPath, ['--import', 'tsx', join(repo, 'bin', script), ...args], env);

const rows = async (db: Target) =>
  query<{ build: string; enums: { Role: string[] } }>(
    db,
    'SELECT build, enums FROM breaking_migrations.app_instances ORDER BY build',
  );

t.test('an instance reports its labels, quietly before the toolkit, and also during maintenance', async (t) => {
  const db = await seededDatabase(t, 50);
  const a = app(t, db, V1, 'v1');
  await sleep(600);
  t.same(a.logged, [], 'nothing logged while the toolkit is not there');
  const st = await runAsync(t, 'app-status.ts', ['--exit-code'], { DATABASE_URL: urlOf(db) }).done;
  t.equal(st.code, 1, 'app-status created the table; after one interval the v1 instance is there and cannot read');
  t.match(st.stdout, /^ {2}CANNOT test-app-v1 build v1: knows USER, ADMIN; not EMPLOYEE, MANAGER \(seen \d+ s ago\)$/m);
  t.same(
    (await rows(db)).map((r) => [r.build, r.enums.Role]),
    [['v1', V1]],
  );

  const s = tempSettings(db);
  t.equal(runBin('maintenance.ts', ['on'], { ...s.env, APP_LOCK_CACHE_MS: '0' }).code, 0);
  const [{ seen: before }] = await query<{ seen: Date }>(db, 'SELECT seen FROM breaking_migrations.app_instances');
  await sleep(700);
  const [{ seen: after }] = await query<{ seen: Date }>(db, 'SELECT seen FROM breaking_migrations.app_instances');
  t.ok(after > before, 'the report goes on while the database is read-only for the app');
  const write = await a.pool.query(`INSERT INTO "User" (email, role) VALUES ('x@example.com', 'USER')`).catch((e) => e);
  t.equal(write.code, '25006', "the app's own writes are still refused");
  t.equal(runBin('maintenance.ts', ['off'], s.env).code, 0);
});

t.test('preflight: an instance that cannot read the new labels stops the run before anything changes', async (t) => {
  const db = await seededDatabase(t, 300);
  runBin('app-status.ts', [], { DATABASE_URL: urlOf(db) }); // the table, as an earlier look would leave it
  app(t, db, V1, 'v1');
  await sleep(600);
  const s = tempSettings(db);
  const data = await tableChecksum(db);
  const r = await runAsync(t, 'migrate.ts', ['0001'], s.env).done;
  t.equal(r.code, 2, r.stderr);
  t.match(
    r.stderr,
    new RegExp(
      /^migrate-0001: preflight: 1 of 1 app instance\(s\) seen in the last 60 s cannot read the labels /.source +
        /the mutation writes: test-app-v1 \(build v1\) knows USER, ADMIN, not EMPLOYEE\./.source,
      'm',
    ),
  );
  t.match(
    r.stderr,
    /next: Nothing was changed\. Deploy an app whose client knows USER, ADMIN, EMPLOYEE first \(old and new labels/,
  );
  t.equal(await tableChecksum(db), data, 'data unchanged');
  t.same(await enumLabels(db), V1);
  t.notOk(existsSync(join(s.maintenanceDir, 'enabled.lock')), 'maintenance never ON');
});

t.test('no instance reports: one line and on; APP_CHECK=require refuses', async (t) => {
  const db = await seededDatabase(t, 200);
  const s = tempSettings(db);
  const strict = runBin('migrate.ts', ['0001'], { ...s.env, APP_CHECK: 'require' });
  t.equal(strict.code, 2);
  t.match(strict.stderr, /APP_CHECK=require and no app instance reported its labels in the last 60 s/);
  t.same(await enumLabels(db), V1);
  const r = runBin('migrate.ts', ['0001'], s.env);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /preflight: no app instance reported its labels in the last 60 s .*; going on/);
});

t.test('an instance that cannot read the final labels, up after the contract: maintenance stays ON', async (t) => {
  const db = await seededDatabase(t, 300);
  runBin('app-status.ts', [], { DATABASE_URL: urlOf(db) });
  app(t, db, V2, 'v2');
  await sleep(600);
  const s = tempSettings(db);
  const run = runAsync(t, 'migrate.ts', ['0001'], s.env);
  let ended = false;
  void run.done.then(() => (ended = true));
  // An old image, started again after the contract (a rollback of the deploy), reporting before
  // maintenance-off looks: the runner is held at its next journal write meanwhile.
  // (STRATEGY unset takes rewrite here: its contract is done in the mutate step, then skipped.)
  while (!/✓ contract|• contract: skipped/.test(run.stdout()) && !ended) await sleep(20);
  const release = await holdRunner(t, db);
  app(t, db, V1, 'v1-again');
  while (!(await rows(db)).some((r) => r.build === 'v1-again')) await sleep(50);
  await release();
  const { code, stdout: out, stderr: err } = await run.done;
  t.equal(code, 1, out + err);
  t.match(
    err,
    new RegExp(
      /step maintenance-off failed: 1 app instance\(s\) up since the contract cannot read "?Role"?'s labels /.source +
        /EMPLOYEE, MANAGER, ADMIN: test-app-v1-again \(build v1-again\) knows USER, ADMIN, not EMPLOYEE, MANAGER/
          .source,
    ),
  );
  t.match(err, /maintenance stays ON/);
  t.ok(existsSync(join(s.maintenanceDir, 'enabled.lock')), 'the lock is still there');
  t.same(await enumLabels(db), ['EMPLOYEE', 'MANAGER', 'ADMIN'], 'the data is migrated; only the site waits');
});

t.test('the probe reports on its reads only while maintenance is ON, at most every 250 ms', async (t) => {
  const db = await seededDatabase(t, 10);
  runBin('app-status.ts', [], { DATABASE_URL: urlOf(db) });
  const a = app(t, db, V2, 'v2-reads', 60_000); // its timer: once at start, then not for a minute
  const seen = async () =>
    (
      await query<{ n: string }>(
        db,
        `SELECT (extract(epoch FROM seen) * 1e6)::int8::text AS n
         FROM breaking_migrations.app_instances WHERE build = 'v2-reads'`,
      )
    )[0]?.n;
  while (!(await seen())) await sleep(50);
  const first = await seen();
  for (let i = 0; i < 12; i++) {
    await a.probe();
    await sleep(50);
  }
  await sleep(200); // a report the reads started would have landed
  t.equal(await seen(), first, 'maintenance OFF: reads do not report');
  const s = tempSettings(db);
  t.equal(runBin('maintenance.ts', ['on'], { ...s.env, APP_LOCK_CACHE_MS: '0' }).code, 0);
  const reported: string[] = [];
  for (let i = 0; i < 12; i++) {
    await a.probe().catch(() => null); // the guard ended the pool's sessions once: they reconnect
    await sleep(50);
    const n = await seen();
    if (n && n !== first && n !== reported.at(-1)) reported.push(n);
  }
  t.ok(reported.length >= 2, `maintenance ON: reads report (${reported.length} reports in 12 reads over ~0.7 s)`);
  const gaps = reported.slice(1).map((n, i) => (Number(n) - Number(reported[i])) / 1000);
  t.ok(
    gaps.every((ms) => ms >= 200),
    `no two reports closer than 250 ms (less 50 ms: the server stamps them): ${gaps.join(', ')} ms`,
  );
  t.equal(runBin('maintenance.ts', ['off'], s.env).code, 0);
});

t.test('without APP_SERVICE or APP_CONTAINER, maintenance-off gives the instances one report interval', async (t) => {
  // Which instances run, only docker knows (the Swarm test checks the wait for each running
  // container); here, with no container named, the runner waits the interval out and says so.
  const db = await seededDatabase(t, 300);
  runBin('app-status.ts', [], { DATABASE_URL: urlOf(db) });
  app(t, db, V2, 'v2');
  await sleep(600);
  const r = await runAsync(t, 'migrate.ts', ['0001'], tempSettings(db).env).done;
  t.equal(r.code, 0, r.stderr);
  t.match(
    r.stdout,
    new RegExp(
      /\n {2}the app's instances had one report interval to speak since the contract \(waited \d\.\d s; /.source +
        /with APP_SERVICE or APP_CONTAINER the toolkit waits only until each running one has\)\n/.source,
    ),
  );
  t.same(await enumLabels(db), ['EMPLOYEE', 'MANAGER', 'ADMIN']);
});

t.test('APP_IMAGE: preflight lets old instances through; after the deploy only the others count', async (t) => {
  const db = await seededDatabase(t, 50);
  runBin('app-status.ts', [], { DATABASE_URL: urlOf(db) });
  app(t, db, V1, 'v1');
  await sleep(600);
  const spec = loadEnumSpec('0001', 'test');
  const sql = connect(db);
  t.teardown(() => sql.end({ timeout: 5 }));
  const lines: string[] = [];
  const refused = await appPreflight(sql, '0001', spec, tempSettings(db), (l) => lines.push(l)).catch((e) => e);
  t.match(String(refused?.message), /cannot read the labels the mutation writes: test-app-v1/, 'refused without it');
  t.match(
    String(refused?.next),
    /or, in a Swarm, run again with APP_SERVICE=<the service> APP_IMAGE=<the final image>/,
  );
  const withImage = tempSettings(db, { APP_SERVICE: 'pulse_nextjs', APP_IMAGE: 'pulse:v3' });
  await appPreflight(sql, '0001', spec, withImage, (l) => lines.push(l));
  t.match(
    lines.at(-1),
    new RegExp(
      /^ {2}preflight: 1 of 1 app instance\(s\) cannot read the labels the mutation writes /.source +
        /\(test-app-v1 \(build v1\) knows USER, ADMIN, not EMPLOYEE\); /.source +
        /APP_IMAGE=pulse:v3 replaces pulse_nextjs's tasks inside the window$/.source,
    ),
  );
  const contracted = new Date(Date.now() - 10_000); // the v1 instance has reported since
  const still = await appsReadFinalLabels(sql, spec, withImage, contracted, []).catch((e) => e);
  t.match(String(still?.message), /up since the contract cannot read .*test-app-v1/, 'not replaced: it counts');
  t.equal(await appsReadFinalLabels(sql, spec, withImage, contracted, ['test-app-v1']), undefined, 'replaced: not');
});

t.test("the instances' table new, the app connected as a role of its own: the run waits for its report", async (t) => {
  // A role that is not a superuser sees another role's session without its backend_type: counted all the same.
  const db = await seededDatabase(t, 5);
  const [owner, web] = [await throwawayRole(t, db, 'bm_io'), await throwawayRole(t, db, 'bm_iw')];
  await query(
    db,
    `ALTER DATABASE "${db.database}" OWNER TO ${owner}; ALTER SCHEMA breaking_migrations OWNER TO ${owner}`,
  );
  const session = new pg.Client(oracleConfig({ ...db, user: web }));
  await session.connect();
  t.teardown(() => session.end());
  const sql = connect({ ...db, user: owner });
  t.teardown(() => sql.end());
  const logged: string[] = [];
  await instancesThatCannotRead(sql, 'Role', V2, 60, (l) => logged.push(l));
  t.match(logged, [/waiting 5 s for the app's instances to report \(their table is new\)/]);
});

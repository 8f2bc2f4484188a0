// The database write guard: ordinary sessions are refused and ended; the toolkit still writes.
import t from 'tap';
import pg from 'pg';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settings } from '../bin/lib/connection/config.js';
import type { Target } from '../bin/lib/connection/target.js';
import { withSql } from '../bin/lib/connection/db.js';
import { maintenanceOff, maintenanceOn, maintenanceStatus } from '../bin/lib/maintenance/mode.js';
import { runBin } from './helpers/cli.js';
import { query, seededDatabase, testDatabase, throwawayRole, urlOf, oracleConfig } from './helpers/database.js';

/** An ordinary application session: no opt-in, plain node-postgres. */
async function appSession(url: Target) {
  const c = new pg.Client({ ...oracleConfig(url), application_name: 'app' });
  const session = Object.assign(c, { ended: undefined as string | undefined });
  // An idle client learns of its termination as an 'error' event ("Connection terminated…").
  c.on('error', (e: Error & { code?: string }) => (session.ended = e.code ?? e.message));
  await c.connect();
  return session;
}
const settle = () => new Promise((r) => setTimeout(r, 200));

const errorCode = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { code?: string }) => e.code ?? 'error',
  );

t.test('guard on: writes refused, open sessions ended, toolkit writes; guard off: writes again', async (t) => {
  const url = await seededDatabase(t, 10);
  const other = await testDatabase(t); // another database on the same server: never touched
  const s = settings({ DATABASE_URL: urlOf(url), MAINTENANCE_DIR: join(mkdtempSync(join(tmpdir(), 'bm-g-')), 'm') });
  const open = await appSession(url);
  const bystander = await appSession(other);

  const on = await maintenanceOn(s, url, { reason: 'test', retryAfter: 5 });
  t.equal(on.guard?.ended, 1, 'the open app session was ended');
  await settle();
  t.match(open.ended, /terminat/, 'the open session was terminated by the server');
  t.equal(bystander.ended, undefined);
  t.same((await bystander.query('SELECT 1 AS x')).rows, [{ x: 1 }], 'a session of another database lives on');

  const late = await appSession(url);
  t.equal(
    await errorCode(late.query(`INSERT INTO "User" VALUES ('x', 'x@example.com', 'USER')`)),
    '25006',
    'INSERT: read-only transaction',
  );
  t.equal(
    await errorCode(late.query(`UPDATE "User" SET email = email || '.x'`)),
    '25006',
    'UPDATE: read-only transaction',
  );
  t.same((await late.query('SELECT count(*)::int AS n FROM "User"')).rows, [{ n: 10 }], 'reads still work');

  await withSql(url, (sql) => sql`INSERT INTO "User" VALUES ('toolkit', 'toolkit@example.com', 'ADMIN')`);
  t.same(
    await query(url, `SELECT count(*)::int AS n FROM "User" WHERE id = 'toolkit'`),
    [{ n: 1 }],
    'the toolkit session wrote',
  );
  t.match(await maintenanceStatus(s, url), { on: true, guard: { readOnly: true } });

  const off = await maintenanceOff(s, url);
  t.equal(off.guard?.ended, 1, 'the session opened read-only during maintenance was ended');
  await settle();
  t.match(late.ended, /terminat/);
  const after = await appSession(url);
  t.equal(
    await errorCode(after.query(`INSERT INTO "User" VALUES ('y', 'y@example.com', 'USER')`)),
    'ok',
    'writes work again',
  );
  t.match(await maintenanceStatus(s, url), { on: false, partial: false, guard: { readOnly: false } });
  await Promise.all([after.end(), bystander.end()]);
});

t.test('DB_GUARD=0 leaves the database alone; a lock without guard shows as PARTIAL', async (t) => {
  const url = await seededDatabase(t, 1);
  const dir = join(mkdtempSync(join(tmpdir(), 'bm-g-')), 'm');
  const r = runBin('maintenance.ts', ['on'], { DATABASE_URL: urlOf(url), MAINTENANCE_DIR: dir, DB_GUARD: '0' });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /no database guard/);
  const c = await appSession(url);
  t.equal(await errorCode(c.query(`INSERT INTO "User" VALUES ('z', 'z@example.com', 'USER')`)), 'ok');
  await c.end();
  const st = runBin('maintenance.ts', ['status', '--exit-code'], { DATABASE_URL: urlOf(url), MAINTENANCE_DIR: dir });
  t.equal(st.code, 4, 'PARTIAL exit code');
  t.match(st.stdout, /guard OFF .*\n {2}flag  OFF .*\nmaintenance: PARTIAL/);
});

t.test('a guard that cannot be set is reported, with the lock still on', async (t) => {
  const url = await seededDatabase(t, 1);
  await query(url, `CREATE ROLE bm_weak LOGIN`);
  t.teardown(() => query(url, `DROP ROLE IF EXISTS bm_weak`));
  const weak = { ...url, user: 'bm_weak' };
  const dir = join(mkdtempSync(join(tmpdir(), 'bm-g-')), 'm');
  const r = runBin('maintenance.ts', ['on'], { DATABASE_URL: urlOf(weak), MAINTENANCE_DIR: dir });
  t.equal(r.code, 1);
  t.match(
    r.stderr,
    new RegExp(
      /^maintenance-on: maintenance: the lock file is ON, but the database side \(flag, guard\) failed: /.source +
        /permission denied for database/.source,
    ),
  );
  t.match(r.stderr, /next: .*DB_GUARD=0/);
});

t.test("the app's own role, which the database's owner may not end: refused before the lock, then ended", async (t) => {
  // Production as it is often set up: the migrations' role owns the database, the app connects as
  // another role. PostgreSQL shows another role's sessions without their backend_type to a role that
  // is not a superuser, and ends them only for a member of that role or of pg_signal_backend.
  const url = await seededDatabase(t, 10);
  const [owner, app] = [await throwawayRole(t, url, 'bm_own'), await throwawayRole(t, url, 'bm_app')];
  await query(
    url,
    `ALTER DATABASE "${url.database}" OWNER TO ${owner}; ALTER SCHEMA breaking_migrations OWNER TO ${owner};
    GRANT SELECT, INSERT ON "User" TO ${app}`,
  );
  const dir = join(mkdtempSync(join(tmpdir(), 'bm-g-')), 'm');
  const env = { DATABASE_URL: urlOf({ ...url, user: owner }), MAINTENANCE_DIR: dir };
  const open = await appSession({ ...url, user: app });
  const dba = await appSession(url); // a superuser's psql, say

  const refused = runBin('maintenance.ts', ['on'], env);
  t.equal(refused.code, 2, refused.stderr);
  t.match(
    refused.stderr,
    `maintenance-on: maintenance: role ${owner} may not end the database's other sessions (1 of role ${app}), ` +
      `which the write guard ends so that they reconnect read-only: GRANT pg_signal_backend TO ${owner} ` +
      '(as a superuser), or set DB_GUARD=0; nothing changed.',
  );
  t.notOk(existsSync(join(dir, 'enabled.lock')), 'no lock written');
  const [g] = await query(
    url,
    `SELECT count(*)::int AS n FROM pg_db_role_setting
     WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  t.equal(g.n, 0, 'no guard set');
  t.same((await open.query('SELECT 1 AS x')).rows, [{ x: 1 }], "the app's session untouched");

  await query(url, `GRANT pg_signal_backend TO ${owner}`);
  const on = runBin('maintenance.ts', ['on'], env);
  t.equal(on.code, 0, on.stderr);
  t.match(on.stdout, /read-only, 1 session\(s\) ended/);
  t.match(on.stdout, `note: a superuser's sessions left open (1 of role postgres): role ${owner} may not end them`);
  await settle();
  t.match(open.ended, /terminat/, "the app's session was ended");
  t.equal(dba.ended, undefined, "the superuser's is left to the DBA");

  // One the owner may no longer end, opened during maintenance, read-only: named by maintenance-off.
  const late = await appSession({ ...url, user: app });
  await query({ ...url, database: 'postgres' }, `REVOKE pg_signal_backend FROM ${owner}`); // the database is read-only
  // maintenance-on again (an update, or a resumed run): the owner cannot see whether that session
  // opened read-only, so it refuses rather than guess; nothing changed, maintenance still ON.
  const again = runBin('maintenance.ts', ['on'], env);
  t.equal(again.code, 2, again.stderr);
  t.match(again.stderr, `may not end the database's other sessions (1 of role ${app})`);
  t.ok(existsSync(join(dir, 'enabled.lock')), 'maintenance still ON');
  const off = runBin('maintenance.ts', ['off'], env);
  t.equal(off.code, 0, off.stderr);
  t.match(
    off.stdout,
    `note: 1 of role ${app}, 1 of role postgres not ended: role ${owner} may not end them; any opened during ` +
      `maintenance stays read-only until it reconnects (GRANT pg_signal_backend TO ${owner}, as a superuser)`,
  );
  t.notOk(existsSync(join(dir, 'enabled.lock')), 'the lock removed: visitors are back');
  t.equal(
    await errorCode(late.query(`INSERT INTO "User" VALUES ('z', 'z@example.com', 'USER')`)),
    '25006',
    'that session is read-only, as said',
  );
  await Promise.all([late.end(), dba.end()]);

  // One that connects after the check, while maintenance-on waits out the app's lock cache: the
  // guard is set and says so, naming the sessions it could not end and the statement that can.
  await query({ ...url, database: 'postgres' }, `ALTER DATABASE "${url.database}" RESET ALL`);
  const s = settings({ ...env, APP_LOCK_CACHE_MS: '2000' });
  const on2 = maintenanceOn(s, { ...url, user: owner }, { reason: 'test', retryAfter: 5 });
  await new Promise((r) => setTimeout(r, 500));
  const racer = await appSession({ ...url, user: app });
  await t.rejects(on2, {
    message:
      `maintenance: lock, flag and guard are ON, but role ${owner} may not end sessions (1 of role ${app}) ` +
      'that connected since the check: they keep their read-write default.',
    next:
      `As a superuser: GRANT pg_signal_backend TO ${owner}; then \`make maintenance-on\` ends them ` +
      '(`make maintenance-off` turns it all off).',
  });
  t.equal(
    await errorCode(racer.query(`INSERT INTO "User" VALUES ('r', 'r@example.com', 'USER')`)),
    'ok',
    'that session does write: as said',
  );
  t.match(await maintenanceStatus(s, url), { on: true, guard: { readOnly: true } }, 'the guard is ON, as said');
  // Run again without the right: refused, nothing changed; that session is still the one that writes.
  await t.rejects(maintenanceOn(s, { ...url, user: owner }, { reason: 'test', retryAfter: 5 }), {
    message: new RegExp(`may not end the database's other sessions \\(1 of role ${app}\\)`),
  });
  t.equal(racer.ended, undefined, 'not ended');
  await racer.end();
  await maintenanceOff(s, url);
});

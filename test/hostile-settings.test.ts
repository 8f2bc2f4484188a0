// Settings a session inherits from its role or its database (issue 18): the toolkit's sessions set
// their own, so a short statement_timeout, idle timeouts, lock_timeout, a read-only default and a
// search_path that finds nothing change nothing in a run. Without that, the mutation is cancelled
// (statement_timeout) and the dump's snapshot session is killed (idle_in_transaction_session_timeout).
import t from 'tap';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { runBin } from './helpers/cli.js';
import {
  enumLabels,
  oracleConfig,
  query,
  roleCounts,
  seededDatabase,
  identityChecksum,
  urlOf,
} from './helpers/database.js';
import { tempSettings } from './helpers/runbook.js';
import type { Target } from '../bin/lib/connection/target.js';

const HOSTILE = {
  statement_timeout: '50ms',
  idle_in_transaction_session_timeout: '50ms',
  idle_session_timeout: '300ms',
  lock_timeout: '1ms',
};

// The oracle (pg, in this process: query() and the checks built on it) sets its own session's
// statement_timeout to 0, and the other timeouts above too, at the start of each session: at database
// level the hostile values apply to every session of the database, the oracle's included, and a
// check must never be what times out. The toolkit runs in processes of its own (postgres.js, psql,
// pg_dump), untouched by this: it still starts under the hostile values.
pg.defaults.options = Object.keys(HOSTILE)
  .map((name) => `-c ${name}=0`)
  .join(' ');

/** A setting as a session that sets nothing of its own at its start gets it (an app's, say). */
async function plainSetting(db: Target, name: string): Promise<string> {
  // Any options of its own (here only its name) keep pg.defaults' out of this one session.
  const client = new pg.Client({ ...oracleConfig(db), options: '-c application_name=bm-test-plain-session' });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<{ s: string }>('SELECT current_setting($1) AS s', [name])).rows[0].s;
  } finally {
    await client.end();
  }
}

for (const level of ['role', 'database'] as const) {
  t.test(`hostile settings at ${level} level: make migrate-0001 still verifies every row`, async (t) => {
    const db = await seededDatabase(t, 30000);
    const role = `bm_hostile_${randomBytes(3).toString('hex')}`;
    await query(db, `CREATE ROLE ${role} SUPERUSER LOGIN`);
    t.teardown(async () => {
      await query({ ...db, database: 'postgres' }, `DROP DATABASE IF EXISTS "${db.database}" WITH (FORCE)`);
      await query({ ...db, database: 'postgres' }, `DROP ROLE IF EXISTS ${role}`);
    });
    const before = await roleCounts(db);
    const identity = await identityChecksum(db);
    const sets = Object.entries(HOSTILE).map(([k, v]) => `SET ${k} = '${v}'`);
    if (level === 'role') {
      // Only the run's role gets them (the test's observer stays unaffected), the worst ones included.
      for (const set of [...sets, `SET search_path = nowhere`, `SET default_transaction_read_only = on`]) {
        await query(db, `ALTER ROLE ${role} ${set}`);
      }
    } else {
      for (const set of sets) await query(db, `ALTER DATABASE "${db.database}" ${set}`);
    }
    const as = { ...db, user: role };
    t.equal(await plainSetting(as, 'statement_timeout'), '50ms', 'a plain session of that role or database gets it');
    const [oracle] = await query(as, `SELECT current_setting('statement_timeout') AS s`);
    t.equal(oracle.s, '0', "the oracle's own session does not: it cannot time out");

    const s = tempSettings(as);
    const r = runBin('migrate.ts', ['0001'], s.env);
    t.equal(r.code, 0, `migrate-0001 exits 0 (${r.stderr.trim().split('\n').slice(-3).join(' | ')})`);
    t.match(r.stdout, /✓ dump/);
    t.match(r.stdout, /✓ mutate/);
    t.same(await enumLabels(db), ['EMPLOYEE', 'MANAGER', 'ADMIN'], 'final labels, in order');
    t.same(
      await roleCounts(db),
      { total: before.total, EMPLOYEE: before.USER, ADMIN: before.ADMIN },
      'every USER is EMPLOYEE, ADMIN kept',
    );
    t.equal(await identityChecksum(db), identity, '(id, email) checksum unchanged');
    const dumpPath = r.stdout.match(/\S+\.dump/)?.[0] ?? 'missing.dump';
    const restored = runBin('restore.ts', [dumpPath], { ...s.env, YES: '1', LIVE: '1' });
    t.equal(restored.code, 0, `the run's dump restores through the same hostile settings (${restored.stderr.trim()})`);
    t.same(await enumLabels(db), ['USER', 'ADMIN'], 'the restore brought back the labels as dumped');
    t.same(await roleCounts(db), before, 'and every row as dumped');
  });
}

t.test('row_security is off in every toolkit session: a policy raises instead of filtering', async (t) => {
  const db = await seededDatabase(t, 100);
  const role = `bm_rls_${randomBytes(3).toString('hex')}`;
  await query(
    db,
    `CREATE ROLE ${role} LOGIN; GRANT ALL ON "User" TO ${role};
    ALTER TABLE "User" ENABLE ROW LEVEL SECURITY;
    CREATE POLICY admins_only ON "User" TO ${role} USING (role = 'ADMIN')`,
  );
  t.teardown(async () => {
    await query({ ...db, database: 'postgres' }, `DROP DATABASE IF EXISTS "${db.database}" WITH (FORCE)`);
    await query({ ...db, database: 'postgres' }, `DROP ROLE IF EXISTS ${role}`);
  });
  const { withSql } = await import('../bin/lib/connection/db.js');
  const as = { ...db, user: role };
  const err = await withSql(as, (sql) => sql`SELECT count(*) FROM "User"`).catch((e: Error) => e);
  t.match(String((err as Error).message), /row-level security/, 'postgres.js session: an error, not a filtered count');
  const psql = runBin('psql.ts', ['-Atc', 'SELECT count(*) FROM "User"'], { DATABASE_URL: urlOf(as) });
  t.match(psql.stderr + psql.stdout, /row-level security/, 'psql (libpq tools): the same error');
});

t.test('jit is off in every toolkit session, even where the database turns it on for every query', async (t) => {
  const db = await seededDatabase(t, 100);
  await query(
    db,
    `ALTER DATABASE "${db.database}" SET jit = on; ALTER DATABASE "${db.database}" SET jit_above_cost = 0`,
  );
  t.teardown(() => query({ ...db, database: 'postgres' }, `DROP DATABASE IF EXISTS "${db.database}" WITH (FORCE)`));
  t.equal(await plainSetting(db, 'jit_above_cost'), '0', "a plain session compiles every query (the app's, say)");
  t.equal(await plainSetting(db, 'jit'), 'on', 'with jit on');
  const { withSql } = await import('../bin/lib/connection/db.js');
  const [r] = await withSql(db, (sql) => sql`SELECT current_setting('jit') AS jit`);
  t.equal(r.jit, 'off', 'postgres.js session (verifier, preflight, final checks): no JIT');
  const psql = runBin('psql.ts', ['-Atc', 'SHOW jit'], { DATABASE_URL: urlOf(db) });
  t.equal(psql.stdout.trim(), 'off', `psql and the other libpq tools: no JIT (${psql.stderr.trim()})`);
});

// Every failure of an external program says why in one line (issue 18.4): the lines that carry
// ERROR:/FATAL:/PANIC:/error:, not only the last one (pg_dump's last is its `detail: Query was: …`).
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { failureCause } from '../bin/lib/connection/stream.js';
import { dbmateError } from '../bin/lib/runbook/dbmate.js';
import { runBin } from './helpers/cli.js';
import { query, seededDatabase } from './helpers/database.js';
import { tempSettings } from './helpers/runbook.js';

t.test('failureCause keeps every error line, in order, once', async (t) => {
  const stderr = [
    'pg_dump: error: query failed: ERROR:  query would be affected by row-level security policy',
    'pg_dump: detail: Query was: COPY public."User" (id, email, role) TO stdout;',
  ].join('\n');
  t.equal(
    failureCause(stderr),
    'pg_dump: error: query failed: ERROR:  query would be affected by row-level security policy',
  );
  t.equal(
    failureCause('FATAL:  terminating\nPANIC:  could not write\nFATAL:  terminating\n'),
    'FATAL:  terminating / PANIC:  could not write',
  );
  t.equal(failureCause('just one line\nthe last one\n'), 'the last one', 'no error line: the last line');
  t.equal(failureCause(''), '');
  t.equal(
    dbmateError('Applying: 1.sql\nError: pq: permission denied for table x (42501)\n'),
    'permission denied for table x',
  );
});

t.test('make dump on a table whose RLS hides rows names row-level security as the cause', async (t) => {
  const db = await seededDatabase(t, 50);
  const role = `bm_cause_${randomBytes(3).toString('hex')}`;
  await query(
    db,
    `CREATE ROLE ${role} LOGIN; GRANT ALL ON "User" TO ${role};
    ALTER TABLE "User" ENABLE ROW LEVEL SECURITY; CREATE POLICY p ON "User" TO ${role} USING (false);
    GRANT USAGE ON SCHEMA breaking_migrations TO ${role};
    GRANT SELECT ON ALL TABLES IN SCHEMA breaking_migrations TO ${role}`,
  );
  t.teardown(async () => {
    await query({ ...db, database: 'postgres' }, `DROP DATABASE IF EXISTS "${db.database}" WITH (FORCE)`);
    await query({ ...db, database: 'postgres' }, `DROP ROLE IF EXISTS ${role}`);
  });
  const r = runBin('dump.ts', [], tempSettings({ ...db, user: role }).env);
  t.not(r.code, 0, 'dump fails');
  t.match(r.stderr, /row-level security/, `the reason is in the message (${r.stderr.trim()})`);
  t.notMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
});

t.test('a run that fails before anything is ON says maintenance is OFF, not "stays ON"', async (t) => {
  const db = await seededDatabase(t, 20);
  // /proc takes no new folder, even for root: the lock cannot be written, so maintenance-on fails.
  const s = tempSettings(db, { MAINTENANCE_DIR: `/proc/bm-no-lock-${randomBytes(3).toString('hex')}` });
  const r = runBin('migrate.ts', ['0001'], s.env);
  t.not(r.code, 0, 'the run stops');
  t.match(r.stderr, /step maintenance-on failed/, `the step is named (${r.stderr.trim()})`);
  t.match(r.stderr, /maintenance is OFF; nothing needs undoing/, 'read back: nothing is ON');
  t.notMatch(r.stderr, /stays ON/);
  const [g] = await query(
    db,
    `SELECT count(*)::int AS n FROM pg_db_role_setting
    WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  t.equal(g.n, 0, 'the guard is indeed off');
});

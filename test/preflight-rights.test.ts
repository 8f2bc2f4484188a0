// Preflight checks the rights the run needs, in the catalog, before anything changes (issue 18.2-3):
// RLS that would hide rows, ownership of the type and the tables, the toolkit's schema, the guard.
import t, { type Test } from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runBin } from './helpers/cli.js';
import pg from 'pg';
import {
  enumLabels,
  oracleConfig,
  query,
  roleCounts,
  seededDatabase,
  tableChecksum,
  throwawayRole,
} from './helpers/database.js';
import { assertMigrated, snapshot, tempSettings } from './helpers/runbook.js';
import type { Target } from '../bin/lib/connection/target.js';
import { readSql } from '../bin/lib/connection/config.js';

/** `role` owns the database, "User", "Role" and the toolkit's schema (not what that schema holds). */
const ownAll = (db: Target, role: string, more = '') =>
  query(
    db,
    `ALTER DATABASE "${db.database}" OWNER TO ${role}; ALTER TABLE "User" OWNER TO ${role};
    ALTER TYPE "Role" OWNER TO ${role}; ALTER SCHEMA breaking_migrations OWNER TO ${role}; ${more}`,
  );

/** A database that `role` owns with its toolkit's tables, but none of what else another role made. */
async function ownedDatabase(t: Test, rows: number, name: string) {
  const db = await seededDatabase(t, rows);
  const role = await throwawayRole(t, db, name);
  await ownAll(db, role, `ALTER TABLE breaking_migrations.schema_migrations OWNER TO ${role}`);
  return { db, role };
}

/** make migrate-0001 as `role`, with what the database holds before it. */
async function migrateAs(db: Target, role: string, extra: Record<string, string> = {}) {
  const before = { counts: await roleCounts(db), data: await tableChecksum(db) };
  const s = tempSettings({ ...db, user: role }, extra);
  return { before, s, r: runBin('migrate.ts', ['0001'], s.env) };
}

/** As `role`: make migrate-0001, checked, then its way back (make restore of the run's dump), checked. */
async function migrateThenRestore(t: Test, db: Target, role: string, s: ReturnType<typeof tempSettings>) {
  const snap = await snapshot(db);
  const data = await tableChecksum(db);
  const ok = runBin('migrate.ts', ['0001'], s.env);
  t.equal(ok.code, 0, ok.stderr);
  await assertMigrated(t, db, snap, s);
  const dump = readdirSync(s.backupDir).find((f) => f.endsWith('.dump'));
  const back = runBin('restore.ts', [join(s.backupDir, String(dump))], { ...s.env, YES: '1', LIVE: '1' });
  t.equal(back.code, 0, `the way back restores as ${role}: ${back.stderr}`);
  t.same(await enumLabels(db), ['USER', 'ADMIN'], 'restored: the labels before the run');
  t.equal(await tableChecksum(db), data, 'restored: the data before the run');
}

async function assertNothingChanged(
  t: Test,
  db: Target,
  s: { maintenanceDir: string; backupDir: string },
  before: { counts: Record<string, number>; data: string },
) {
  t.same(await enumLabels(db), ['USER', 'ADMIN'], 'labels unchanged');
  t.same(await roleCounts(db), before.counts, 'rows unchanged');
  t.equal(await tableChecksum(db), before.data, 'data unchanged');
  t.notOk(existsSync(join(s.maintenanceDir, 'enabled.lock')), 'maintenance never ON');
  t.same(existsSync(s.backupDir) ? readdirSync(s.backupDir) : [], [], 'no dump');
  const [g] = await query(
    db,
    `SELECT count(*)::int AS n FROM pg_db_role_setting
    WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  t.equal(g.n, 0, 'guard never on');
}

t.test('FORCE ROW LEVEL SECURITY hiding rows from the owner: refused before the window', async (t) => {
  const db = await seededDatabase(t, 400);
  const role = await throwawayRole(t, db, 'bm_owner');
  await ownAll(
    db,
    role,
    `ALTER TABLE "User" ENABLE ROW LEVEL SECURITY; ALTER TABLE "User" FORCE ROW LEVEL SECURITY;
    CREATE POLICY half ON "User" USING (role = 'ADMIN')`,
  );
  const { before, s, r } = await migrateAs(db, role);
  t.equal(r.code, 2, 'refused, exit 2');
  t.match(
    r.stderr,
    new RegExp(
      '^migrate-0001: preflight: table "?public"?\\."User" ' +
        `has row-level security that applies ` +
        `to role ${role} \\(FORCE ROW LEVEL SECURITY\\); run as a role with BYPASSRLS`,
    ),
    r.stderr,
  );
  t.match(r.stderr, /next: Nothing was changed; maintenance was not turned on/);
  await assertNothingChanged(t, db, s, before);
});

t.test('a DML-only role while a migrator owns everything: each missing right named with its fix', async (t) => {
  const db = await seededDatabase(t, 300);
  const role = await throwawayRole(t, db, 'bm_app');
  await query(
    db,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON "User" TO ${role};
    GRANT USAGE ON SCHEMA breaking_migrations TO ${role};
    GRANT SELECT ON ALL TABLES IN SCHEMA breaking_migrations TO ${role}`,
  );
  const { before, s, r } = await migrateAs(db, role);
  t.equal(r.code, 2, 'refused, exit 2');
  t.match(
    r.stderr,
    `does not own table public."User", which the migration alters: ALTER TABLE public."User" OWNER TO ${role};`,
  );
  t.match(
    r.stderr,
    `does not own type public."Role", which the migration alters: ALTER TYPE public."Role" OWNER TO ${role};`,
  );
  t.match(r.stderr, `may not create in the toolkit's schema breaking_migrations`);
  t.match(r.stderr, `GRANT CREATE ON DATABASE ${db.database} TO ${role}`);
  t.match(r.stderr, `is not the owner of database ${db.database}, which the write guard needs`);
  t.notMatch(r.stderr, /GRANT postgres/, 'never the advice to join a superuser role');
  t.notMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
  await assertNothingChanged(t, db, s, before);
  const noGuard = runBin('migrate.ts', ['0001'], { ...s.env, DB_GUARD: '0' });
  t.equal(noGuard.code, 2);
  t.notMatch(noGuard.stderr, /write guard needs/, 'DB_GUARD=0: the database owner is not required');
});

t.test("owner of the type, the table and the toolkit's schema, without CREATE on the database", async (t) => {
  // CREATE SCHEMA IF NOT EXISTS checks CREATE on the database even when the schema exists: preflight
  // names it instead of a bare "permission denied for database" (exit 1) at the journal.
  const db = await seededDatabase(t, 200);
  const role = await throwawayRole(t, db, 'bm_mig');
  await query(
    db,
    `ALTER TABLE "User" OWNER TO ${role}; ALTER TYPE "Role" OWNER TO ${role};
    ALTER SCHEMA breaking_migrations OWNER TO ${role};
    ALTER TABLE breaking_migrations.schema_migrations OWNER TO ${role};
    DO $$ DECLARE f regprocedure; BEGIN
      FOR f IN SELECT p.oid FROM pg_proc p WHERE p.pronamespace = 'breaking_migrations'::regnamespace LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO ${role}', f);
      END LOOP; END $$`,
  );
  const { before, s, r } = await migrateAs(db, role, { DB_GUARD: '0' });
  t.equal(r.code, 2, 'refused, exit 2');
  t.match(
    r.stderr,
    `role ${role} may not create the toolkit's schema breaking_migrations ` +
      `(CREATE SCHEMA IF NOT EXISTS needs it even when the schema exists): ` +
      `GRANT CREATE ON DATABASE ${db.database} TO ${role}`,
  );
  t.notMatch(r.stderr, /does not own|write guard|row-level/, 'only the missing right is named');
  await assertNothingChanged(t, db, s, before);

  // Given the database (CREATE comes with it), the same role, no superuser, runs the whole runbook with the guard.
  await query(db, `ALTER DATABASE "${db.database}" OWNER TO ${role}`);
  const snap = await snapshot(db);
  const ok = runBin('migrate.ts', ['0001'], { ...s.env, DB_GUARD: '1' });
  t.equal(ok.code, 0, ok.stderr);
  await assertMigrated(t, db, snap, s);
});

t.test("the toolkit's tables an earlier run as a superuser made: refused, each named with its statement", async (t) => {
  // A first run (or a rehearsal) as postgres made the journal, the flag, the app instances' table and
  // dbmate's history; the app's owner role then takes the schema, which does not move its tables.
  const db = await seededDatabase(t, 200);
  const su = tempSettings(db);
  for (const verb of ['on', 'off']) t.equal(runBin('maintenance.ts', [verb], su.env).code, 0, `maintenance ${verb}`);
  await query(db, readSql('journal.sql'));
  await query(db, readSql('app_instances.sql'));
  const role = await throwawayRole(t, db, 'bm_next');
  await ownAll(db, role);
  const { before, s, r } = await migrateAs(db, role);
  t.equal(r.code, 2, 'refused, exit 2');
  const tables = ['app_instances', 'journal', 'maintenance', 'schema_migrations'].map(
    (n) => `breaking_migrations.${n}`,
  );
  const owned = [...tables, 'breaking_migrations.report_instance(report jsonb)'].sort();
  t.match(r.stderr, `role ${role} may not write and restore the toolkit's ${owned.join(', ')}, owned by postgres: `);
  const statements = owned.map((o) => `ALTER ${o.includes('(') ? 'FUNCTION' : 'TABLE'} ${o} OWNER TO ${role}`);
  t.match(r.stderr, `${statements.join('; ')} (as a superuser)`);
  t.notMatch(
    r.stderr,
    /permission denied|replace the toolkit's functions/,
    'the tables only: the schema is the role’s',
  );
  await assertNothingChanged(t, db, s, before);
  // A verb with no rights check of its own reads the journal it may not: the cause and what to do.
  const history = runBin('history.ts', [], s.env);
  t.equal(history.code, 1, history.stderr);
  t.match(history.stderr, /^history: permission denied for table journal\n {2}next: The role in DATABASE_URL lacks/);

  // The statements it names are enough: the same role then runs the whole runbook.
  await query(db, statements.join('; '));
  const snap = await snapshot(db);
  const ok = runBin('migrate.ts', ['0001'], s.env);
  t.equal(ok.code, 0, ok.stderr);
  await assertMigrated(t, db, snap, s);
});

t.test("the app's sessions under a role the owner may not end: refused in preflight, then ended", async (t) => {
  const db = await seededDatabase(t, 150);
  const role = await throwawayRole(t, db, 'bm_mig');
  const app = await throwawayRole(t, db, 'bm_web');
  await ownAll(
    db,
    role,
    `ALTER TABLE breaking_migrations.schema_migrations OWNER TO ${role}; GRANT SELECT ON "User" TO ${app}`,
  );
  const web = new pg.Client({ ...oracleConfig({ ...db, user: app }), application_name: 'web' });
  let ended: string | undefined;
  web.on('error', (e: Error & { code?: string }) => (ended = e.code ?? e.message));
  await web.connect();
  const { before, s, r } = await migrateAs(db, role);
  t.equal(r.code, 2, 'refused, exit 2');
  t.match(
    r.stderr,
    `role ${role} may not end the database's other sessions (1 of role ${app}), which the write guard ends ` +
      `so that they reconnect read-only: GRANT pg_signal_backend TO ${role} (as a superuser), or set DB_GUARD=0`,
  );
  t.notMatch(r.stdout, /maintenance-on/, 'before the window');
  await assertNothingChanged(t, db, s, before);

  await query(db, `GRANT pg_signal_backend TO ${role}`);
  t.teardown(() => query({ ...db, database: 'postgres' }, `REVOKE pg_signal_backend FROM ${role}`).catch(() => {}));
  const snap = await snapshot(db);
  const ok = runBin('migrate.ts', ['0001'], s.env);
  t.equal(ok.code, 0, ok.stderr);
  await assertMigrated(t, db, snap, s);
  t.match(ended, /terminat|57P01/, "the app's session was ended by the guard");
});

t.test("objects another role owns, which the run's dump and its restore handle: refused, each named", async (t) => {
  // Migrations once run as a superuser left some of the app's objects to it: pg_dump could not
  // read the table (the run stopped at its dump, maintenance ON) and the restore could not drop them.
  const { db, role } = await ownedDatabase(t, 120, 'bm_way');
  await query(
    db,
    `CREATE TABLE audit (id int PRIMARY KEY); CREATE VIEW audit_v AS SELECT id FROM audit;
    CREATE FUNCTION audit_f() RETURNS int LANGUAGE sql AS 'SELECT 1'; CREATE TYPE mood AS ENUM ('ok');
    CREATE DOMAIN email_d AS text; CREATE SCHEMA reporting; CREATE TABLE reporting.x (id int);
    CREATE EXTENSION pgcrypto;
    CREATE TYPE span AS RANGE (subtype = int4); ALTER TYPE span OWNER TO ${role};
    CREATE TABLE counter (id int GENERATED ALWAYS AS IDENTITY); ALTER TABLE counter OWNER TO ${role}`,
  );
  const { before, s, r } = await migrateAs(db, role);
  t.equal(r.code, 2, 'refused, exit 2');
  const all = [
    `ALTER TABLE public.audit OWNER TO ${role}`,
    `ALTER ROUTINE public.audit_f() OWNER TO ${role}`,
    `ALTER VIEW public.audit_v OWNER TO ${role}`,
    `ALTER DOMAIN public.email_d OWNER TO ${role}`,
    `ALTER TYPE public.mood OWNER TO ${role}`,
    `ALTER SCHEMA reporting OWNER TO ${role}`,
    `ALTER TABLE reporting.x OWNER TO ${role}`,
  ];
  t.match(
    r.stderr,
    `role ${role} may not dump and restore (the way back) 7 object(s), owned by postgres: ` +
      `${all.slice(0, 5).join('; ')}; and 2 more, each ALTER … OWNER TO ${role} (as a superuser)`,
  );
  t.notMatch(r.stderr, /pgcrypto|digest/, "the extension's own objects are not asked for");
  t.notMatch(r.stderr, /span|counter/, "a range's constructors and an identity's sequence follow their owner's");
  await assertNothingChanged(t, db, s, before);

  await query(db, all.join('; '));
  const snap = await snapshot(db);
  const ok = runBin('migrate.ts', ['0001'], s.env);
  t.equal(ok.code, 0, ok.stderr);
  await assertMigrated(t, db, snap, s);
});

t.test("the way back's other objects: each owner's named, a superuser's named, another role's defaults", async (t) => {
  // Each of these, left by a superuser, made the run's dump or its restore fail as the owner
  // (each measured on PostgreSQL 15): pg_dump may not read the large object; the restore may not
  // drop the others, nor create an event trigger or a wrapper, nor set postgres's defaults.
  const { db, role } = await ownedDatabase(t, 90, 'bm_back');
  await query(
    db,
    `CREATE COLLATION c_bytes (locale = 'C'); CREATE TEXT SEARCH DICTIONARY plain (template = simple);
    CREATE STATISTICS user_stats ON id, email FROM "User"; CREATE PUBLICATION user_pub FOR TABLE "User";
    SELECT lo_from_bytea(424242, 'x');
    CREATE FUNCTION on_ddl() RETURNS event_trigger LANGUAGE plpgsql AS 'BEGIN END';
    ALTER FUNCTION on_ddl() OWNER TO ${role};
    CREATE EVENT TRIGGER on_ddl ON ddl_command_start EXECUTE FUNCTION on_ddl();
    CREATE FOREIGN DATA WRAPPER nowhere;
    ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT SELECT ON TABLES TO ${role}`,
  );
  const { before, s, r } = await migrateAs(db, role);
  t.equal(r.code, 2, 'refused, exit 2');
  t.match(r.stderr, `role ${role} may not dump and restore (the way back) 5 object(s), owned by postgres: `);
  const owners = [
    `ALTER COLLATION public.c_bytes OWNER TO ${role}`,
    `ALTER LARGE OBJECT 424242 OWNER TO ${role}`,
    `ALTER PUBLICATION user_pub OWNER TO ${role}`,
    `ALTER STATISTICS public.user_stats OWNER TO ${role}`,
    `ALTER TEXT SEARCH DICTIONARY public.plain OWNER TO ${role}`,
  ];
  for (const fix of owners) t.match(r.stderr, fix, `names ${fix}`);
  t.match(
    r.stderr,
    `role ${role} may not restore (the way back) 2 object(s), which only a superuser may create: ` +
      'event trigger on_ddl, foreign-data wrapper nowhere; run the migration as a superuser',
  );
  t.match(
    r.stderr,
    `role ${role} may not restore (the way back) the default privileges of role postgres (ALTER DEFAULT ` +
      'PRIVILEGES FOR ROLE postgres …), which only a member of postgres may set: run the migration as a superuser',
  );
  await assertNothingChanged(t, db, s, before);

  // Given each owner, and without what only a superuser restores: the run, then its way back.
  await query(
    db,
    `${owners.join('; ')}; DROP EVENT TRIGGER on_ddl; DROP FOREIGN DATA WRAPPER nowhere;
    ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public REVOKE SELECT ON TABLES FROM ${role}`,
  );
  await migrateThenRestore(t, db, role, s);
  const [kept] = await query(
    db,
    `SELECT (SELECT count(*) FROM pg_largeobject_metadata WHERE oid = 424242)::int AS lo,
            (SELECT count(*) FROM pg_publication_rel WHERE prpubid = (SELECT oid FROM pg_publication
              WHERE pubname = 'user_pub'))::int AS pub, to_regcollation('c_bytes') IS NOT NULL AS coll`,
  );
  t.same(kept, { lo: 1, pub: 1, coll: true }, 'the restore brought each object back');
});

t.test("the way back's code, casts, operators, a view of the type, a server's wrapper: named, restored", async (t) => {
  // A function in C or internal (and a base type, parser, template or access method, which need
  // one) may be created by a superuser only, whoever owns it, as may a language, an operator class,
  // a publication of every table and a cast between the system's types; a view of the type is not
  // one of the tables preflight_rights asks for; CREATE SERVER needs USAGE on an extension's wrapper.
  const { db, role } = await ownedDatabase(t, 60, 'bm_code');
  const owners = [
    `ALTER OPERATOR public.### (integer, integer) OWNER TO ${role}`, // in the order of their names
    `ALTER CONVERSION public.latin_to_utf8 OWNER TO ${role}`,
    `ALTER TEXT SEARCH CONFIGURATION public.plain_cfg OWNER TO ${role}`,
    `ALTER VIEW public.role_names OWNER TO ${role}`,
    `ALTER AGGREGATE public.total(integer) OWNER TO ${role}`, // 'internal' in the catalog, not a C function
  ];
  await query(
    db,
    `CREATE CONVERSION latin_to_utf8 FOR 'LATIN1' TO 'UTF8' FROM iso8859_1_to_utf8;
    CREATE OPERATOR ### (LEFTARG = int4, RIGHTARG = int4, FUNCTION = int4pl);
    CREATE TEXT SEARCH CONFIGURATION plain_cfg (COPY = simple);
    CREATE TRUSTED LANGUAGE plsame HANDLER plpgsql_call_handler;
    CREATE OPERATOR CLASS int4_again FOR TYPE int4 USING btree AS OPERATOR 1 <, FUNCTION 1 btint4cmp(int4, int4);
    CREATE PUBLICATION everything FOR ALL TABLES;
    CREATE CAST (point AS text) WITH INOUT;
    CREATE VIEW role_names AS SELECT 'ADMIN'::"Role" AS role;
    CREATE AGGREGATE total(int4) (SFUNC = int4pl, STYPE = int4);
    CREATE AGGREGATE mine(int4) (SFUNC = int4pl, STYPE = int4); ALTER AGGREGATE mine(int4) OWNER TO ${role};
    CREATE FUNCTION text_length(text) RETURNS int4 LANGUAGE internal STRICT IMMUTABLE AS 'textlen';
    ALTER FUNCTION text_length(text) OWNER TO ${role};
    CREATE ACCESS METHOD heap2 TYPE TABLE HANDLER heap_tableam_handler;
    CREATE TEXT SEARCH TEMPLATE simple2 (INIT = dsimple_init, LEXIZE = dsimple_lexize);
    CREATE EXTENSION postgres_fdw; CREATE SERVER far FOREIGN DATA WRAPPER postgres_fdw;
    ALTER SERVER far OWNER TO ${role}`,
  );
  const { before, s, r } = await migrateAs(db, role);
  t.equal(r.code, 2, 'refused, exit 2');
  t.match(r.stderr, `5 object(s), owned by postgres: ${owners.join('; ')} (as a superuser)`);
  t.notMatch(r.stderr, /public\.mine/, 'an aggregate the role owns: nothing to ask');
  t.match(
    r.stderr,
    `role ${role} may not restore (the way back) 7 object(s), which only a superuser may create: ` +
      'access method heap2, cast (point AS text), function public.text_length(text) in language internal, ' +
      'language plsame, operator class public.int4_again, publication everything (FOR ALL TABLES), ' +
      'text search template public.simple2; run the migration as a superuser',
  );
  t.match(
    r.stderr,
    `role ${role} may not restore (the way back) foreign server(s) far without USAGE on their wrapper ` +
      `(for the role that recreates them and the one that owns them): ` +
      `GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO ${role}`,
  );
  t.notMatch(r.stderr, /ALTER (ROUTINE|FUNCTION) public\.text_length/, 'no owner to give: only a superuser creates it');
  t.same(await enumLabels(db), ['USER', 'ADMIN'], 'labels unchanged');
  t.same(await roleCounts(db), before.counts, 'rows unchanged');
  t.notOk(existsSync(join(s.maintenanceDir, 'enabled.lock')), 'maintenance never ON');
  // (the view also blocks the type swap: it is dropped here, as that preflight would ask)
  await query(
    db,
    `DROP VIEW role_names; DROP FUNCTION text_length(text); DROP ACCESS METHOD heap2;
    DROP TEXT SEARCH TEMPLATE simple2; GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO ${role};
    DROP LANGUAGE plsame; DROP OPERATOR FAMILY int4_again USING btree; DROP PUBLICATION everything;
    DROP CAST (point AS text); ${owners.filter((o) => !o.includes('VIEW')).join('; ')}`,
  );
  await migrateThenRestore(t, db, role, s);
  const [kept] = await query(
    db,
    `SELECT to_regoperator('###(int4, int4)') IS NOT NULL AS op,
            (SELECT count(*) FROM pg_conversion WHERE conname = 'latin_to_utf8')::int AS conv,
            (SELECT count(*) FROM pg_ts_config WHERE cfgname = 'plain_cfg')::int AS cfg`,
  );
  t.same(kept, { op: true, conv: 1, cfg: 1 }, 'the restore brought each object back');
  const [far] = await query(
    db,
    `SELECT pg_get_userbyid(srvowner) AS owner FROM pg_foreign_server WHERE srvname = 'far'`,
  );
  t.same(far, { owner: role }, 'the server is back, with its owner');
});

t.test("a group role's objects: the restore gives them back, and their owner must create there", async (t) => {
  // Measured on 15: the role is a member of the group (so it may drop and recreate its objects),
  // but ALTER TABLE … OWNER TO group needs the group's CREATE on public (which 15 gives to the
  // database's owner only), ALTER PUBLICATION … OWNER TO its CREATE on the database: the way back
  // failed, rolled back, after a run whose preflight had passed.
  const { db, role } = await ownedDatabase(t, 40, 'bm_member');
  const group = await throwawayRole(t, db, 'bm_group');
  await query(
    db,
    `GRANT ${group} TO ${role}; CREATE TABLE audit (id int PRIMARY KEY); INSERT INTO audit VALUES (1), (2);
    ALTER TABLE audit OWNER TO ${group}; CREATE PUBLICATION audit_pub FOR TABLE audit;
    ALTER PUBLICATION audit_pub OWNER TO ${group};
    CREATE EXTENSION postgres_fdw; GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO ${role};
    CREATE SERVER audit_far FOREIGN DATA WRAPPER postgres_fdw; ALTER SERVER audit_far OWNER TO ${group}`,
  );
  const { before, s, r } = await migrateAs(db, role);
  t.equal(r.code, 2, 'refused, exit 2');
  t.match(
    r.stderr,
    `role ${role} may not restore (the way back) 2 object(s) owned by ${group}, which may not create where they ` +
      `are: GRANT CREATE ON DATABASE ${db.database} TO ${group}; GRANT CREATE ON SCHEMA public TO ${group} ` +
      '(the restore gives each back to its owner, which needs it)',
  );
  // ALTER SERVER … OWNER TO asks the new owner for USAGE on the wrapper, which only the role has
  t.match(
    r.stderr,
    `foreign server(s) audit_far without USAGE on their wrapper (for the role that recreates them and the one ` +
      `that owns them): GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO ${group}`,
  );
  t.notMatch(r.stderr, /ALTER TABLE public\.audit OWNER/, 'its owner is fine: the role is a member');
  await assertNothingChanged(t, db, s, before);
  await query(
    db,
    `GRANT CREATE ON DATABASE "${db.database}" TO ${group}; GRANT CREATE ON SCHEMA public TO ${group};
    GRANT USAGE ON FOREIGN DATA WRAPPER postgres_fdw TO ${group}`,
  );
  await migrateThenRestore(t, db, role, s);
  const [audit] = await query(
    db,
    `SELECT pg_get_userbyid(c.relowner) AS owner, (SELECT count(*) FROM audit)::int AS n,
            (SELECT pg_get_userbyid(pubowner) FROM pg_publication WHERE pubname = 'audit_pub') AS pub,
            (SELECT pg_get_userbyid(srvowner) FROM pg_foreign_server WHERE srvname = 'audit_far') AS server
     FROM pg_class c WHERE c.oid = 'audit'::regclass`,
  );
  t.same(
    audit,
    { owner: group, n: 2, pub: group, server: group },
    "restored: the group's table, its rows, its publication and its server",
  );
});

-- What the run needs of the role it runs as, read from the catalog before anything changes
-- (migrate's first check, before maintenance). One row per missing right: a code tests assert on,
-- and the sentence with the statement that gives it. Nothing here needs the toolkit installed.
-- What the run's dump and restore need of it: preflight_way_back.sql.
--   $1  the enum type the migration changes (its enum.json "type"; NULL for other migrations)
--   $2  true when the write guard will run (DB_GUARD, the default): it runs ALTER DATABASE … SET
WITH me AS (
  SELECT r.rolname AS name, r.rolsuper AS super, r.rolbypassrls AS bypass
  FROM pg_roles r WHERE r.rolname = current_user
), enum AS (
  SELECT t.oid, t.typarray, t.typowner, format('%I.%I', n.nspname, t.typname) AS name
  FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE $1::text IS NOT NULL AND t.oid = to_regtype(quote_ident($1::text))
), tables AS (                                  -- every table with a column of the type or its array
  SELECT DISTINCT c.oid, c.relowner, c.relrowsecurity, c.relforcerowsecurity,
         format('%I.%I', n.nspname, c.relname) AS name
  FROM enum e
  JOIN pg_attribute a ON a.atttypid IN (e.oid, e.typarray) AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p')
  JOIN pg_namespace n ON n.oid = c.relnamespace
), db AS (
  SELECT d.datname, d.datdba FROM pg_database d WHERE d.datname = current_database()
)
-- Row-level security that applies to this role would hide rows from the counts and the UPDATE
-- (the toolkit's sessions set row_security = off, so PostgreSQL would raise mid-window instead).
SELECT 'preflight.rls' AS code,
       format('table %s has row-level security that applies to role %I (%s); run as a role with BYPASSRLS '
              || '(ALTER ROLE %I BYPASSRLS), as the owner without FORCE ROW LEVEL SECURITY, or as a superuser',
              t.name, me.name, CASE WHEN t.relforcerowsecurity THEN 'FORCE ROW LEVEL SECURITY' ELSE 'not its owner' END,
              me.name) AS problem
FROM tables t, me
WHERE t.relrowsecurity AND NOT me.super AND NOT me.bypass
  AND (t.relforcerowsecurity OR NOT pg_has_role(me.name, t.relowner, 'USAGE'))
UNION ALL
-- The migration alters the type and each of those tables (the contract's ALTER COLUMN … TYPE): owners only.
SELECT 'preflight.privilege',
       format('role %I does not own %s %s, which the migration alters: ALTER %s %s OWNER TO %I%s',
              me.name, o.kind, o.name, upper(o.kind), o.name, me.name,
              CASE WHEN r.rolsuper THEN '' ELSE format(' (or GRANT %I TO %I)', r.rolname, me.name) END)
FROM (SELECT 'type' AS kind, name, typowner AS owner FROM enum
      UNION ALL SELECT 'table', name, relowner FROM tables) o
JOIN pg_roles r ON r.oid = o.owner, me
WHERE NOT me.super AND NOT pg_has_role(me.name, o.owner, 'USAGE')   -- an owner's rights: inherited only
UNION ALL
-- The toolkit's schema (journal, helpers, the flag): every run says CREATE SCHEMA IF NOT EXISTS
-- (sql/journal.sql, sql/maintenance_flag.sql, db/toolkit), and PostgreSQL checks CREATE on the
-- database before it looks whether the schema exists: needed even once the schema is there.
SELECT 'preflight.privilege',
       format('role %I may not create the toolkit''s schema breaking_migrations (CREATE SCHEMA IF NOT EXISTS '
              || 'needs it even when the schema exists): GRANT CREATE ON DATABASE %I TO %I',
              me.name, db.datname, me.name)
FROM db, me
WHERE NOT has_database_privilege(db.datname, 'CREATE')
UNION ALL
-- pg_dump, dbmate and the verifier open sessions of their own (a revoked CONNECT ends them at login).
SELECT 'preflight.privilege',
       format('role %I may not connect to database %I, which pg_dump and dbmate do: GRANT CONNECT ON DATABASE %I TO %I',
              me.name, db.datname, db.datname, me.name)
FROM db, me
WHERE NOT has_database_privilege(db.datname, 'CONNECT')
UNION ALL
-- Every run creates in the toolkit's schema, and a restore drops it whole (DROP SCHEMA … CASCADE):
-- its owner only.
SELECT 'preflight.privilege',
       format('role %I may not create in the toolkit''s schema breaking_migrations, nor drop it as a restore does: '
              || 'ALTER SCHEMA breaking_migrations OWNER TO %I', me.name, me.name)
FROM me
WHERE to_regnamespace('breaking_migrations') IS NOT NULL AND NOT me.super
  AND NOT pg_has_role(me.name, (SELECT nspowner FROM pg_namespace WHERE nspname = 'breaking_migrations'), 'USAGE')
UNION ALL
-- The toolkit's functions are replaced whenever they are not this release's (after an upgrade;
-- bin/lib/runbook/toolkit.ts), and loaded over in a rolled-back transaction by every preflight:
-- DROP and CREATE OR REPLACE need the privileges of the function's owner or the schema's (an
-- earlier run as a superuser leaves them to it). The app's report_instance is not among them.
SELECT 'preflight.privilege',
       format('role %I may not replace the toolkit''s functions in schema breaking_migrations, owned by %s: '
              || 'ALTER SCHEMA breaking_migrations OWNER TO %I (as a superuser or the schema''s owner)',
              me.name, string_agg(DISTINCT quote_ident(r.rolname), ', '), me.name)
FROM (SELECT p.proowner AS owner FROM pg_proc p
      WHERE p.pronamespace = to_regnamespace('breaking_migrations') AND p.proname <> 'report_instance'
      UNION ALL                                 -- the enum_columns view, dropped and recreated with them
      SELECT c.relowner FROM pg_class c
      WHERE c.relnamespace = to_regnamespace('breaking_migrations') AND c.relkind = 'v') f
JOIN pg_roles r ON r.oid = f.owner, me
WHERE NOT me.super AND NOT pg_has_role(me.name, f.owner, 'USAGE')
  AND NOT pg_has_role(me.name, (SELECT nspowner FROM pg_namespace WHERE nspname = 'breaking_migrations'), 'USAGE')
GROUP BY me.name
UNION ALL
-- The toolkit's tables (its journal, dbmate's schema_migrations, the flag, the app instances) and
-- the app's report_instance: the run writes them and runs the journal's DDL again (CREATE INDEX IF
-- NOT EXISTS checks the owner even when the index is there), and a restore recreates them with
-- their owner (ALTER … OWNER TO, which needs that role). An earlier run as a superuser leaves them
-- to it, and ALTER SCHEMA … OWNER TO does not move what the schema holds: their owner only.
SELECT 'preflight.privilege',
       format('role %I may not write and restore the toolkit''s %s, owned by %s: %s (as a superuser)',
              me.name, string_agg(o.name, ', ' ORDER BY o.name), string_agg(DISTINCT quote_ident(r.rolname), ', '),
              string_agg(format('ALTER %s %s OWNER TO %I', o.kind, o.name, me.name), '; ' ORDER BY o.name))
FROM (SELECT 'TABLE' AS kind, format('breaking_migrations.%I', c.relname) AS name, c.relowner AS owner
      FROM pg_class c
      WHERE c.relnamespace = to_regnamespace('breaking_migrations') AND c.relkind IN ('r', 'p')
      UNION ALL
      SELECT 'FUNCTION', format('breaking_migrations.%I(%s)', p.proname, pg_get_function_identity_arguments(p.oid)),
             p.proowner
      FROM pg_proc p
      WHERE p.pronamespace = to_regnamespace('breaking_migrations') AND p.proname = 'report_instance') o
JOIN pg_roles r ON r.oid = o.owner, me
WHERE NOT me.super AND NOT pg_has_role(me.name, o.owner, 'USAGE')
GROUP BY me.name
UNION ALL
-- The write guard: ALTER DATABASE … SET default_transaction_read_only (owner or superuser).
SELECT 'preflight.privilege',
       format('role %I is not the owner of database %I, which the write guard needs (ALTER DATABASE … SET): '
              || 'ALTER DATABASE %I OWNER TO %I, or set DB_GUARD=0 (see the README)',
              me.name, db.datname, db.datname, me.name)
FROM db, me
WHERE $2::boolean AND NOT me.super AND NOT pg_has_role(me.name, db.datdba, 'USAGE');

-- What the run's dump and its restore (the way back) need of the role they run as, read from the
-- catalog before anything changes (migrate's first check, with preflight_rights.sql). pg_dump reads
-- every table, sequence and large object; the restore (pg_restore --clean, in one transaction) drops
-- and recreates every object the dump holds, which only their owner may, and some only a superuser.
-- A dump that fails stops the run inside the window; a restore that fails rolls back and leaves no
-- way back. One row per kind of fault, with the statements that fix it. Extensions' own objects stay
-- out (the restore leaves extensions alone), and so do the type and tables preflight_rights.sql names.
--   $1  the enum type the migration changes (its enum.json "type"; NULL for other migrations)
WITH me AS (
  SELECT r.rolname AS name, r.rolsuper AS super FROM pg_roles r WHERE r.rolname = current_user
), altered AS (                                 -- the type and its tables: preflight_rights.sql's own
  SELECT 'pg_type'::regclass AS cls, t.oid FROM pg_type t
  WHERE $1::text IS NOT NULL AND t.oid = to_regtype(quote_ident($1::text))
  UNION ALL                                     -- tables only, as there: a view of the type is asked for here
  SELECT 'pg_class'::regclass, c.oid FROM pg_type t
  JOIN pg_attribute a ON a.atttypid IN (t.oid, t.typarray) AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p')
  WHERE $1::text IS NOT NULL AND t.oid = to_regtype(quote_ident($1::text))
), app_schemas AS (                             -- what pg_dump dumps: every schema but the system's
  SELECT n.oid, n.nspname, n.nspowner FROM pg_namespace n
  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'breaking_migrations')
    AND n.nspname NOT LIKE 'pg\_%'
    AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid
                                               AND d.deptype = 'e')
), routines AS (                                -- the app's functions, procedures and aggregates
  SELECT p.oid, p.proname, p.prokind, p.proowner, n.oid AS nsp, n.nspname, l.lanname,
         l.lanpltrusted OR p.prokind = 'a' AS trusted  -- an aggregate says 'internal', its functions tell
  FROM pg_proc p JOIN app_schemas n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
  WHERE NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                                             AND d.deptype = 'i')  -- a range's constructors: not dumped
), objects AS (                                 -- what the dump holds and its restore drops and recreates
  SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'S' THEN 'SEQUENCE'
                        WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END AS kind,
         format('%I.%I', n.nspname, c.relname) AS name, c.relowner AS owner, 'pg_class'::regclass AS cls, c.oid,
         n.oid AS nsp                           -- its schema (NULL: none), where its owner must create
  FROM pg_class c JOIN app_schemas n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
    AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                                               AND d.deptype IN ('a', 'i') AND c.relkind = 'S')  -- its table's
  UNION ALL
  SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, format('%I.%I', n.nspname, t.typname), t.typowner,
         'pg_type'::regclass, t.oid, n.oid
  FROM pg_type t JOIN app_schemas n ON n.oid = t.typnamespace
  WHERE t.typtype IN ('e', 'd', 'r', 'c')                      -- not arrays ('b'); a multirange follows its range
    AND (t.typrelid = 0 OR (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c')
  UNION ALL
  SELECT CASE r.prokind WHEN 'a' THEN 'AGGREGATE' ELSE 'ROUTINE' END,
         format('%I.%I(%s)', r.nspname, r.proname, pg_get_function_identity_arguments(r.oid)),
         r.proowner, 'pg_proc'::regclass, r.oid, r.nsp
  FROM routines r WHERE r.trusted              -- C, internal…: a superuser's (below)
  UNION ALL
  SELECT 'SCHEMA', quote_ident(n.nspname), n.nspowner, 'pg_namespace'::regclass, n.oid, NULL
  FROM app_schemas n WHERE n.nspname <> 'public'
  UNION ALL
  SELECT 'COLLATION', format('%I.%I', n.nspname, o.collname), o.collowner, 'pg_collation'::regclass, o.oid,
         n.oid
  FROM pg_collation o JOIN app_schemas n ON n.oid = o.collnamespace
  UNION ALL
  SELECT 'CONVERSION', format('%I.%I', n.nspname, o.conname), o.conowner, 'pg_conversion'::regclass, o.oid,
         n.oid
  FROM pg_conversion o JOIN app_schemas n ON n.oid = o.connamespace
  UNION ALL
  SELECT 'OPERATOR', format('%I.%s (%s, %s)', n.nspname, o.oprname, COALESCE(format_type(NULLIF(o.oprleft, 0), NULL),
         'NONE'), format_type(o.oprright, NULL)), o.oprowner, 'pg_operator'::regclass, o.oid, n.oid
  FROM pg_operator o JOIN app_schemas n ON n.oid = o.oprnamespace
  UNION ALL
  SELECT 'TEXT SEARCH CONFIGURATION', format('%I.%I', n.nspname, o.cfgname), o.cfgowner, 'pg_ts_config'::regclass,
         o.oid, n.oid
  FROM pg_ts_config o JOIN app_schemas n ON n.oid = o.cfgnamespace
  UNION ALL
  SELECT 'TEXT SEARCH DICTIONARY', format('%I.%I', n.nspname, o.dictname), o.dictowner, 'pg_ts_dict'::regclass,
         o.oid, n.oid
  FROM pg_ts_dict o JOIN app_schemas n ON n.oid = o.dictnamespace
  UNION ALL
  SELECT 'STATISTICS', format('%I.%I', n.nspname, o.stxname), o.stxowner, 'pg_statistic_ext'::regclass, o.oid,
         n.oid
  FROM pg_statistic_ext o JOIN app_schemas n ON n.oid = o.stxnamespace
  UNION ALL                                     -- FOR ALL TABLES / TABLES IN SCHEMA: a superuser's (below)
  SELECT 'PUBLICATION', quote_ident(o.pubname), o.pubowner, 'pg_publication'::regclass, o.oid, NULL
  FROM pg_publication o
  WHERE NOT o.puballtables AND NOT EXISTS (SELECT FROM pg_publication_namespace s WHERE s.pnpubid = o.oid)
  UNION ALL
  SELECT 'SERVER', quote_ident(o.srvname), o.srvowner, 'pg_foreign_server'::regclass, o.oid, NULL
  FROM pg_foreign_server o
  UNION ALL                                     -- pg_dump reads each one: its owner, or SELECT on it
  SELECT 'LARGE OBJECT', o.oid::text, o.lomowner, 'pg_largeobject'::regclass, o.oid, NULL
  FROM pg_largeobject_metadata o
), dumped AS (                                  -- of those, all but an extension's own (it stays as it is)
  SELECT o.* FROM objects o
  WHERE NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = o.cls AND e.objid = o.oid AND e.deptype = 'e')
), superuser_only AS (                          -- what only a superuser may create, whoever owns it
  SELECT format('event trigger %I', o.evtname) AS name, 'pg_event_trigger'::regclass AS cls, o.oid
  FROM pg_event_trigger o
  UNION ALL
  SELECT format('foreign-data wrapper %I', o.fdwname), 'pg_foreign_data_wrapper'::regclass, o.oid
  FROM pg_foreign_data_wrapper o
  UNION ALL
  SELECT format('language %I', o.lanname), 'pg_language'::regclass, o.oid
  FROM pg_language o WHERE o.oid >= 16384      -- not the built-in ones (FirstNormalObjectId)
  UNION ALL                                     -- whoever owns it: CREATE FUNCTION … LANGUAGE c is a superuser's
  SELECT format('function %I.%I(%s) in language %I', r.nspname, r.proname, pg_get_function_identity_arguments(r.oid),
                r.lanname), 'pg_proc'::regclass, r.oid
  FROM routines r WHERE NOT r.trusted
  UNION ALL
  SELECT format('base type %I.%I', n.nspname, t.typname), 'pg_type'::regclass, t.oid
  FROM pg_type t JOIN app_schemas n ON n.oid = t.typnamespace
  WHERE t.typtype = 'b' AND NOT EXISTS (SELECT FROM pg_type e WHERE e.typarray = t.oid)  -- not an array
  UNION ALL
  SELECT format('text search parser %I.%I', n.nspname, o.prsname), 'pg_ts_parser'::regclass, o.oid
  FROM pg_ts_parser o JOIN app_schemas n ON n.oid = o.prsnamespace
  UNION ALL
  SELECT format('text search template %I.%I', n.nspname, o.tmplname), 'pg_ts_template'::regclass, o.oid
  FROM pg_ts_template o JOIN app_schemas n ON n.oid = o.tmplnamespace
  UNION ALL
  SELECT format('access method %I', o.amname), 'pg_am'::regclass, o.oid
  FROM pg_am o WHERE o.oid >= 16384
  UNION ALL
  SELECT format('operator class %I.%I', n.nspname, o.opcname), 'pg_opclass'::regclass, o.oid
  FROM pg_opclass o JOIN app_schemas n ON n.oid = o.opcnamespace
  UNION ALL
  SELECT format('operator family %I.%I', n.nspname, o.opfname), 'pg_opfamily'::regclass, o.oid
  FROM pg_opfamily o JOIN app_schemas n ON n.oid = o.opfnamespace
  WHERE NOT EXISTS (SELECT FROM pg_opclass c WHERE c.opcfamily = o.oid AND c.opcname = o.opfname)  -- its class's
  UNION ALL
  SELECT format('publication %I (%s)', o.pubname, CASE WHEN o.puballtables THEN 'FOR ALL TABLES'
                                                       ELSE 'FOR TABLES IN SCHEMA' END),
         'pg_publication'::regclass, o.oid
  FROM pg_publication o
  WHERE o.puballtables OR EXISTS (SELECT FROM pg_publication_namespace s WHERE s.pnpubid = o.oid)
  UNION ALL                                     -- between types that are neither in the app's schemas
  SELECT format('cast (%s AS %s)', format_type(o.castsource, NULL), format_type(o.casttarget, NULL)),
         'pg_cast'::regclass, o.oid
  FROM pg_cast o
  WHERE o.oid >= 16384
    AND NOT EXISTS (SELECT FROM pg_type t JOIN app_schemas n ON n.oid = t.typnamespace
                    WHERE t.oid IN (o.castsource, o.casttarget))
)
SELECT 'preflight.privilege' AS code,
       format('role %I may not dump and restore (the way back) %s, owned by %s: %s%s (as a superuser)',
              me.name, count(*) || ' object(s)', string_agg(DISTINCT quote_ident(r.rolname), ', '),
              string_agg(format('ALTER %s %s OWNER TO %I', o.kind, o.name, me.name), '; ' ORDER BY o.name)
                FILTER (WHERE o.n <= 5),
              CASE WHEN count(*) > 5 THEN format('; and %s more, each ALTER … OWNER TO %I', count(*) - 5, me.name)
                   ELSE '' END) AS problem
FROM (SELECT d.*, row_number() OVER (ORDER BY d.name) AS n FROM dumped d, me
      WHERE NOT me.super AND NOT pg_has_role(me.name, d.owner, 'USAGE')
        AND NOT EXISTS (SELECT FROM altered x WHERE x.cls = d.cls AND x.oid = d.oid)) o
JOIN pg_roles r ON r.oid = o.owner, me
GROUP BY me.name
UNION ALL
-- No owner can be given these (an event trigger's or a wrapper's owner must be a superuser): the
-- restore's CREATE fails for any other role.
SELECT 'preflight.privilege',
       format('role %I may not restore (the way back) %s, which only a superuser may create: %s; '
              || 'run the migration as a superuser', me.name, count(*) || ' object(s)',
              string_agg(o.name, ', ' ORDER BY o.name))
FROM superuser_only o, me
WHERE NOT me.super
  AND NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = o.cls AND e.objid = o.oid AND e.deptype = 'e')
GROUP BY me.name
UNION ALL
-- Default privileges another role set (ALTER DEFAULT PRIVILEGES FOR ROLE …): the restore sets them
-- again, which only a member of that role may.
SELECT 'preflight.privilege',
       format('role %I may not restore (the way back) the default privileges of role %I '
              || '(ALTER DEFAULT PRIVILEGES FOR ROLE %I …), which only a member of %I may set: %s',
              me.name, r.rolname, r.rolname, r.rolname,
              CASE WHEN r.rolsuper THEN 'run the migration as a superuser'
                   ELSE format('GRANT %I TO %I, or run the migration as a superuser', r.rolname, me.name) END)
FROM (SELECT DISTINCT a.defaclrole FROM pg_default_acl a) a
JOIN pg_roles r ON r.oid = a.defaclrole, me
WHERE NOT me.super AND NOT pg_has_role(me.name, a.defaclrole, 'USAGE')
UNION ALL
-- The restore gives each object back to its owner (ALTER … OWNER TO), and PostgreSQL then asks the
-- new owner for CREATE on the object's schema (on the database, for a publication): a group role
-- this role is a member of, which owns objects in a schema it may not create in (public, on 15, for
-- any role but the database's owner), fails it. (A schema's asks the restorer, as preflight_rights.)
SELECT 'preflight.privilege',
       format('role %I may not restore (the way back) %s owned by %s, which may not create where they are: %s '
              || '(the restore gives each back to its owner, which needs it)',
              me.name, count(*) || ' object(s)', string_agg(DISTINCT quote_ident(o.owner_name), ', '),
              string_agg(DISTINCT o.fix, '; ' ORDER BY o.fix))
FROM (SELECT d.*, r.rolname AS owner_name,
             CASE WHEN d.nsp IS NULL THEN format('GRANT CREATE ON DATABASE %I TO %I', current_database(), r.rolname)
                  ELSE format('GRANT CREATE ON SCHEMA %I TO %I', n.nspname, r.rolname) END AS fix
      FROM dumped d JOIN pg_roles r ON r.oid = d.owner LEFT JOIN pg_namespace n ON n.oid = d.nsp, me
      WHERE NOT me.super AND NOT r.rolsuper AND r.rolname <> me.name AND pg_has_role(me.name, d.owner, 'USAGE')
        AND d.kind NOT IN ('SCHEMA', 'SERVER', 'LARGE OBJECT')  -- no CREATE asked of their new owner (a
                                                                 -- server's USAGE on its wrapper: below)
        AND CASE WHEN d.nsp IS NULL THEN NOT has_database_privilege(r.oid, current_database(), 'CREATE')
                 ELSE NOT has_schema_privilege(r.oid, d.nsp, 'CREATE') END) o,
     me
GROUP BY me.name
UNION ALL
-- A foreign server's CREATE SERVER needs USAGE on its wrapper for the role that restores it, and
-- ALTER SERVER … OWNER TO for its owner; an extension's wrapper (postgres_fdw) grants it to no one.
SELECT 'preflight.privilege',
       format('role %I may not restore (the way back) foreign server(s) %s without USAGE on their wrapper '
              || '(for the role that recreates them and the one that owns them): %s',
              me.name, string_agg(DISTINCT quote_ident(s.srvname), ', '),
              string_agg(DISTINCT format('GRANT USAGE ON FOREIGN DATA WRAPPER %I TO %I', w.fdwname, who.rolname),
                         '; '))
FROM dumped d JOIN pg_foreign_server s ON d.kind = 'SERVER' AND s.oid = d.oid
JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw, me,
     LATERAL (SELECT r.rolname FROM pg_roles r
              WHERE r.rolname = me.name OR (r.oid = s.srvowner AND NOT r.rolsuper)) who
WHERE NOT me.super AND NOT has_foreign_data_wrapper_privilege(who.rolname, w.oid, 'USAGE')
GROUP BY me.name;

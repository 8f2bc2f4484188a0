-- What the toolkit's functions and views are in this database, as one hash of their definitions
-- (NULL when the schema has none), and whether any of the toolkit's own functions is there (all
-- but the app's report_instance, from sql/app_instances.sql).
-- bin/lib/runbook/toolkit.ts compares it with the same hash taken after this release's definitions
-- are loaded in a transaction that is rolled back: equal means the functions here are this
-- release's; different means an earlier (or later) release's.
SELECT md5(string_agg(definition, E'\n' ORDER BY definition)) AS fingerprint,
       EXISTS (SELECT FROM pg_proc WHERE pronamespace = to_regnamespace('breaking_migrations')
                                     AND proname <> 'report_instance') AS installed
FROM (
  SELECT pg_get_functiondef(p.oid) AS definition
  FROM pg_proc p
  WHERE p.pronamespace = to_regnamespace('breaking_migrations') AND p.prokind = 'f'
  UNION ALL
  SELECT c.relname || ': ' || pg_get_viewdef(c.oid)
  FROM pg_class c
  WHERE c.relnamespace = to_regnamespace('breaking_migrations') AND c.relkind = 'v'
) defs;

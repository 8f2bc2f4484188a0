-- After the contract: the type is exactly what 0001 promises (kind 'schema'), and the data is
-- what the verifier committed (kind 'data'). $1 = counts.sql's row after the mutation (JSON),
-- $2 = counts.sql now (JSON). Without committed counts both are '{}' and only the schema checks
-- count (after STRATEGY=rename, whose data was proved in the verifier's transaction). The runner
-- enforces 'data' checks when the write guard held other writers back since the mutation, and
-- reports them otherwise.
WITH v AS (SELECT * FROM jsonb_to_record($1::jsonb) AS x(total int8, "EMPLOYEE" int8, "MANAGER" int8, "ADMIN" int8, identity text)),
     n AS (SELECT * FROM jsonb_to_record($2::jsonb) AS x(total int8, "USER" int8, "EMPLOYEE" int8, "MANAGER" int8, "ADMIN" int8, identity text))
SELECT c.name AS check, c.kind AS kind, c.expected AS expected, c.actual AS actual
FROM v, n, LATERAL (VALUES
  ('"Role" labels, in order', 'schema', '{EMPLOYEE,MANAGER,ADMIN}',  breaking_migrations.enum_labels('"Role"')::text),
  ('"User".role type',        'schema', '"Role" NOT NULL',
     (SELECT format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' NOT NULL' ELSE '' END
      FROM pg_attribute WHERE attrelid = '"User"'::regclass AND attname = 'role')),
  -- once USER is no longer a label no row can hold it: true without a count ($2 = '{}')
  ('no USER left',            'schema', '0',
     CASE WHEN 'USER' = ANY (breaking_migrations.enum_labels('"Role"')) THEN n."USER"::text ELSE '0' END),
  ('EMPLOYEE as committed',   'data',   v."EMPLOYEE"::text,          n."EMPLOYEE"::text),
  ('MANAGER as committed',    'data',   v."MANAGER"::text,           n."MANAGER"::text),
  ('ADMIN as committed',      'data',   v."ADMIN"::text,             n."ADMIN"::text),
  ('total as committed',      'data',   v.total::text,               n.total::text),
  ('(id, email) as committed', 'data',  v.identity,                  n.identity)
) AS c(name, kind, expected, actual);

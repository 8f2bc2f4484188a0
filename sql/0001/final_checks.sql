-- After the contract: the type is exactly what 0001 promises (kind 'schema'), and the data is
-- what the verifier committed (kind 'data'): every table with a column of "Role", its rows, its
-- rows' identity and its rows per label, unchanged since. $1 = counts.sql's row after the
-- mutation (JSON), $2 = counts.sql now (JSON). Without committed counts both are '{}' and only
-- the schema checks count (after STRATEGY=rename, whose data was proved in the verifier's
-- transaction). The runner enforces 'data' checks when the write guard held other writers back
-- since the mutation, and reports them otherwise.
WITH v AS (SELECT COALESCE($1::jsonb -> 'tables', '{}') AS j),
     n AS (SELECT COALESCE($2::jsonb -> 'tables', '{}') AS j),
     labels AS (SELECT breaking_migrations.enum_labels('"Role"') AS l)
SELECT c.name AS check, c.kind AS kind, c.expected AS expected, c.actual AS actual
FROM (
  SELECT x.* FROM labels, n, LATERAL (VALUES
    ('"Role" labels, in order', 'schema', '{EMPLOYEE,MANAGER,ADMIN}', labels.l::text),
    ('"User".role type',        'schema', '"Role" NOT NULL',
       (SELECT format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' NOT NULL' ELSE '' END
        FROM pg_attribute WHERE attrelid = '"User"'::regclass AND attname = 'role')),
    -- once USER is no longer a label no row can hold it: true without a count ($2 = '{}')
    ('no USER left',            'schema', '0',
       CASE WHEN 'USER' = ANY (labels.l)
            THEN (SELECT COALESCE(sum((col.value ->> 'USER')::int8), 0)::text
                  FROM jsonb_each(n.j) tb, jsonb_each(tb.value -> 'columns') col)
            ELSE '0' END)
  ) AS x(name, kind, expected, actual)
  UNION ALL
  SELECT format('%s as committed', tb.key), 'data', tb.value::text, (n.j -> tb.key)::text
  FROM v, n, jsonb_each(v.j) tb
) AS c;

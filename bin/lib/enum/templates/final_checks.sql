-- After the contract: {{type}} is exactly {{to_list}} (kind 'schema'), and the data is what the
-- verifier committed (kind 'data'): every table with a column of {{type}}, its rows, its rows' identity
-- and its rows per label, unchanged since. $1 = counts.sql's row after the mutation (JSON), $2 =
-- counts.sql now. Without committed counts both are '{}' and only the schema checks count (after
-- STRATEGY=rename, whose data was proved in the verifier's transaction). The runner enforces
-- 'data' checks when the write guard held other writers back since the mutation.
WITH v AS (SELECT COALESCE($1::jsonb -> 'tables', '{}') AS j),
     n AS (SELECT COALESCE($2::jsonb -> 'tables', '{}') AS j)
SELECT '{{type_in_text}} labels, in order' AS check, 'schema' AS kind, {{to_labels_text}} AS expected,
       breaking_migrations.enum_labels({{type_literal}})::text AS actual
UNION ALL
SELECT format('%s as committed', tb.key), 'data', tb.value::text, (n.j -> tb.key)::text
FROM v, n, jsonb_each(v.j) tb;

-- {{proved}}: invariants.sql's checks,
-- proved from rename_facts.sql instead of counted, for every column of {{type}} at once.
-- The argument: while this transaction holds the EXCLUSIVE lock on every table with a column of
-- {{type}}, nobody else writes them; if it wrote no row and rewrote no file either, every row
-- still holds the label OID it held, so rows per label after = rows per label before, read
-- through the new names.
-- $1 = facts before, $2 = after (JSON), $3 = NULL. Any mismatch rolls back.
WITH facts AS (
       SELECT v.which, f.label_oids::jsonb AS oids,
              (SELECT jsonb_object_agg(key, value -> 'filenode') FROM jsonb_each(f.tables))::text AS filenode,
              (SELECT COALESCE(sum((value ->> 'rows_written')::int8), 0) FROM jsonb_each(f.tables)) AS rows_written,
              (SELECT COALESCE(bool_and((value ->> 'writers_locked')::boolean), false)
               FROM jsonb_each(f.tables)) AS locked
       FROM (VALUES ($1::jsonb, 'before'), ($2::jsonb, 'after')) AS v(j, which),
            jsonb_to_record(v.j) AS f(label_oids text, tables jsonb)),
     b AS (SELECT * FROM facts WHERE which = 'before'), a AS (SELECT * FROM facts WHERE which = 'after')
SELECT c.name AS check, c.expected AS expected, c.actual AS actual
FROM a, b, LATERAL (VALUES
{{rename_checks}}
) AS c(name, expected, actual);

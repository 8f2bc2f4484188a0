-- STRATEGY=rename: invariants.sql's checks,
-- proved from rename_facts.sql instead of counted, for every column of "Role" at once.
-- The argument: while this transaction holds the EXCLUSIVE lock on every table with a column of
-- "Role", nobody else writes them; if it wrote no row and rewrote no file either, every row
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
  ('no USER left (USER is no longer a label)', 'false', (a.oids ? 'USER')::text),
  ('EMPLOYEE after = EMPLOYEE before + USER before (EMPLOYEE is USER''s label OID)',
     CASE WHEN b.oids ? 'EMPLOYEE' THEN 'EMPLOYEE existed before' ELSE b.oids ->> 'USER' END,
     COALESCE(a.oids ->> 'EMPLOYEE', 'missing')),
  ('ADMIN unchanged (same label OID)', b.oids ->> 'ADMIN', COALESCE(a.oids ->> 'ADMIN', 'missing')),
  ('MANAGER added (a new label OID, or the one a rollback left)',
     COALESCE(b.oids ->> 'MANAGER', 'new'),
     CASE WHEN NOT a.oids ? 'MANAGER' THEN 'missing' WHEN b.oids ? 'MANAGER' THEN a.oids ->> 'MANAGER'
          WHEN EXISTS (SELECT FROM jsonb_each_text(b.oids) e WHERE e.value = a.oids ->> 'MANAGER')
          THEN 'an old label OID' ELSE 'new' END),
  ('rows updated = 0 (no row written: relabelled in the catalog)', '0',
     (a.rows_written + COALESCE($3::int8, 0))::text),
  ('rows unchanged (no row written, other writers locked out)', 'true',
     (a.rows_written = 0 AND b.locked AND a.locked)::text),
  ('identity of every row unchanged (no rewrite: same files)', b.filenode, a.filenode)
) AS c(name, expected, actual);

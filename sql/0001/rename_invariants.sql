-- STRATEGY=rename: invariants.sql's checks, proved from rename_facts.sql instead of counted,
-- for every column of "Role" at once (a label is renamed for all of them).
-- $1 = facts before rename.sql, $2 = facts after (JSON), $3 = rows the statement reported
-- updating (NULL). The argument: while this transaction holds the EXCLUSIVE lock on every table
-- with a column of "Role", no other session writes them; if this transaction wrote no row and
-- rewrote no file either, every row of every such column still holds the label OID it held
-- before, so rows per label after = rows per label before, read through the new names.
-- Any row where expected <> actual rolls the rename back.
WITH facts AS (
       SELECT v.which, f.label_oids,
              (SELECT jsonb_object_agg(key, value -> 'filenode') FROM jsonb_each(f.tables))::text                AS filenode,
              (SELECT COALESCE(sum((value ->> 'rows_written')::int8), 0) FROM jsonb_each(f.tables))               AS rows_written,
              (SELECT COALESCE(bool_and((value ->> 'writers_locked')::boolean), false) FROM jsonb_each(f.tables))::text AS writers_locked
       FROM (VALUES ($1::jsonb, 'before'), ($2::jsonb, 'after')) AS v(j, which),
            jsonb_to_record(v.j) AS f(label_oids text, tables jsonb)),
     b AS (SELECT * FROM facts WHERE which = 'before'),
     a AS (SELECT * FROM facts WHERE which = 'after'),
     l AS (SELECT b.label_oids::jsonb AS b, a.label_oids::jsonb AS a FROM a, b)
SELECT c.name AS check, c.expected AS expected, c.actual AS actual
FROM a, b, l, LATERAL (VALUES
  -- no row can hold a label that no longer exists
  ('no USER left (USER is no longer a label)',         'false',  (l.a ? 'USER')::text),
  -- EMPLOYEE did not exist (0 rows), and is now the very label USER was: same rows
  ('EMPLOYEE after = EMPLOYEE before + USER before (EMPLOYEE is USER''s label OID)',
                                                       CASE WHEN l.b ? 'EMPLOYEE' THEN 'EMPLOYEE existed before' ELSE l.b ->> 'USER' END,
                                                       COALESCE(l.a ->> 'EMPLOYEE', 'missing')),
  ('rows updated = USER before (no row written: relabelled in the catalog)',
                                                       '0',      (a.rows_written + COALESCE($3::int8, 0))::text),
  ('ADMIN unchanged (same label OID)',                 l.b ->> 'ADMIN',  COALESCE(l.a ->> 'ADMIN', 'missing')),
  -- a label created in this transaction cannot be held by any row yet
  ('MANAGER unchanged (0: a new label OID)',           'new',
     CASE WHEN l.b ? 'MANAGER' THEN 'existed before'
          WHEN NOT l.a ? 'MANAGER' THEN 'missing'
          WHEN EXISTS (SELECT FROM jsonb_each_text(l.b) e WHERE e.value = l.a ->> 'MANAGER') THEN 'an old label OID'
          ELSE 'new' END),
  ('total unchanged (no row written, other writers locked out)',
                                                       'true',   (a.rows_written = 0 AND b.writers_locked::boolean AND a.writers_locked::boolean)::text),
  ('identity of every row unchanged (no rewrite: same files)',    b.filenode, a.filenode)
) AS c(name, expected, actual);

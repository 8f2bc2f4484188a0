-- STRATEGY=rename: invariants.sql's checks, proved from rename_facts.sql instead of counted.
-- $1 = facts before rename.sql, $2 = facts after (JSON), $3 = rows the statement reported
-- updating (NULL). The argument: while this transaction holds the EXCLUSIVE lock no other
-- session writes "User"; if this transaction wrote no row and rewrote no file either, every row
-- still holds the label OID it held before, so rows per label after = rows per label before,
-- read through the new names. Any row where expected <> actual rolls the rename back.
WITH b AS (SELECT * FROM jsonb_to_record($1::jsonb) AS x(label_oids text, filenode text, rows_written int8, writers_locked text)),
     a AS (SELECT * FROM jsonb_to_record($2::jsonb) AS x(label_oids text, filenode text, rows_written int8, writers_locked text)),
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
  ('(id, email) unchanged (no rewrite: same file)',    b.filenode, a.filenode)
) AS c(name, expected, actual);

-- The runbook's checks, as data: each row is one check with its expected and actual value; any
-- row where they differ rolls the mutation back. For every table with a column of "Role" and
-- for every such column (arrays: element by element):
--   no USER left; EMPLOYEE after = EMPLOYEE before + USER before; every other label (and NULL)
--   unchanged; rows updated = rows that held USER;
-- and for every table: its row total and every row's identity unchanged. No table or column of
-- "Role" may appear or vanish on the way.
-- $1 = counts.sql before the mutation, $2 = after (JSON, {"tables": …}); $3 = what mutation.sql
-- returned as {"table": {"column": rows updated}}, NULL for the strategies that relabel
-- without an UPDATE (rewrite, rename: the other checks verify their outcome).
WITH b AS (SELECT $1::jsonb -> 'tables' AS j),
     a AS (SELECT $2::jsonb -> 'tables' AS j),
     u AS (SELECT $3::jsonb AS j),
     tbl AS (SELECT b.j -> t AS bt, a.j -> t AS at, t FROM b, a,
             (SELECT jsonb_object_keys(b.j) AS t FROM b UNION SELECT jsonb_object_keys(a.j) FROM a) k),
     col AS (SELECT tbl.*, c,
                    COALESCE(bt -> 'columns' -> c, '{}') AS bc, COALESCE(at -> 'columns' -> c, '{}') AS ac,
                    (bt -> 'holding') ? c AS is_array
             FROM tbl CROSS JOIN LATERAL (SELECT jsonb_object_keys(COALESCE(bt -> 'columns', '{}')) UNION
                                         SELECT jsonb_object_keys(COALESCE(at -> 'columns', '{}'))) AS k(c)),
     n AS (SELECT col.*, (bc ->> 'USER')::int8 AS b_user, (bc ->> 'EMPLOYEE')::int8 AS b_employee,
                  (ac ->> 'USER')::int8 AS a_user, (ac ->> 'EMPLOYEE')::int8 AS a_employee FROM col)
SELECT c.name AS check, c.expected AS expected, c.actual AS actual
FROM (
  SELECT 'tables and columns of "Role"' AS name,
         (SELECT string_agg(t || '.' || c, ', ' ORDER BY t, c) FROM n WHERE bt IS NOT NULL AND bt -> 'columns' ? c) AS expected,
         (SELECT string_agg(t || '.' || c, ', ' ORDER BY t, c) FROM n WHERE at IS NOT NULL AND at -> 'columns' ? c) AS actual
  UNION ALL
  SELECT x.name, x.expected, x.actual FROM n, LATERAL (VALUES
    (format('%s.%s: no USER left', t, c),                                   '0',
       COALESCE(a_user, 0)::text),
    (format('%s.%s: EMPLOYEE after = EMPLOYEE before + USER before', t, c), (COALESCE(b_employee, 0) + COALESCE(b_user, 0))::text,
       COALESCE(a_employee, 0)::text),
    (format('%s.%s: other labels unchanged', t, c),                         (bc - 'USER' - 'EMPLOYEE')::text,
       (ac - 'USER' - 'EMPLOYEE')::text)
  ) AS x(name, expected, actual)
  UNION ALL
  -- an array column's rows updated are the rows whose array held USER
  SELECT format('%s.%s: rows updated = rows holding USER before', t, c),
         COALESCE(CASE WHEN is_array THEN bt -> 'holding' -> c ->> 'USER' ELSE b_user::text END, '0'),
         COALESCE(u.j -> t ->> c, 'not updated')
  FROM n, u WHERE u.j IS NOT NULL
  UNION ALL
  SELECT x.name, x.expected, x.actual FROM tbl, LATERAL (VALUES
    (format('%s: rows unchanged', t),                 bt ->> 'rows',      at ->> 'rows'),
    (format('%s: identity of every row unchanged', t), bt ->> 'identity', at ->> 'identity')
  ) AS x(name, expected, actual)
) AS c;

-- The checks of migration {{id}}, as data: one row per check with its expected and actual value;
-- any row where they differ rolls the mutation back. For every table with a column of {{type}} and for
-- every such column (arrays: element by element), each label after = the labels that map to it
-- before, and the rows holding it are exactly the rows that held those labels (a hash of their
-- identities: which rows, not only how many); every label mapped away is gone, and rows updated =
-- rows that held a mapped label; an array column's NULL arrays stay on the same rows; for every
-- table, its rows and every row's identity are unchanged; no column appears or vanishes.
-- $1 = counts.sql before, $2 = after (JSON); $3 = mutation.sql's rows updated as
-- {"table": {"column": n}}, NULL for the strategies that relabel without an UPDATE.
WITH map(old_label, new_label) AS (VALUES {{map_values}}),
     b AS (SELECT $1::jsonb -> 'tables' AS j), a AS (SELECT $2::jsonb -> 'tables' AS j), u AS (SELECT $3::jsonb AS j),
     tbl AS (SELECT t, b.j -> t AS bt, a.j -> t AS at FROM b, a,
             (SELECT jsonb_object_keys(b.j) AS t FROM b UNION SELECT jsonb_object_keys(a.j) FROM a) k),
     col AS (SELECT tbl.*, c, COALESCE(bt -> 'columns' -> c, '{}') AS bc, COALESCE(at -> 'columns' -> c, '{}') AS ac,
                    COALESCE(bt -> 'identities' -> c, '{}') AS bi, COALESCE(at -> 'identities' -> c, '{}') AS ai,
                    COALESCE(bt -> 'holding' -> c, '{}') AS bh, (bt -> 'holding') ? c AS is_array
             FROM tbl CROSS JOIN LATERAL (SELECT jsonb_object_keys(COALESCE(bt -> 'columns', '{}')) UNION
                                          SELECT jsonb_object_keys(COALESCE(at -> 'columns', '{}'))) AS k(c))
SELECT x.name AS check, x.expected AS expected, x.actual AS actual
FROM (
  SELECT 'tables and columns of {{type_in_text}}' AS name,
         (SELECT string_agg(t || '.' || c, ', ' ORDER BY t, c) FROM col WHERE bt -> 'columns' ? c) AS expected,
         (SELECT string_agg(t || '.' || c, ', ' ORDER BY t, c) FROM col WHERE at -> 'columns' ? c) AS actual
  UNION ALL
  -- each label after the change: itself before, plus every label mapped to it
  SELECT format('%s.%s: %s after = %s', t, c, m.new_label,
                string_agg(m.old_label || ' before', ' + ' ORDER BY m.old_label <> m.new_label, m.old_label)),
         sum(COALESCE((bc ->> m.old_label)::int8, 0))::text, COALESCE(ac ->> m.new_label, '0')
  FROM col, (SELECT old_label, new_label FROM map WHERE new_label IS NOT NULL
             UNION SELECT new_label, new_label FROM map WHERE new_label IS NOT NULL) m
  GROUP BY t, c, ac, m.new_label
  UNION ALL
  -- which rows: those holding each label after (NULL included) are the rows that held it or a label
  -- mapped to it, compared as the sum of their identity hashes (an array: one per element)
  SELECT format('%s.%s: rows holding %s after = rows holding %s before', t, c,
                COALESCE(NULLIF(m.new_label, ''), 'NULL'),
                string_agg(COALESCE(NULLIF(m.old_label, ''), 'NULL'), ' or '
                           ORDER BY m.old_label <> m.new_label, m.old_label)),
         sum(COALESCE((bi ->> m.old_label)::numeric, 0))::text, COALESCE(ai ->> m.new_label, '0')
  FROM col, (SELECT old_label, new_label FROM map WHERE new_label IS NOT NULL
             UNION SELECT new_label, new_label FROM map WHERE new_label IS NOT NULL UNION SELECT '', '') m
  GROUP BY t, c, ai, m.new_label
  UNION ALL
  -- every label mapped away (or removed) is gone
  SELECT format('%s.%s: no %s left', t, c, m.old_label), '0', COALESCE(ac ->> m.old_label, '0')
  FROM col, map m WHERE m.new_label IS DISTINCT FROM m.old_label
  UNION ALL
  SELECT format('%s.%s: NULL unchanged', t, c), COALESCE(bc ->> '', '0'), COALESCE(ac ->> '', '0') FROM col
  UNION ALL
  -- an array column: the rows whose array is NULL are the same rows (sum of their identity hashes;
  -- an empty array holds nothing either, and would pass for one in the counts above)
  SELECT format('%s.%s: rows with a NULL array unchanged', t, c),
         COALESCE(bt -> 'nulls' ->> c, '0'), COALESCE(at -> 'nulls' ->> c, '0')
  FROM col WHERE is_array
  UNION ALL
  -- rows updated: a plain column's rows holding a mapped label; an array's rows holding one
  -- (at least the most held, at most their sum when a row may hold several)
  SELECT format('%s.%s: rows updated = rows holding a mapped label before', t, c),
         CASE WHEN NOT is_array THEN sum(COALESCE((bc ->> m.old_label)::int8, 0))::text ELSE 'true' END,
         CASE WHEN NOT is_array THEN COALESCE(u.j -> t ->> c, 'not updated')
              ELSE (COALESCE((u.j -> t ->> c)::int8, -1) BETWEEN COALESCE(max((bh ->> m.old_label)::int8), 0)
                                                             AND COALESCE(sum((bh ->> m.old_label)::int8), 0))::text END
  FROM col, u, map m WHERE u.j IS NOT NULL AND m.new_label IS NOT NULL AND m.new_label <> m.old_label
  GROUP BY t, c, is_array, u.j
  UNION ALL
  SELECT y.* FROM tbl, LATERAL (VALUES
    (format('%s: rows unchanged', t), bt ->> 'rows', at ->> 'rows'),
    (format('%s: identity of every row unchanged', t), bt ->> 'identity', at ->> 'identity')) AS y
) AS x;

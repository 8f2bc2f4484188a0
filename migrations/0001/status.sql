-- What `make status MIGRATION=0001` shows besides dbmate's list (status.sql's contract: rows of
-- (item, detail)): the labels of "Role" in order, then every column of "Role" or "Role"[] in any table and
-- schema with its rows per label (arrays: elements). One scan per table; changes nothing.
WITH labels AS (SELECT array_agg(enumlabel::text ORDER BY enumsortorder) AS l
                FROM pg_enum WHERE enumtypid = to_regtype('"Role"')),
     counts AS (SELECT t.key AS tbl, t.value AS v
                FROM jsonb_each(CASE WHEN to_regtype('"Role"') IS NOT NULL
                                     THEN breaking_migrations.enum_counts('"Role"') ELSE '{}' END) t)
SELECT '"Role" labels, in order' AS item,
       COALESCE(array_to_string(l, ', '), '(no "Role" type)') AS detail
FROM labels
UNION ALL
(SELECT format('%s.%s%s', tbl, c.key, CASE WHEN v -> 'holding' ? c.key THEN ' (elements)' ELSE '' END),
        (SELECT string_agg(format('%s=%s', lbl, COALESCE(c.value ->> lbl, '0')), '  ' ORDER BY o)
         FROM labels, unnest(l) WITH ORDINALITY u(lbl, o))
 FROM counts, jsonb_each(v -> 'columns') c
 ORDER BY 1);

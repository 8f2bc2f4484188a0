-- What `make status MIGRATION={{id}}` shows besides dbmate's list (status.sql's contract: rows of
-- (item, detail)): the labels of {{type}} in order, then every column of {{type}} or {{type}}[] in any table and
-- schema with its rows per label (arrays: elements). One scan per table; changes nothing.
WITH labels AS (SELECT array_agg(enumlabel::text ORDER BY enumsortorder) AS l
                FROM pg_enum WHERE enumtypid = to_regtype({{type_literal}})),
     counts AS (SELECT t.key AS tbl, t.value AS v
                FROM jsonb_each(CASE WHEN to_regtype({{type_literal}}) IS NOT NULL
                                     THEN breaking_migrations.enum_counts({{type_literal}}) ELSE '{}' END) t)
SELECT '{{type_in_text}} labels, in order' AS item,
       COALESCE(array_to_string(l, ', '), '(no {{type_in_text}} type)') AS detail
FROM labels
UNION ALL
(SELECT format('%s.%s%s', tbl, c.key, CASE WHEN v -> 'holding' ? c.key THEN ' (elements)' ELSE '' END),
        (SELECT string_agg(format('%s=%s', lbl, COALESCE(c.value ->> lbl, '0')), '  ' ORDER BY o)
         FROM labels, unnest(l) WITH ORDINALITY u(lbl, o))
 FROM counts, jsonb_each(v -> 'columns') c
 ORDER BY 1);

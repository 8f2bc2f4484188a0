-- Rows per table, for a dump's manifest and for checking a restore against it.
-- Every ordinary table outside the system schemas (partitions are counted as their own tables).
SELECT format('%I.%I', n.nspname, c.relname) AS name,
       (xpath('/row/n/text()',
              query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, ''))
       )[1]::text::int8 AS rows
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'
ORDER BY 1;

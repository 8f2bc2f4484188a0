-- What `make plan-0001` needs (plan.sql's contract: one row per column the migration changes, with
-- table_name, column_name, bytes, rows, rows_to_change, estimated_by, rename_available; see
-- sql/README.md), for every column of "Role" (or "Role"[]) in any table: the table's size, its rows and
-- the rows holding a label the mutation maps (USER), and whether the change is
-- still a pure rename.
-- Rows come from the planner's statistics (no scan); a table never analysed (reltuples = -1) is
-- sampled instead: about a thousand of its pages (TABLESAMPLE SYSTEM), scaled to its size.
WITH mapped AS (SELECT ARRAY['USER']::text[] AS l),
cols AS (
  SELECT c.table_name, c.column_name, c.is_array, c.relid, cl.reltuples, cl.relname, n.nspname,
         GREATEST(1, pg_relation_size(c.relid) / current_setting('block_size')::int8) AS pages
  FROM breaking_migrations.enum_columns c
  JOIN pg_class cl ON cl.oid = c.relid
  JOIN pg_namespace n ON n.oid = cl.relnamespace
  WHERE c.enum_type = to_regtype('"Role"')
),
sampled AS (
  SELECT cols.*, LEAST(100, 100.0 * 1000 / pages) AS percent,
         query_to_xml(format('SELECT count(*) AS n, count(*) FILTER (WHERE %s) AS u '
                             'FROM %s TABLESAMPLE SYSTEM (%s) REPEATABLE (1)',
                             CASE WHEN is_array THEN format('%I::text[] && %L::text[]', column_name, mapped.l)
                                  ELSE format('%I::text = ANY (%L::text[])', column_name, mapped.l) END,
                             table_name, LEAST(100, 100.0 * 1000 / pages)), false, true, '') AS x
  FROM cols, mapped WHERE reltuples < 0
)
SELECT c.table_name, c.column_name,
       pg_total_relation_size(c.relid)::int8 AS bytes,
       CASE WHEN c.reltuples >= 0 THEN c.reltuples::int8
            ELSE ((xpath('/row/n/text()', s.x))[1]::text::numeric * 100 / s.percent)::int8 END AS rows,
       CASE WHEN c.reltuples >= 0 THEN
              COALESCE((SELECT (SELECT sum(st.most_common_freqs[array_position(st.most_common_vals::text::text[], m)])
                                FROM unnest(mapped.l) m)
                               * c.reltuples FROM pg_stats st
                        WHERE st.schemaname = c.nspname AND st.tablename = c.relname
                          AND st.attname = c.column_name AND NOT c.is_array),
                       CASE WHEN cardinality(mapped.l) = 0 THEN 0 ELSE c.reltuples END)::int8
            ELSE ((xpath('/row/u/text()', s.x))[1]::text::numeric * 100 / s.percent)::int8 END AS rows_to_change,
       CASE WHEN c.reltuples >= 0 THEN 'planner statistics'
            ELSE format('a %s%% sample of its pages (never analysed)', round(s.percent, 1)) END AS estimated_by,
       breaking_migrations.enum_labels('"Role"') IN (ARRAY['USER', 'ADMIN'],
                                             ARRAY['USER', 'MANAGER', 'ADMIN']) AS rename_available
FROM cols c CROSS JOIN mapped LEFT JOIN sampled s USING (relid, column_name)
ORDER BY c.table_name, c.column_name;

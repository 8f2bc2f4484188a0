-- What `make plan-0001` needs to estimate each strategy: the size of every table with a column
-- of "Role" (or "Role"[]), its estimated rows and USER rows (from the planner's statistics:
-- no scan), and whether the change is still a pure rename (labels exactly USER, ADMIN).
SELECT c.table_name,
       pg_total_relation_size(c.relid)::int8 AS bytes,
       GREATEST(cl.reltuples, 0)::int8 AS rows,
       COALESCE((SELECT (s.most_common_freqs[array_position(s.most_common_vals::text::text[], 'USER')] * GREATEST(cl.reltuples, 0))::int8
                 FROM pg_stats s WHERE s.schemaname = n.nspname AND s.tablename = cl.relname AND s.attname = c.column_name), GREATEST(cl.reltuples, 0)::int8) AS user_rows,
       breaking_migrations.enum_labels('"Role"') = ARRAY['USER', 'ADMIN'] AS pure_rename
FROM breaking_migrations.enum_columns c
JOIN pg_class cl ON cl.oid = c.relid
JOIN pg_namespace n ON n.oid = cl.relnamespace
WHERE c.enum_type = to_regtype('"Role"');

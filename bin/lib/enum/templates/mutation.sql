-- The data change of migration {{id}}: {{mutation_summary}}, in every column of
-- {{type}} and every element of every {{type}}[] column, in every schema. Nothing else changes. One UPDATE
-- per column, of the rows holding a mapped label only; returns the rows each one changed.
SELECT table_name, column_name, updated
FROM breaking_migrations.map_enum_rows({{type_literal}}, row_map => {{map}});

-- The data change of migration 0001: every USER becomes EMPLOYEE, in every column of
-- "Role" and every element of every "Role"[] column, in every schema. Nothing else changes. One UPDATE
-- per column, of the rows holding a mapped label only; returns the rows each one changed.
SELECT table_name, column_name, updated
FROM breaking_migrations.map_enum_rows('"Role"', row_map => '{"USER": "EMPLOYEE"}');

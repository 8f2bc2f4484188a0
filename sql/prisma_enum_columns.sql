-- Every column of enum $1 (or of its array), in any schema, with what a Prisma migration for it
-- needs: where it is, whether it is an array, and its default as PostgreSQL prints it.
SELECT n.nspname AS schema_name, cl.relname AS table_name, c.column_name, c.is_array, c.default_expr
FROM breaking_migrations.enum_columns c
JOIN pg_class cl ON cl.oid = c.relid
JOIN pg_namespace n ON n.oid = cl.relnamespace
WHERE c.enum_type = breaking_migrations.resolve_enum($1)
ORDER BY n.nspname, cl.relname, c.attnum;

-- One scan of each table with a column of "Role" (or "Role"[]), in every schema: its rows, an
-- order-independent hash of every row's identity (primary key and NOT NULL unique columns), and
-- rows per label in each such column (arrays: elements per label, and rows holding each label).
-- One JSON value keyed by table: {"public.\"T\"": {"rows": …, "identity": …, "columns": {…}, "holding": {…}}}
SELECT breaking_migrations.enum_counts('"Role"') AS tables;

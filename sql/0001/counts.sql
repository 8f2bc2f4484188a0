-- One scan of each table that has a column of "Role" (or "Role"[]), in every schema: its rows,
-- an order-independent hash of every row's identity ("User": id and email; other tables:
-- their primary key), and rows per label in each such column (array columns: elements per
-- label, and rows holding each label). One JSON value, keyed by table, e.g.
--   {"public.\"User\"": {"rows": 200, "identity": "…", "columns": {"role": {"USER": 180, "ADMIN": 20}}, "holding": {}}}
SELECT breaking_migrations.enum_counts('"Role"') AS tables;

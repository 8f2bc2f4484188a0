-- STRATEGY=rename's stand-in for counts.sql, read before and after rename.sql in the verifier's
-- transaction. A catalog-only rename writes no row: each row keeps the label it holds (an OID
-- in pg_enum) and only that label's name changes. So instead of counting every table that uses
-- "Role" (one scan per count: the window would grow with the tables) we read what the argument
-- rests on, in the catalog and in this transaction's own statistics, without reading a row:
--   label_oids  each label of "Role" and its OID
--   tables      for every table with a column of "Role" or "Role"[]: its file (a rewrite —
--               ALTER … TYPE, TRUNCATE, VACUUM FULL — changes it), the rows this transaction
--               inserted, updated or deleted in it, and whether this transaction holds
--               lock.sql's EXCLUSIVE lock on it (nobody else writes it)
SELECT (SELECT jsonb_object_agg(enumlabel, oid::int8)::text FROM pg_enum
        WHERE enumtypid = breaking_migrations.resolve_enum('"Role"'))   AS label_oids,
       breaking_migrations.enum_table_facts('"Role"')                    AS tables;

-- Migration {{id}} (generated from {{id}}/enum.json: {{change}}).
-- STRATEGY=rename's stand-in for counts.sql, read before and after rename.sql in the verifier's
-- transaction, without reading a row: each label of {{type}} with its OID, and for every table with a
-- column of {{type}} or {{type}}[]: its file (a rewrite changes it), the rows this transaction wrote in it,
-- and whether this transaction holds lock.sql's EXCLUSIVE lock on it (nobody else writes it).
SELECT (SELECT jsonb_object_agg(enumlabel, oid::int8)::text FROM pg_enum
        WHERE enumtypid = breaking_migrations.resolve_enum({{type_literal}}))   AS label_oids,
       breaking_migrations.enum_table_facts({{type_literal}})                    AS tables;

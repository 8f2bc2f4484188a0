-- STRATEGY=rename's stand-in for counts.sql, read before and after rename.sql in the verifier's
-- transaction. A catalog-only rename writes no row: each row keeps the label it holds (an OID
-- in pg_enum) and only that label's name changes. So instead of counting "User" (one scan per
-- count, the window would grow with the table) we read what the argument rests on, in the
-- catalog and in this transaction's own statistics, without reading a row:
--   label_oids      each label of "Role" and its OID
--   filenode        "User"'s file: a rewrite (ALTER … TYPE, TRUNCATE, VACUUM FULL) changes it
--   rows_written    rows this transaction inserted, updated or deleted in "User"
--   writers_locked  this transaction holds lock.sql's EXCLUSIVE lock: nobody else writes "User"
SELECT (SELECT jsonb_object_agg(enumlabel, oid::int8)::text FROM pg_enum
        WHERE enumtypid = breaking_migrations.resolve_enum('"Role"'))                   AS label_oids,
       pg_relation_filenode('"User"')::text                                               AS filenode,
       (pg_stat_get_xact_tuples_inserted('"User"'::regclass)
        + pg_stat_get_xact_tuples_updated('"User"'::regclass)
        + pg_stat_get_xact_tuples_deleted('"User"'::regclass))::text                      AS rows_written,
       EXISTS (SELECT FROM pg_locks
               WHERE pid = pg_backend_pid() AND locktype = 'relation' AND granted
                 AND relation = '"User"'::regclass
                 AND mode IN ('ExclusiveLock', 'AccessExclusiveLock'))::text              AS writers_locked;

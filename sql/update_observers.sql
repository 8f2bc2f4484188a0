-- What would see an UPDATE of the enum's tables that a table rewrite does not give them: while
-- there is none, the default strategy folds the mapping into the contract's type swap (one
-- rewrite, no UPDATE); while there is one, it keeps the runbook's UPDATE, so that they see it
-- (bin/lib/runbook/strategy.ts). One row per observer, named for the run's log. Read-only.
-- $1 = the enum type ('"Role"').
--   triggers   enabled, not internal, firing on UPDATE (of any column: counted even when they
--              name other columns or have a WHEN, on the safe side)
--   rules      ON UPDATE rules
--   publications that publish UPDATEs of one of the tables (logical replication, CDC)
--   logical replication slots of this database (their decoders read the UPDATE from the WAL)
-- The tables include their partitions and inheritance children: an UPDATE of the parent
-- reaches them, and fires their triggers.
WITH RECURSIVE tables(relid) AS (
  SELECT a.attrelid
  FROM pg_type e
  JOIN pg_attribute a ON a.atttypid IN (e.oid, e.typarray) AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p')
  WHERE e.oid = to_regtype($1)
  UNION
  SELECT i.inhrelid FROM pg_inherits i JOIN tables t ON i.inhparent = t.relid
)
SELECT format('trigger %I on %s', tg.tgname, tg.tgrelid::regclass) AS observer
FROM pg_trigger tg JOIN tables t ON tg.tgrelid = t.relid
WHERE tg.tgenabled <> 'D' AND tg.tgtype & 16 <> 0 -- TRIGGER_TYPE_UPDATE
  -- the app's own, and their clones on partitions (internal before PostgreSQL 15); not the
  -- foreign keys' (a rewrite keeps every key as it is)
  AND (NOT tg.tgisinternal OR tg.tgparentid <> 0)
  AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.oid = tg.tgconstraint AND k.contype = 'f')
UNION ALL
SELECT format('rule %I on %s', r.rulename, r.ev_class::regclass)
FROM pg_rewrite r JOIN tables t ON r.ev_class = t.relid
WHERE r.ev_type = '2' -- ON UPDATE
UNION ALL
SELECT DISTINCT format('publication %I', p.pubname)
FROM pg_publication p JOIN pg_publication_tables pt ON pt.pubname = p.pubname
-- by name (a regclass cast would need USAGE on every published table's schema)
JOIN pg_namespace n ON n.nspname = pt.schemaname
JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
JOIN tables t ON t.relid = c.oid
WHERE p.pubupdate
UNION ALL
SELECT format('logical replication slot %I', s.slot_name)
FROM pg_replication_slots s
WHERE s.slot_type = 'logical' AND s.database = current_database()
ORDER BY 1;

-- The restore's last statement before its COMMIT, in the same transaction (bin/lib/backup/restore.ts
-- holds pg_restore's own COMMIT back and sends this instead): every table the dump's manifest counted
-- is there with exactly the rows the manifest says. Otherwise it raises, and the whole restore rolls
-- back: the database stays as it was, rather than replaced by data that is not the dump's.
-- The expected counts come as JSON, {"public.\"User\"": 1000, ...}, in the transaction's setting
-- breaking_migrations.restore_expected (set_config just before); the toolkit's live bookkeeping
-- (app_instances) is left out of it. A name is resolved with to_regclass, never pasted into SQL.
-- This file stays ASCII: it runs under the client_encoding the dump's header set.
DO $check$
DECLARE
  t record;
  rel regclass;
  n int8;
  wrong text[] := '{}';
BEGIN
  FOR t IN SELECT key AS name, value::int8 AS expected
           FROM jsonb_each_text(current_setting('breaking_migrations.restore_expected')::jsonb) ORDER BY key LOOP
    rel := to_regclass(t.name);
    IF rel IS NULL THEN
      wrong := wrong || format('%s is missing (the manifest: %s rows)', t.name, t.expected);
      CONTINUE;
    END IF;
    EXECUTE format('SELECT count(*) FROM %s', rel) INTO n;  -- as sql/table_counts.sql counted it
    IF n <> t.expected THEN
      wrong := wrong || format('%s has %s rows (the manifest: %s)', t.name, n, t.expected);
    END IF;
  END LOOP;
  IF cardinality(wrong) > 0 THEN
    RAISE EXCEPTION 'restore check: the restored data is not what the dump''s manifest counted: %',
      array_to_string(wrong, '; ');
  END IF;
END
$check$;

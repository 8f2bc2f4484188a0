-- The latest run of migration $1 that has not finished, with the detail of each step done.
-- No row: no run is open. A run is over once it has a 'finish' row: done, or failed (refused in
-- preflight, or restored by AUTO_RESTORE): the next run then starts afresh.
WITH latest AS (
  SELECT run_id FROM breaking_migrations.journal
  WHERE migration = $1
  GROUP BY run_id
  HAVING NOT bool_or(step = 'finish')
  ORDER BY max(id) DESC
  LIMIT 1
)
SELECT j.run_id,
       COALESCE(jsonb_object_agg(j.step, j.detail ORDER BY j.id) FILTER (WHERE j.event = 'done'), '{}') AS done
FROM breaking_migrations.journal j JOIN latest USING (run_id)
GROUP BY j.run_id;

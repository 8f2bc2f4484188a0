-- `make history`: every run of every migration on this database, newest first, from the journal
-- (breaking_migrations.journal): when it started and ended, its steps in order with their
-- durations, how it ended, its dump, its strategy, the rows its mutation changed, and how long
-- the site was in maintenance (from the lock's start, earlier attempts included).
WITH runs AS (
  SELECT run_id, migration, min(at) AS started,
         max(at) FILTER (WHERE NOT detail ? 'by') AS ended,   -- not a `make prisma-NNNN` run after it
         CASE WHEN bool_or(step = 'finish' AND event = 'done') THEN 'done'
              WHEN bool_or(step = 'finish' AND detail ? 'refused') THEN 'refused in preflight'
              WHEN bool_or(step = 'finish' AND detail ? 'restored') THEN 'failed, restored from its dump'
              WHEN bool_or(event = 'failed') THEN 'failed'
              ELSE 'unfinished (run it again: it resumes)' END AS result,
         (array_agg(detail ->> 'path') FILTER (WHERE step = 'dump' AND event = 'done'))[1] AS dump,
         -- an earlier release called the UPDATE 'default'
         (array_agg(regexp_replace(detail ->> 'strategy', '^default$', 'update'))
            FILTER (WHERE step = 'mutate' AND event = 'done'))[1] AS strategy,
         (array_agg(detail -> 'updated') FILTER (WHERE step = 'mutate' AND event = 'done'))[1] AS updated,
         -- a rewrite has no UPDATE row count: its rows changed come from the counts before and after
         (array_agg(detail) FILTER (WHERE step = 'mutate' AND event = 'done' AND detail ->> 'proof' = 'count'))[1]
           AS counted,
         (array_agg((detail ->> 'outageSeconds')::numeric)
            FILTER (WHERE step = 'maintenance-off' AND event = 'done'))[1] AS outage_seconds,
         (array_agg(COALESCE(detail ->> 'cause', detail ->> 'refused') ORDER BY id DESC)
            FILTER (WHERE event = 'failed' OR step = 'finish'))[1] AS cause,
         COALESCE(jsonb_agg(jsonb_build_object('step', step, 'seconds', seconds) ORDER BY id)
                  FILTER (WHERE event = 'done' AND step NOT IN ('finish', 'prisma-row')), '[]') AS steps
  FROM breaking_migrations.journal
  GROUP BY run_id, migration
)
SELECT run_id, migration, started, ended, result, dump, strategy, updated,
       counted -> 'before' AS counted_before, counted -> 'after' AS counted_after, cause, steps, outage_seconds
FROM runs
ORDER BY started DESC;

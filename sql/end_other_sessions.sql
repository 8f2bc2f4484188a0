-- The other client sessions of this database, ended when $1 is true so that they reconnect with
-- its current defaults (the write guard's read-only one, or none again). Spared: this session, the
-- toolkit's own (application_name breaking-migrations…), sessions of other databases, background
-- workers and WAL senders.
-- A role that is not a superuser sees another role's session without its backend_type (NULL), and
-- PostgreSQL lets it end that session only with that role's privileges or pg_signal_backend's, and
-- a superuser's session never: one refused pg_terminate_backend would fail the whole statement.
-- Those it may not end are not tried; they come back per role in not_ended, for the caller to say.
-- Without pg_read_all_stats, a role cannot tell another role's background workers (a parallel
-- worker, a pg_cron job) from its sessions either: they are ended, or reported, as sessions.
WITH other AS (
  SELECT a.pid, a.usename::text AS role, r.rolsuper AS superuser,
         (NOT r.rolsuper OR me.rolsuper)
           AND (pg_has_role(a.usesysid, 'USAGE') OR pg_has_role('pg_signal_backend', 'USAGE')) AS may_end
  FROM pg_stat_activity a
  JOIN pg_roles r ON r.oid = a.usesysid
  JOIN pg_roles me ON me.rolname = current_user
  WHERE a.datname = current_database()
    AND a.pid <> pg_backend_pid()
    AND COALESCE(a.backend_type, 'client backend') = 'client backend'
    AND a.pid NOT IN (SELECT w.pid FROM pg_stat_get_wal_senders() w WHERE w.pid IS NOT NULL)
    AND COALESCE(a.application_name, '') NOT LIKE 'breaking-migrations%'
)
SELECT current_user AS me,
       count(*) FILTER (WHERE CASE WHEN $1::boolean AND may_end THEN pg_terminate_backend(pid) END)::int AS ended,
       COALESCE((SELECT jsonb_agg(jsonb_build_object('role', role, 'superuser', superuser, 'sessions', n) ORDER BY role)
                 FROM (SELECT role, superuser, count(*) AS n FROM other WHERE NOT may_end GROUP BY role, superuser) x),
                '[]') AS not_ended
FROM other;

-- End the other client sessions of this database so that they reconnect with its current
-- defaults. Spared: this session, the toolkit's own (application_name breaking-migrations…),
-- sessions of other databases, and background workers.
SELECT count(*) FILTER (WHERE pg_terminate_backend(pid))::int AS ended
FROM pg_stat_activity
WHERE datname = current_database()
  AND pid <> pg_backend_pid()
  AND backend_type = 'client backend'
  AND application_name NOT LIKE 'breaking-migrations%';

-- Maintenance guard OFF: new sessions may write again. Followed by end_other_sessions.sql:
-- sessions opened during maintenance started read-only and stay so until they reconnect.
DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I RESET default_transaction_read_only', current_database());
END $$;

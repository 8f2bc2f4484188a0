-- Maintenance guard ON: new sessions of this database start read-only
-- (default_transaction_read_only = on). Followed by end_other_sessions.sql, so that open
-- sessions reconnect read-only. Limits: it is a default, not a wall: a session may
-- SET default_transaction_read_only = off, and the toolkit's own sessions do exactly that.
DO $$
BEGIN
  EXECUTE format('ALTER DATABASE %I SET default_transaction_read_only = on', current_database());
END $$;

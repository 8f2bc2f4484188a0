-- Stop concurrent writes to every table with a column of "Role" (or "Role"[]) until the mutation's
-- transaction ends; reads go on. The caller sets lock_timeout: a long transaction holding one of
-- them makes this fail fast instead of queueing every query of the site behind it.
SELECT breaking_migrations.lock_enum_tables('"Role"', 'EXCLUSIVE') AS tables_locked;

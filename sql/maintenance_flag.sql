-- The maintenance flag the app's replicas can read (nextjs/maintenance.ts, databaseProbe): one
-- row while maintenance is ON. `make maintenance-on` writes it and commits BEFORE the write guard
-- turns the database read-only, so every replica can still read it then; `maintenance-off` deletes
-- it AFTER the guard is lifted. In the toolkit's schema, outside Prisma's; readable by every role
-- (it holds when and what to tell visitors, and the operator's reason).
CREATE SCHEMA IF NOT EXISTS breaking_migrations;
CREATE TABLE IF NOT EXISTS breaking_migrations.maintenance (
  id          int         PRIMARY KEY DEFAULT 1 CHECK (id = 1),   -- at most one row: ON
  since       timestamptz NOT NULL DEFAULT now(),
  retry_after int         NOT NULL,
  message     text,                                              -- public: shown to visitors
  reason      text,                                              -- the operator's: never shown
  by_whom     text
);
GRANT USAGE ON SCHEMA breaking_migrations TO PUBLIC;
GRANT SELECT ON breaking_migrations.maintenance TO PUBLIC;

-- The runbook's journal: one row per step event of `make migrate-NNNN`, in the target database.
-- Kept in the database rather than in a file because the mutation's "done" row must commit in
-- the same transaction as the mutation itself: after a crash, the journal cannot disagree with
-- the data. Outside Prisma's schemas, like the rest of the toolkit.
CREATE SCHEMA IF NOT EXISTS breaking_migrations;

CREATE TABLE IF NOT EXISTS breaking_migrations.journal (
  id        bigserial   PRIMARY KEY,
  run_id    text        NOT NULL,              -- one run, across its resumptions
  migration text        NOT NULL,              -- '0001'
  step      text        NOT NULL,              -- preflight, maintenance-on, dump, expand, mutate, contract,
                                               -- final-checks, maintenance-off, finish
  event     text        NOT NULL CHECK (event IN ('start', 'done', 'failed')),
  at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  seconds   numeric,
  detail    jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS journal_run ON breaking_migrations.journal (migration, run_id);

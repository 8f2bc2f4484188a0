-- Migration 0001 (generated from 0001/enum.json: "Role" USER, ADMIN -> EMPLOYEE, MANAGER, ADMIN; USER -> EMPLOYEE).
-- Contract: "Role" becomes exactly EMPLOYEE, MANAGER, ADMIN; USER is gone.
-- PostgreSQL has no DROP VALUE, so this swaps the type: every column of "Role" or "Role"[] in any schema is
-- converted in one transaction (NOT NULL and indexes kept; constant defaults follow the mapping).
-- It refuses, changing nothing, when an object (view, CHECK, partial index, function, trigger,
-- policy, domain, …) would break the swap (checked in the catalog first) or a row still holds a
-- removed label (met by the rewrite, then counted and named). lock_timeout stops it from queueing
-- behind a long transaction.

-- migrate:up
SET LOCAL lock_timeout = '10s';
SELECT breaking_migrations.swap_enum(
  '"Role"',
  ARRAY['EMPLOYEE', 'MANAGER', 'ADMIN'],
  default_map => '{"USER": "EMPLOYEE"}',
  context     => 'contract 0001',
  hint        => 'Rows still holding USER: run the mutation first '
                 '(`make migrate-0001` does, or `make verify-0001`). '
                 'Objects listed: drop them before the swap and recreate them after. '
                 'Then `make contract MIGRATION=0001` again.'
);

-- migrate:down
-- Back to the expanded type: catalog only, never blocked by data.
ALTER TYPE "Role" ADD VALUE IF NOT EXISTS 'USER' BEFORE 'EMPLOYEE';

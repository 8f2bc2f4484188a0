-- 0001 contract: "Role" becomes exactly EMPLOYEE, MANAGER, ADMIN; USER is gone.
-- PostgreSQL has no DROP VALUE, so this swaps the type: every column of "Role" or "Role"[] in
-- any schema is converted in one transaction (NOT NULL and indexes kept; DEFAULT 'USER' becomes
-- DEFAULT 'EMPLOYEE'). It first checks the catalog and the data and refuses, changing nothing,
-- when a row still holds USER or an object (view, CHECK, partial index, function, trigger,
-- policy, domain, ...) would break the swap. The rewrite takes an ACCESS EXCLUSIVE lock on each
-- table; lock_timeout stops it from queueing behind a long transaction and blocking the site.

-- migrate:up
SET LOCAL lock_timeout = '10s';
SELECT breaking_migrations.swap_enum(
  '"Role"',
  ARRAY['EMPLOYEE', 'MANAGER', 'ADMIN'],
  default_map => '{"USER": "EMPLOYEE"}',
  context     => 'contract 0001'
);

-- migrate:down
-- Back to the expanded type. Catalog-only and never blocked by data: the expanded type has
-- every label the contracted one has.
ALTER TYPE "Role" ADD VALUE IF NOT EXISTS 'USER' BEFORE 'EMPLOYEE';

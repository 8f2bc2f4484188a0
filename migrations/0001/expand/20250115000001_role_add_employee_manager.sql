-- Migration 0001 (generated from 0001/enum.json: "Role" USER, ADMIN -> EMPLOYEE, MANAGER, ADMIN; USER -> EMPLOYEE).
-- Expand: "Role" gets EMPLOYEE, MANAGER, so that old and new labels coexist.
-- Additive only: old code keeps working; new labels are usable once this has committed (PostgreSQL
-- refuses to use a label in the transaction that added it). Idempotent (IF NOT EXISTS).

-- migrate:up
DO $$
DECLARE
  labels text[] := breaking_migrations.enum_labels('"Role"');
BEGIN
  IF NOT labels <@ ARRAY['USER', 'ADMIN', 'EMPLOYEE', 'MANAGER'] OR NOT ARRAY['ADMIN']::text[] <@ labels THEN
    RAISE EXCEPTION 'expand 0001: "Role" has labels % where USER, ADMIN '
                    '(or a state migration 0001 left) was expected', labels
      USING HINT = 'This database is not in the state migration 0001 starts from; '
                   'check `make status MIGRATION=0001`.';
  END IF;
END $$;

ALTER TYPE "Role" ADD VALUE IF NOT EXISTS 'EMPLOYEE' BEFORE 'ADMIN';
ALTER TYPE "Role" ADD VALUE IF NOT EXISTS 'MANAGER' BEFORE 'ADMIN';

-- migrate:down
-- Back to USER, ADMIN.
-- Refuses (and changes nothing) while any row holds EMPLOYEE or MANAGER.
SET LOCAL lock_timeout = '10s';
SELECT breaking_migrations.swap_enum(
  '"Role"',
  ARRAY['USER', 'ADMIN'],
  default_map => '{"EMPLOYEE": "USER"}',
  context     => 'rollback of expand 0001'
);

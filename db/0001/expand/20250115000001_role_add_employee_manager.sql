-- 0001 expand: "Role" goes from USER, ADMIN to USER, EMPLOYEE, MANAGER, ADMIN.
-- Additive only: old code keeps working, new code may start writing the new labels once this
-- has committed (PostgreSQL refuses to use a label in the transaction that added it).
-- Idempotent: IF NOT EXISTS turns a second run into a NOTICE.

-- migrate:up
DO $$
DECLARE
  labels text[] := breaking_migrations.enum_labels('"Role"');
BEGIN
  IF NOT labels <@ ARRAY['USER', 'EMPLOYEE', 'MANAGER', 'ADMIN'] OR NOT 'ADMIN' = ANY (labels) THEN
    RAISE EXCEPTION 'expand 0001: "Role" has labels % where USER, ADMIN (or a subset of USER, EMPLOYEE, MANAGER, ADMIN) was expected', labels
      USING HINT = 'This database is not in the state migration 0001 starts from; check `make status`.';
  END IF;
END $$;

ALTER TYPE "Role" ADD VALUE IF NOT EXISTS 'EMPLOYEE' BEFORE 'ADMIN';
ALTER TYPE "Role" ADD VALUE IF NOT EXISTS 'MANAGER' BEFORE 'ADMIN';

-- migrate:down
-- Back to USER, ADMIN. Refuses (and changes nothing) while any row holds EMPLOYEE or MANAGER.
-- A column default of 'EMPLOYEE' goes back to 'USER' (the reverse of the contract's carry-over).
SET LOCAL lock_timeout = '10s';
SELECT breaking_migrations.swap_enum(
  '"Role"',
  ARRAY['USER', 'ADMIN'],
  default_map => '{"EMPLOYEE": "USER"}',
  context     => 'rollback of expand 0001'
);

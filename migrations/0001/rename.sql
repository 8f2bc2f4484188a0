-- STRATEGY=rename: USER is renamed EMPLOYEE in the catalog (every row holding it now
-- reads the new name: same label, new name), then MANAGER is added.
-- No row is written, no table is rewritten: the time does not grow with the tables. Only valid
-- from exactly USER, ADMIN, or USER, MANAGER, ADMIN as its way back (rename_inverse.sql) leaves it;
-- anything else is refused here, before any change (the runner also tries this file in preflight).
DO $$
DECLARE labels text[] := breaking_migrations.enum_labels('"Role"');
BEGIN
  IF labels IS DISTINCT FROM ARRAY['USER', 'ADMIN']
     AND labels IS DISTINCT FROM ARRAY['USER', 'MANAGER', 'ADMIN'] THEN
    RAISE EXCEPTION 'rename 0001: "Role" has labels %, not USER, ADMIN: '
                    'the change is not a pure rename from here', labels
      USING HINT = 'Use the default strategy (STRATEGY unset), which handles every state.';
  END IF;
END $$;
ALTER TYPE "Role" RENAME VALUE 'USER' TO 'EMPLOYEE';
ALTER TYPE "Role" ADD VALUE IF NOT EXISTS 'MANAGER' BEFORE 'ADMIN';

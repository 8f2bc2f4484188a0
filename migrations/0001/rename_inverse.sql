-- Migration 0001 (generated from 0001/enum.json: "Role" USER, ADMIN -> EMPLOYEE, MANAGER, ADMIN; USER -> EMPLOYEE).
-- The way back from STRATEGY=rename (`make rollback` after a rename run): EMPLOYEE is renamed USER in the
-- catalog, so every row reads its old name again (same label OID, old name). MANAGER stays
-- in the type, unused: PostgreSQL drops a label only by rewriting every table of the type, and
-- USER, ADMIN has no label for a row holding it, so such rows are refused here, named.
-- No row is written, no table is rewritten. Runs in the verifier's transaction, after lock.sql,
-- between rename_facts.sql before and after; rename_inverse_invariants.sql proves it. Only valid
-- from exactly EMPLOYEE, MANAGER, ADMIN, the state STRATEGY=rename leaves; anything else changes nothing.
DO $$
DECLARE labels text[] := breaking_migrations.enum_labels('"Role"');
BEGIN
  IF labels IS DISTINCT FROM ARRAY['EMPLOYEE', 'MANAGER', 'ADMIN'] THEN
    RAISE EXCEPTION 'rollback 0001: "Role" has labels %, not EMPLOYEE, MANAGER, ADMIN as STRATEGY=rename '
                    'leaves it; nothing changed', labels
      USING HINT = 'Check the state with `make status MIGRATION=0001`.';
  END IF;
END $$;
-- One count per column of "Role" (tables are locked: nobody adds such a row meanwhile).
DO $$
DECLARE held text := (SELECT string_agg(problem, '; ')
                      FROM breaking_migrations.enum_blockers('"Role"', ARRAY['EMPLOYEE', 'ADMIN'])
                      WHERE kind = 'data');
BEGIN
  IF held IS NOT NULL THEN
    RAISE EXCEPTION 'rollback 0001: %, and USER, ADMIN has no label for MANAGER; nothing changed', held
      USING HINT = 'Give those rows a label of USER, ADMIN, then `make rollback MIGRATION=0001` again.';
  END IF;
END $$;
ALTER TYPE "Role" RENAME VALUE 'EMPLOYEE' TO 'USER';

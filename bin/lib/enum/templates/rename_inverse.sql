-- Migration {{id}} (generated from {{id}}/enum.json: {{change}}).
-- The way back from STRATEGY=rename (`make rollback` after a rename run): {{rename_summary}} in the
-- catalog, so every row reads its old name again (same label OID, old name). {{new_list}} stays
-- in the type, unused: PostgreSQL drops a label only by rewriting every table of the type, and
-- {{from_list}} has no label for a row holding it, so such rows are refused here, named.
-- No row is written, no table is rewritten. Runs in the verifier's transaction, after lock.sql,
-- between rename_facts.sql before and after; rename_inverse_invariants.sql proves it. Only valid
-- from exactly {{to_list}}, the state STRATEGY=rename leaves; anything else changes nothing.
DO $$
DECLARE labels text[] := breaking_migrations.enum_labels({{type_literal}});
BEGIN
  IF labels IS DISTINCT FROM {{to_labels}} THEN
    RAISE EXCEPTION 'rollback {{id}}: {{type_in_text}} has labels %, not {{to_list}} as STRATEGY=rename '
                    'leaves it; nothing changed', labels
      USING HINT = 'Check the state with `make status MIGRATION={{id}}`.';
  END IF;
END $$;
-- One count per column of {{type}} (tables are locked: nobody adds such a row meanwhile).
DO $$
DECLARE held text := (SELECT string_agg(problem, '; ')
                      FROM breaking_migrations.enum_blockers({{type_literal}}, {{kept_labels}})
                      WHERE kind = 'data');
BEGIN
  IF held IS NOT NULL THEN
    RAISE EXCEPTION 'rollback {{id}}: %, and {{from_list}} has no label for {{new_or}}; nothing changed', held
      USING HINT = 'Give those rows a label of {{from_list}}, then `make rollback MIGRATION={{id}}` again.';
  END IF;
END $$;
{{rename_values}}

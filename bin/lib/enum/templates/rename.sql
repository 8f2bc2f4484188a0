-- STRATEGY=rename: {{rename_summary}} in the catalog (every row holding it now
-- reads the new name: same label, new name){{then_added}}.
-- No row is written, no table is rewritten: the time does not grow with the tables. Only valid
-- from exactly {{from_list}}, or {{inverse_text}} as its way back (rename_inverse.sql) leaves it;
-- anything else is refused here, before any change (the runner also tries this file in preflight).
DO $$
DECLARE labels text[] := breaking_migrations.enum_labels({{type_literal}});
BEGIN
  IF labels IS DISTINCT FROM {{from_labels}}
     AND labels IS DISTINCT FROM {{inverse_labels}} THEN
    RAISE EXCEPTION 'rename {{id}}: {{type_in_text}} has labels %, not {{from_list}}: '
                    'the change is not a pure rename from here', labels
      USING HINT = 'Use the default strategy (STRATEGY unset), which handles every state.';
  END IF;
END $$;
{{rename_values}}
{{add_values}}

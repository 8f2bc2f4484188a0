-- Migration {{id}} (generated from {{id}}/enum.json: {{change}}).
-- Expand: {{type}} gets {{added_list}}, so that old and new labels coexist.
-- Additive only: old code keeps working; new labels are usable once this has committed (PostgreSQL
-- refuses to use a label in the transaction that added it). Idempotent (IF NOT EXISTS).

-- migrate:up
DO $$
DECLARE
  labels text[] := breaking_migrations.enum_labels({{type_literal}});
BEGIN
  IF NOT labels <@ {{all_labels}} OR NOT {{kept_labels}}::text[] <@ labels THEN
    RAISE EXCEPTION 'expand {{id}}: {{type_in_text}} has labels % where {{from_list}} '
                    '(or a state migration {{id}} left) was expected', labels
      USING HINT = 'This database is not in the state migration {{id}} starts from; '
                   'check `make status MIGRATION={{id}}`.';
  END IF;
END $$;

{{add_values}}

-- migrate:down
-- Back to {{from_list}}.
-- Refuses (and changes nothing) while any row holds {{added_or}}.
SET LOCAL lock_timeout = '10s';
SELECT breaking_migrations.swap_enum(
  {{type_literal}},
  {{from_labels}},
  default_map => {{reverse_map}},
  context     => 'rollback of expand {{id}}'
);

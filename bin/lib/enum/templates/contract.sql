-- Migration {{id}} (generated from {{id}}/enum.json: {{change}}).
-- Contract: {{type}} becomes exactly {{to_list}}{{gone}}.
-- PostgreSQL has no DROP VALUE, so this swaps the type: every column of {{type}} or {{type}}[] in any schema is
-- converted in one transaction (NOT NULL and indexes kept; constant defaults follow the mapping).
-- It refuses, changing nothing, when an object (view, CHECK, partial index, function, trigger,
-- policy, domain, …) would break the swap (checked in the catalog first) or a row still holds a
-- removed label (met by the rewrite, then counted and named). lock_timeout stops it from queueing
-- behind a long transaction.

-- migrate:up
SET LOCAL lock_timeout = '10s';
SELECT breaking_migrations.swap_enum(
  {{type_literal}},
  {{to_labels}},
  default_map => {{map}},
  context     => 'contract {{id}}',
  hint        => 'Rows still holding {{removed_or}}: run the mutation first '
                 '(`make migrate-{{id}}` does, or `make verify-{{id}}`). '
                 'Objects listed: drop them before the swap and recreate them after. '
                 'Then `make contract MIGRATION={{id}}` again.'
);

-- migrate:down
-- Back to the expanded type: catalog only, never blocked by data.
{{restore_removed}}

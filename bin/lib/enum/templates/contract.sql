-- Migration {{id}} (generated from {{id}}/enum.json: {{change}}).
-- Contract: {{type}} becomes exactly {{to_list}}{{gone}}.
-- PostgreSQL has no DROP VALUE, so this swaps the type: every column of {{type}} or {{type}}[] in any schema is
-- converted in one transaction (NOT NULL and indexes kept; constant defaults follow the mapping).
-- It first checks the catalog and the data and refuses, changing nothing, when a row still holds
-- a removed label or an object (view, CHECK, partial index, function, trigger, policy, domain, …)
-- would break the swap. lock_timeout stops it from queueing behind a long transaction.

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

-- STRATEGY=rewrite: the mutation folded into the contract's type swap. One table rewrite maps the
-- labels (USING CASE …) instead of an UPDATE followed by a rewrite. Runs inside the verifier's
-- transaction, between its two counts; the expand step has committed before it.
SELECT breaking_migrations.swap_enum(
  '"Role"',
  ARRAY['EMPLOYEE', 'MANAGER', 'ADMIN'],
  default_map => '{"USER": "EMPLOYEE"}',
  row_map     => '{"USER": "EMPLOYEE"}',
  context     => 'rewrite 0001'
);

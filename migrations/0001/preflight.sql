-- Would migration 0001 fail later? One row per reason; no row means go. Runs before maintenance
-- mode, with the toolkit's functions loaded, in a transaction that is rolled back.
-- Rows holding a label the mutation maps are not a problem (it maps them); rows holding a label
-- removed without a mapping are, and so is any object that would break the contract's swap.
WITH labels AS (SELECT breaking_migrations.enum_labels('"Role"') AS l)
SELECT format('"Role" has labels %s; migration 0001 starts from USER, ADMIN (or a state it left)', l)
       AS problem
FROM labels
WHERE NOT l <@ ARRAY['USER', 'ADMIN', 'EMPLOYEE', 'MANAGER'] OR NOT ARRAY['ADMIN']::text[] <@ l
UNION ALL
SELECT 'the contract would be refused: ' || problem
FROM breaking_migrations.enum_blockers('"Role"', ARRAY['EMPLOYEE', 'MANAGER', 'ADMIN'],
                                       default_map => '{"USER": "EMPLOYEE"}', row_map => '{"USER": "EMPLOYEE"}');

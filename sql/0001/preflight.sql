-- Would migration 0001 fail later? One row per reason; no row means go.
-- Runs before maintenance mode, with the toolkit's functions loaded, in a transaction that is
-- rolled back: it changes nothing. Data rows holding USER are not a problem here (the mutation
-- maps them), so the contract's check runs with USER mapped to EMPLOYEE.
WITH labels AS (SELECT breaking_migrations.enum_labels('"Role"') AS l)
SELECT format('"Role" has labels %s; migration 0001 starts from USER, ADMIN (or a state it left)', l) AS problem
FROM labels
WHERE NOT l <@ ARRAY['USER', 'EMPLOYEE', 'MANAGER', 'ADMIN'] OR NOT 'ADMIN' = ANY (l)
UNION ALL
SELECT 'the contract would be refused: ' || problem
FROM breaking_migrations.enum_blockers('"Role"', ARRAY['EMPLOYEE', 'MANAGER', 'ADMIN'],
                                        default_map => '{"USER": "EMPLOYEE"}', row_map => '{"USER": "EMPLOYEE"}');

-- Would migration {{id}} fail later? One row per reason; no row means go. Runs before maintenance
-- mode, with the toolkit's functions loaded, in a transaction that is rolled back.
-- Rows holding a label the mutation maps are not a problem (it maps them); rows holding a label
-- removed without a mapping are, and so is any object that would break the contract's swap.
WITH labels AS (SELECT breaking_migrations.enum_labels({{type_literal}}) AS l)
SELECT format('{{type_in_text}} has labels %s; migration {{id}} starts from {{from_list}} (or a state it left)', l)
       AS problem
FROM labels
WHERE NOT l <@ {{all_labels}} OR NOT {{kept_labels}}::text[] <@ l
UNION ALL
SELECT 'the contract would be refused: ' || problem
FROM breaking_migrations.enum_blockers({{type_literal}}, {{to_labels}},
                                       default_map => {{map}}, row_map => {{map}});

-- What `make status` shows besides dbmate's list: the labels of "Role" in order, and for every
-- column of "Role" or "Role"[] in any schema, its rows per label (array columns: elements per
-- label). One scan per table (breaking_migrations.enum_counts); runs with the toolkit's
-- functions loaded in a transaction that is rolled back, so it changes nothing.
SELECT (SELECT array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = to_regtype('"Role"')) AS labels,
       CASE WHEN to_regtype('"Role"') IS NOT NULL THEN breaking_migrations.enum_counts('"Role"') END AS tables;

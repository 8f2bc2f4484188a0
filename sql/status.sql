-- What `make status` shows besides dbmate's list: the enum's labels in order, and rows per
-- label (one scan of "User").
WITH counts AS (
  SELECT role::text AS label, count(*) AS n FROM "User" GROUP BY role
)
SELECT e.enumsortorder::float8 AS position, e.enumlabel::text AS label, COALESCE(c.n, 0)::int8 AS rows
FROM pg_enum e
LEFT JOIN counts c ON c.label = e.enumlabel
WHERE e.enumtypid = to_regtype('"Role"')
ORDER BY e.enumsortorder;

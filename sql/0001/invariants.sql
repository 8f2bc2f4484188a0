-- The runbook's checks, as data: each row is one check with its expected and actual value.
-- $1 = counts before the mutation, $2 = counts after (both counts.sql rows, as JSON),
-- $3 = rows the mutation updated, NULL for the strategies that relabel without updating rows
-- (rewrite, rename: the other checks verify their outcome). Any row where expected <> actual
-- rolls the mutation back.
WITH b AS (SELECT * FROM jsonb_to_record($1::jsonb) AS x(total int8, "USER" int8, "EMPLOYEE" int8, "MANAGER" int8, "ADMIN" int8, identity text)),
     a AS (SELECT * FROM jsonb_to_record($2::jsonb) AS x(total int8, "USER" int8, "EMPLOYEE" int8, "MANAGER" int8, "ADMIN" int8, identity text))
SELECT c.name AS check, c.expected::text AS expected, c.actual::text AS actual
FROM a, b, LATERAL (VALUES
  ('no USER left',                                     '0',                            a."USER"::text),
  ('EMPLOYEE after = EMPLOYEE before + USER before',   (b."EMPLOYEE" + b."USER")::text, a."EMPLOYEE"::text),
  ('rows updated = USER before',                       b."USER"::text,                 COALESCE($3::text, b."USER"::text)),
  ('ADMIN unchanged',                                  b."ADMIN"::text,                a."ADMIN"::text),
  ('MANAGER unchanged',                                b."MANAGER"::text,              a."MANAGER"::text),
  ('total unchanged',                                  b.total::text,                  a.total::text),
  ('(id, email) unchanged',                            b.identity,                     a.identity)
) AS c(name, expected, actual);

-- One scan of "User": rows in all and per role, and an order-independent hash of every
-- (id, email) pair, which the mutation must not change. The scan groups rows by the label they
-- store and names each group once (measured: a third cheaper than turning every row's label
-- into text for count(*) FILTER). A label that does not exist (yet, or any more) counts 0.
WITH per_label AS (
  SELECT role::text                                     AS label,
         count(*)                                       AS n,
         sum(hashtextextended(id || ' ' || email, 0))   AS identity
  FROM "User"
  GROUP BY role
)
SELECT COALESCE(sum(n), 0)::int8                                      AS total,
       COALESCE(sum(n) FILTER (WHERE label = 'USER'), 0)::int8        AS "USER",
       COALESCE(sum(n) FILTER (WHERE label = 'EMPLOYEE'), 0)::int8    AS "EMPLOYEE",
       COALESCE(sum(n) FILTER (WHERE label = 'MANAGER'), 0)::int8     AS "MANAGER",
       COALESCE(sum(n) FILTER (WHERE label = 'ADMIN'), 0)::int8       AS "ADMIN",
       COALESCE(sum(identity), 0)::text                               AS identity
FROM per_label;

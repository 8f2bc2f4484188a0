-- One scan of "User": rows in all and per role, and an order-independent hash of every
-- (id, email) pair, which the mutation must not change. Comparing labels as text works
-- before and after the contract (a label that no longer exists simply counts 0).
SELECT count(*)                                                       AS total,
       count(*) FILTER (WHERE role::text = 'USER')                    AS "USER",
       count(*) FILTER (WHERE role::text = 'EMPLOYEE')                AS "EMPLOYEE",
       count(*) FILTER (WHERE role::text = 'MANAGER')                 AS "MANAGER",
       count(*) FILTER (WHERE role::text = 'ADMIN')                   AS "ADMIN",
       COALESCE(sum(hashtextextended(id || ' ' || email, 0)::numeric), 0)::text AS identity
FROM "User";

-- Realistic fake users, set-based so that a million rows take seconds: about 90% USER and
-- 10% ADMIN (a deterministic hash of the row number picks the role), unique e-mails, ids shaped
-- like Prisma's nanoid/cuid ids. Appends after the rows already there.
-- Parameter: $1 = number of rows to add.
WITH start AS (SELECT count(*) AS n FROM "User"),
names(first, last) AS (
  SELECT ARRAY['alice','bruno','chloe','david','emma','farid','grace','hugo',
               'ines','jules','karim','lea','marc','nina','oscar','paul'],
         ARRAY['martin','bernard','dubois','thomas','robert','richard',
               'petit','durand','leroy','moreau','simon','laurent']
)
INSERT INTO "User" ("id", "email", "role")
SELECT
  'c' || substr(md5('user-' || i), 1, 24),
  names.first[1 + i % 16] || '.' || names.last[1 + (i / 16) % 12] || '.' || i || '@example.com',
  (CASE WHEN abs(hashint8(i)) % 10 = 0 THEN 'ADMIN' ELSE 'USER' END)::"Role"
FROM start, names, generate_series(start.n + 1, start.n + $1::bigint) AS i;

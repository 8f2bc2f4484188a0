-- The bare SQL floor of the fold (STRATEGY=rewrite, what a run takes with STRATEGY unset when nothing
-- sees an UPDATE): one type swap with the mapping in its USING clause, as a DBA would write it, and
-- nothing else (no expand, no lock file, no dump, no counts, no checks). bench.ts runs each part
-- through psql and times it, on its own copy of the database.

-- part: rewrite
BEGIN;
ALTER TYPE "Role" RENAME TO "Role_old";
CREATE TYPE "Role" AS ENUM ('EMPLOYEE', 'MANAGER', 'ADMIN');
ALTER TABLE "User" ALTER COLUMN role TYPE "Role"
  USING (CASE role::text WHEN 'USER' THEN 'EMPLOYEE' ELSE role::text END)::"Role";
DROP TYPE "Role_old";
COMMIT;

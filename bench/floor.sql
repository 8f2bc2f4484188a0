-- The bare SQL floor of migration 0001: the runbook's statements and nothing else (no lock
-- file, no dump, no counts, no checks). bench.ts runs each part through psql and times it.

-- part: expand
ALTER TYPE "Role" ADD VALUE 'EMPLOYEE' BEFORE 'ADMIN';
ALTER TYPE "Role" ADD VALUE 'MANAGER' BEFORE 'ADMIN';

-- part: mutate
UPDATE "User" SET role = 'EMPLOYEE' WHERE role = 'USER';

-- part: contract
BEGIN;
ALTER TYPE "Role" RENAME TO "Role_old";
CREATE TYPE "Role" AS ENUM ('EMPLOYEE', 'MANAGER', 'ADMIN');
ALTER TABLE "User" ALTER COLUMN role TYPE "Role" USING role::text::"Role";
DROP TYPE "Role_old";
COMMIT;

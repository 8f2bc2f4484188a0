-- The "before" schema, as Prisma Migrate creates it for the user's first model:
--   model User { id String @id; email String @unique; role Role }   enum Role { USER ADMIN }
-- For the sandbox, the tests and the demo only: a production database already has "User"
-- (made by Prisma), and this file refuses to run there.

-- migrate:up
DO $$
BEGIN
  IF to_regclass('"User"') IS NOT NULL OR to_regtype('"Role"') IS NOT NULL THEN
    RAISE EXCEPTION 'baseline: "User" or "Role" already exists in this database'
      USING HINT = 'The baseline is for empty sandbox databases; apply only the migration itself (make expand).';
  END IF;
END $$;

CREATE TYPE "Role" AS ENUM ('USER', 'ADMIN');

CREATE TABLE "User" (
    "id"    TEXT   NOT NULL,
    "email" TEXT   NOT NULL,
    "role"  "Role" NOT NULL,
    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- migrate:down
DROP TABLE "User";
DROP TYPE "Role";

// A database shaped like a real Prisma app's, as `prisma migrate deploy` leaves it: uuid ids
// (gen_random_uuid()), timestamps, foreign keys to "User" with ON UPDATE CASCADE, a second enum,
// and "Role" reused across models: "User".role, "Invite".role (DEFAULT 'USER', rows holding
// USER) and "Team".roles ("Role"[]), plus _prisma_migrations with a row for the init migration.
import type { Test } from 'tap';
import { query, testDatabase } from './database.js';
import type { Target } from '../../bin/lib/connection/target.js';
import { checksumOf } from '../../bin/prisma.js';

export const INIT_NAME = '20250101000000_init';

/** Prisma's own DDL for its history table (prisma-engines, schema-engine's postgres connector). */
export const PRISMA_MIGRATIONS_DDL = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
);`;

/** The init migration as Prisma writes it for the app's schema.prisma (schema-qualified by search_path). */
export const INIT_MIGRATION = `-- CreateEnum
CREATE TYPE "Role" AS ENUM ('USER', 'ADMIN');

-- CreateEnum
CREATE TYPE "InviteStatus" AS ENUM ('PENDING', 'ACCEPTED', 'EXPIRED');

-- CreateTable
CREATE TABLE "User" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "email" TEXT NOT NULL,
    "name" TEXT,
    "role" "Role" NOT NULL DEFAULT 'USER',
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Invite" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "email" TEXT NOT NULL,
    "role" "Role" NOT NULL DEFAULT 'USER',
    "status" "InviteStatus" NOT NULL DEFAULT 'PENDING',
    "invitedById" UUID NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Invite_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Team" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "name" TEXT NOT NULL,
    "roles" "Role"[],

    CONSTRAINT "Team_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Post" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "title" TEXT NOT NULL,
    "authorId" UUID NOT NULL,
    "teamId" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Post_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "User_email_key" ON "User"("email");

-- CreateIndex
CREATE UNIQUE INDEX "Invite_email_key" ON "Invite"("email");

-- AddForeignKey
ALTER TABLE "Invite" ADD CONSTRAINT "Invite_invitedById_fkey" FOREIGN KEY ("invitedById") REFERENCES "User"("id") \
ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Post" ADD CONSTRAINT "Post_authorId_fkey" FOREIGN KEY ("authorId") REFERENCES "User"("id") \
ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Post" ADD CONSTRAINT "Post_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES "Team"("id") \
ON DELETE SET NULL ON UPDATE CASCADE;
`;

/** Realistic rows: `users` users (90% USER), 450 invites holding USER, teams with role arrays, posts. */
export const PRISMA_SEED = `
INSERT INTO "User" ("email", "name", "role", "updatedAt")
SELECT 'user' || i || '@example.com', CASE WHEN i % 7 = 0 THEN NULL ELSE 'User ' || i END,
       (CASE WHEN i % 10 = 0 THEN 'ADMIN' ELSE 'USER' END)::"Role", now() - i * interval '1 minute'
FROM generate_series(1, $1::int) i;
INSERT INTO "Invite" ("email", "role", "status", "invitedById")
SELECT 'invitee' || i || '@example.com', (CASE WHEN i <= 450 THEN 'USER' ELSE 'ADMIN' END)::"Role",
       (ARRAY['PENDING', 'ACCEPTED', 'EXPIRED'])[1 + i % 3]::"InviteStatus",
       (SELECT id FROM "User" ORDER BY email LIMIT 1 OFFSET i % $1::int)
FROM generate_series(1, 500) i;
INSERT INTO "Team" ("name", "roles")
SELECT 'team ' || i, CASE i % 4 WHEN 0 THEN ARRAY['USER', 'ADMIN']::"Role"[] WHEN 1 THEN ARRAY['USER', 'USER']::"Role"[]
                            WHEN 2 THEN ARRAY['ADMIN']::"Role"[] ELSE NULL END
FROM generate_series(1, 40) i;
INSERT INTO "Post" ("title", "authorId", "teamId")
SELECT 'post ' || i, (SELECT id FROM "User" ORDER BY email LIMIT 1 OFFSET i % $1::int),
       (SELECT id FROM "Team" ORDER BY name LIMIT 1 OFFSET i % 40)
FROM generate_series(1, 300) i;
`;

/** A fresh database with the Prisma-shaped app in `schema` (default public) and its history. */
export async function prismaDatabase(t: Test, opts: { users?: number; schema?: string } = {}): Promise<Target> {
  const db = await testDatabase(t);
  const app = opts.schema ? { ...db, schema: opts.schema } : db;
  if (opts.schema) await query(db, `CREATE SCHEMA "${opts.schema}"`);
  await query(app, `${PRISMA_MIGRATIONS_DDL}\n${INIT_MIGRATION}`);
  await query(
    app,
    `INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
                    VALUES (gen_random_uuid()::text, $1, now(), $2, 1)`,
    [checksumOf(INIT_MIGRATION), INIT_NAME],
  );
  for (const statement of PRISMA_SEED.split(';')
    .map((s) => s.trim())
    .filter(Boolean))
    await query(app, statement, statement.includes('$1') ? [opts.users ?? 2000] : []);
  return app;
}

/** Rows per label of every column of "Role" (arrays: per element), by "table.column". */
export async function roleColumns(db: Target): Promise<Record<string, Record<string, number>>> {
  const rows = await query<{ col: string; label: string; n: string }>(
    db,
    `
    SELECT 'User.role' AS col, role::text AS label, count(*) AS n FROM "User" GROUP BY 2
    UNION ALL SELECT 'Invite.role', role::text, count(*) FROM "Invite" GROUP BY 2
    UNION ALL SELECT 'Team.roles', e::text, count(*) FROM "Team", unnest(roles) e GROUP BY 2`,
  );
  const out: Record<string, Record<string, number>> = {};
  for (const r of rows) {
    out[r.col] ??= {};
    out[r.col][r.label] = Number(r.n);
  }
  return out;
}

/** A checksum of a table's rows with the enum columns left out: what the migration must not touch. */
export async function checksumWithout(db: Target, table: string, leaveOut: string[]): Promise<string> {
  const cols = await query<{ c: string }>(
    db,
    `SELECT quote_ident(attname) AS c FROM pg_attribute
    WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attname <> ALL ($2) ORDER BY attnum`,
    [table, leaveOut],
  );
  const list = cols.map((c) => c.c).join(', ');
  const [r] = await query<{ sum: string }>(
    db,
    `SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, ',' ORDER BY x::text)), '') AS sum
    FROM (SELECT ${list} FROM ${table}) x`,
  );
  return r.sum;
}

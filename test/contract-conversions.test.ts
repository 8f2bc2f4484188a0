// The contract converts every use of "Role" in the database, not only "User".role.
import t from 'tap';
import { schema } from '../bin/schema.js';
import { enumLabels, identityChecksum, query, seededDatabase } from './helpers/database.js';

t.test('defaults, indexes, other tables, other schemas and arrays are all converted', async (t) => {
  const url = await seededDatabase(t, 300);
  await query(
    url,
    `
    ALTER TABLE "User" ALTER COLUMN role SET DEFAULT 'USER';          -- Prisma's @default(USER)
    CREATE INDEX "User_role_idx" ON "User" (role);
    CREATE SCHEMA audit;
    CREATE TABLE audit."Invite" (
      id serial PRIMARY KEY,
      role "Role" NOT NULL DEFAULT 'ADMIN',                            -- another default, kept
      granted "Role"[] NOT NULL DEFAULT '{USER,ADMIN}',                -- an array default, mapped
      previous "Role"                                                  -- nullable, stays nullable
    );
    CREATE UNIQUE INDEX "Invite_role_granted" ON audit."Invite" (role, granted);
    INSERT INTO audit."Invite" (role, granted, previous) VALUES
      ('ADMIN', '{ADMIN}', NULL), ('ADMIN', '{}', 'ADMIN'), ('USER', '{USER,ADMIN}', 'USER');
  `,
  );
  await schema(url, 'expand');
  await query(
    url,
    `
    UPDATE "User" SET role = 'EMPLOYEE' WHERE role = 'USER';
    UPDATE audit."Invite" SET role = 'EMPLOYEE' WHERE role = 'USER';
    UPDATE audit."Invite" SET previous = 'EMPLOYEE' WHERE previous = 'USER';
    UPDATE audit."Invite" SET granted = array_replace(granted, 'USER', 'EMPLOYEE');
  `,
  );
  const identity = await identityChecksum(url);
  await schema(url, 'contract');

  t.same(await enumLabels(url), ['EMPLOYEE', 'MANAGER', 'ADMIN']);
  const cols = await query(
    url,
    `
    SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
      pg_get_expr(d.adbin, d.adrelid) AS def
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relname IN ('User', 'Invite') AND a.attname IN ('role', 'granted', 'previous') ORDER BY 1, 2`,
  );
  t.same(cols, [
    { relname: 'Invite', attname: 'granted', type: '"Role"[]', attnotnull: true, def: `'{EMPLOYEE,ADMIN}'::"Role"[]` },
    { relname: 'Invite', attname: 'previous', type: '"Role"', attnotnull: false, def: null },
    { relname: 'Invite', attname: 'role', type: '"Role"', attnotnull: true, def: `'ADMIN'::"Role"` },
    { relname: 'User', attname: 'role', type: '"Role"', attnotnull: true, def: `'EMPLOYEE'::"Role"` },
  ]);
  t.same(
    (
      await query(
        url,
        `SELECT indexname FROM pg_indexes WHERE indexname IN ('User_role_idx', 'Invite_role_granted') ORDER BY 1`,
      )
    ).map((r) => r.indexname),
    ['Invite_role_granted', 'User_role_idx'],
    'indexes kept',
  );
  t.same(
    await query(
      url,
      `SELECT bool_and(indisvalid AND indisready) AS ok FROM pg_index
                            WHERE indexrelid IN ('"User_role_idx"'::regclass, 'audit."Invite_role_granted"'::regclass)`,
    ),
    [{ ok: true }],
    'rebuilt indexes are valid',
  );
  t.same(await query(url, `SELECT role::text, granted::text[], previous::text FROM audit."Invite" ORDER BY id`), [
    { role: 'ADMIN', granted: ['ADMIN'], previous: null },
    { role: 'ADMIN', granted: [], previous: 'ADMIN' },
    { role: 'EMPLOYEE', granted: ['EMPLOYEE', 'ADMIN'], previous: 'EMPLOYEE' },
  ]);
  t.equal(await identityChecksum(url), identity);
  // The new default works: an insert without a role gets EMPLOYEE.
  await query(url, `INSERT INTO "User" (id, email) VALUES ('new', 'new@example.com')`);
  t.same(await query(url, `SELECT role::text FROM "User" WHERE id = 'new'`), [{ role: 'EMPLOYEE' }]);
});

t.test('rows in an array column still holding USER block the contract', async (t) => {
  const url = await seededDatabase(t, 0);
  await query(
    url,
    `CREATE TABLE "Team" (id int PRIMARY KEY, roles "Role"[]);
    INSERT INTO "Team" VALUES (1, '{ADMIN,USER}'), (2, '{ADMIN}')`,
  );
  await schema(url, 'expand');
  await t.rejects(schema(url, 'contract'), {
    message: 'contract 0001: refused, nothing changed: 1 row still holds USER in public."Team".roles',
  });
  t.same(await enumLabels(url), ['USER', 'EMPLOYEE', 'MANAGER', 'ADMIN']);
});

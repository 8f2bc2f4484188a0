// Each object that would break the type swap is found in the catalog and refused, by name,
// before anything changes. One database; each case adds its object, tries, and removes it.
import t from 'tap';
import { schema } from '../bin/schema.js';
import { catalogSnapshot, enumLabels, query, seededDatabase, tableChecksum } from './helpers/database.js';

const cases: { kind: string; create: string; drop: string; names: RegExp }[] = [
  {
    kind: 'view',
    create: `CREATE VIEW "UserRoles" AS SELECT id, role FROM "User"`,
    drop: `DROP VIEW "UserRoles"`,
    names: /view "UserRoles"/,
  },
  {
    kind: 'materialized view',
    create: `CREATE MATERIALIZED VIEW "RoleStats" AS SELECT role, count(*) FROM "User" GROUP BY role`,
    drop: `DROP MATERIALIZED VIEW "RoleStats"`,
    names: /materialized view "RoleStats"/,
  },
  {
    kind: 'CHECK constraint',
    create: `ALTER TABLE "User" ADD CONSTRAINT no_manager CHECK (role <> 'MANAGER')`,
    drop: `ALTER TABLE "User" DROP CONSTRAINT no_manager`,
    names: /constraint no_manager on table "User"/,
  },
  {
    kind: 'partial index',
    create: `CREATE INDEX admins ON "User" (email) WHERE role = 'ADMIN'`,
    drop: `DROP INDEX admins`,
    names: /index admins/,
  },
  {
    kind: 'expression index',
    create: `CREATE INDEX role_text ON "User" ((role = 'ADMIN'))`,
    drop: `DROP INDEX role_text`,
    names: /index role_text/,
  },
  {
    kind: 'function signature',
    create: `CREATE FUNCTION is_admin(r "Role") RETURNS boolean LANGUAGE sql AS $$ SELECT r::text = 'ADMIN' $$`,
    drop: `DROP FUNCTION is_admin("Role")`,
    names: /function is_admin\("Role"\)/,
  },
  {
    kind: 'generated column',
    create: `ALTER TABLE "User" ADD COLUMN is_admin boolean GENERATED ALWAYS AS (role = 'ADMIN') STORED`,
    drop: `ALTER TABLE "User" DROP COLUMN is_admin`,
    names: /is_admin/,
  },
  {
    kind: 'policy',
    create: `CREATE POLICY admins_only ON "User" USING (role = 'ADMIN')`,
    drop: `DROP POLICY admins_only ON "User"`,
    names: /policy admins_only on table "User"/,
  },
  {
    kind: 'trigger with WHEN',
    create: `CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
      CREATE TRIGGER on_promote BEFORE UPDATE ON "User" FOR EACH ROW WHEN (NEW.role = 'ADMIN') EXECUTE FUNCTION noop()`,
    drop: `DROP TRIGGER on_promote ON "User"; DROP FUNCTION noop()`,
    names: /trigger on_promote on table "User"/,
  },
  {
    kind: 'domain',
    create: `CREATE DOMAIN staff_role AS "Role" CHECK (VALUE IS NOT NULL)`,
    drop: `DROP DOMAIN staff_role`,
    names: /type staff_role/,
  },
  {
    kind: 'composite type',
    create: `CREATE TYPE grant_row AS (who text, role "Role")`,
    drop: `DROP TYPE grant_row`,
    names: /composite type grant_row|grant_row/,
  },
  {
    kind: 'partition key',
    create: `CREATE TABLE "Log" (role "Role", at date) PARTITION BY LIST (role)`,
    drop: `DROP TABLE "Log"`,
    names: /partition key of "Log"/,
  },
];

t.test('each blocking dependency is refused before anything changes, naming the object', async (t) => {
  const url = await seededDatabase(t, 200);
  await schema(url, 'expand');
  await query(url, `UPDATE "User" SET role = 'EMPLOYEE' WHERE role = 'USER'`);
  for (const c of cases) {
    await query(url, c.create);
    const catalog = await catalogSnapshot(url);
    const data = await tableChecksum(url);
    const err = await schema(url, 'contract').then(
      () => undefined,
      (e: Error) => e,
    );
    t.ok(err, `${c.kind}: refused`);
    t.match(err?.message, /^contract 0001: refused, nothing changed: /, `${c.kind}: says nothing changed`);
    t.match(err?.message, c.names, `${c.kind}: names the object (${err?.message})`);
    t.same(await catalogSnapshot(url), catalog, `${c.kind}: catalog unchanged`);
    t.equal(await tableChecksum(url), data, `${c.kind}: data unchanged`);
    t.same(await enumLabels(url), ['USER', 'EMPLOYEE', 'MANAGER', 'ADMIN'], `${c.kind}: labels unchanged`);
    await query(url, c.drop);
  }
  // With every blocker gone, the same database contracts.
  await schema(url, 'contract');
  t.same(await enumLabels(url), ['EMPLOYEE', 'MANAGER', 'ADMIN']);
});

t.test('several blockers are all listed in one refusal', async (t) => {
  const url = await seededDatabase(t, 50);
  await schema(url, 'expand');
  await query(url, `CREATE VIEW v1 AS SELECT role FROM "User"; CREATE DOMAIN d1 AS "Role"`);
  const err = await schema(url, 'contract').then(
    () => undefined,
    (e: Error) => e,
  );
  t.match(err?.message, /rows? still holds? USER in public."User".role/);
  t.match(err?.message, /view v1/);
  t.match(err?.message, /type d1/);
});

t.test('an expression default is refused, a constant one is carried across', async (t) => {
  const url = await seededDatabase(t, 0);
  await query(
    url,
    `CREATE FUNCTION pick_role() RETURNS text LANGUAGE sql AS $$ SELECT 'ADMIN' $$;
                    ALTER TABLE "User" ALTER COLUMN role SET DEFAULT pick_role()::"Role"`,
  );
  await schema(url, 'expand');
  await t.rejects(
    schema(url, 'contract'),
    /default of public."User".role is an expression \(\(pick_role\(\)\)::"Role"\)/,
  );
  t.same(await enumLabels(url), ['USER', 'EMPLOYEE', 'MANAGER', 'ADMIN']);
});

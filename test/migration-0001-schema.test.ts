// Migration 0001's expand and contract through dbmate, on seeded data in a real PostgreSQL.
import t from 'tap';
import { schema } from '../bin/schema.js';
import {
  catalogSnapshot,
  enumLabels,
  identityChecksum,
  query,
  roleCounts,
  seededDatabase,
  tableChecksum,
} from './helpers/database.js';

t.test('expand then contract on seeded data keeps every user', async (t) => {
  const url = await seededDatabase(t, 5000);
  const before = await roleCounts(url);
  const identity = await identityChecksum(url);
  t.equal(before.total, 5000);
  t.ok(before.USER > 4000 && before.ADMIN > 300, `about 90/10: ${JSON.stringify(before)}`);
  t.same(await enumLabels(url), ['USER', 'ADMIN']);

  t.same(await schema(url, 'expand'), [
    'Applied: 20250101000000_toolkit_enum_swap.sql',
    'Applied: 20250101000001_toolkit_enum_everywhere.sql',
    'Applied: 20250115000001_role_add_employee_manager.sql',
  ]);
  t.same(await enumLabels(url), ['USER', 'EMPLOYEE', 'MANAGER', 'ADMIN'], 'new labels sit before ADMIN');
  t.same(await roleCounts(url), before, 'expand touches no row');

  // The mutation (issue 4 wraps it in the verifier); here plain SQL, as the runbook's step 2.
  await query(url, `UPDATE "User" SET role = 'EMPLOYEE' WHERE role = 'USER'`);

  t.same(await schema(url, 'contract'), ['Applied: 20250115000002_role_drop_user.sql']);
  t.same(await enumLabels(url), ['EMPLOYEE', 'MANAGER', 'ADMIN'], 'labels and order from pg_enum');
  const after = await roleCounts(url);
  t.same(after, { total: 5000, EMPLOYEE: before.USER, ADMIN: before.ADMIN });
  t.equal(await identityChecksum(url), identity, '(id, email) checksum unchanged');
  const [col] = await query(
    url,
    `SELECT format_type(atttypid, atttypmod) AS type, attnotnull FROM pg_attribute
                                  WHERE attrelid = '"User"'::regclass AND attname = 'role'`,
  );
  t.same(col, { type: '"Role"', attnotnull: true }, 'column keeps the type name and NOT NULL');
  t.same(
    await query(url, `SELECT typname FROM pg_type WHERE typname LIKE 'Role%'`),
    [{ typname: 'Role' }],
    'old type dropped',
  );
});

t.test('expand twice is a no-op', async (t) => {
  const url = await seededDatabase(t, 200);
  await schema(url, 'expand');
  const catalog = await catalogSnapshot(url);
  const data = await tableChecksum(url);
  t.same(await schema(url, 'expand'), [], 'dbmate has nothing left to apply');
  // The SQL itself is idempotent too: run the expand statements again by hand.
  await query(url, `ALTER TYPE "Role" ADD VALUE IF NOT EXISTS 'EMPLOYEE' BEFORE 'ADMIN'`);
  await query(url, `ALTER TYPE "Role" ADD VALUE IF NOT EXISTS 'MANAGER' BEFORE 'ADMIN'`);
  t.same(await catalogSnapshot(url), catalog);
  t.equal(await tableChecksum(url), data);
  t.same(await enumLabels(url), ['USER', 'EMPLOYEE', 'MANAGER', 'ADMIN']);
});

t.test('expand refuses a database in an unexpected state', async (t) => {
  const url = await seededDatabase(t, 0);
  await query(url, `ALTER TYPE "Role" ADD VALUE 'GUEST'`);
  await t.rejects(schema(url, 'expand'), /expand 0001: "Role" has labels \{USER,ADMIN,GUEST\}/);
  t.same(await enumLabels(url), ['USER', 'ADMIN', 'GUEST'], 'nothing added');
});

t.test('contract with USER rows left refuses, states the count, changes nothing', async (t) => {
  const url = await seededDatabase(t, 1000);
  await schema(url, 'expand');
  await query(
    url,
    `UPDATE "User" SET role = 'EMPLOYEE'
    WHERE role = 'USER' AND id IN (SELECT id FROM "User" WHERE role = 'USER' ORDER BY id OFFSET 3)`,
  );
  const catalog = await catalogSnapshot(url);
  const data = await tableChecksum(url);
  await t.rejects(schema(url, 'contract'), {
    message: 'contract 0001: refused, nothing changed: 3 rows still hold USER in public."User".role',
  });
  t.same(await catalogSnapshot(url), catalog, 'catalog unchanged');
  t.equal(await tableChecksum(url), data, 'data unchanged');
  const [pending] = await query(
    url,
    `SELECT count(*)::int AS n FROM breaking_migrations.schema_migrations WHERE version = '20250115000002'`,
  );
  t.equal(pending.n, 0, 'contract not recorded as applied');
});

t.test('contract before expand is refused', async (t) => {
  const url = await seededDatabase(t, 10);
  await t.rejects(schema(url, 'contract'), /contract: expand 0001 is not applied yet/);
  t.same(await enumLabels(url), ['USER', 'ADMIN']);
});

t.test('baseline refuses a database that already has "User"', async (t) => {
  const url = await seededDatabase(t, 10);
  await query(url, `DELETE FROM breaking_migrations.schema_migrations`);
  await t.rejects(schema(url, 'baseline'), /baseline: "User" or "Role" already exists/);
  t.equal((await roleCounts(url)).total, 10);
});

// Real down migrations: contract → expanded type, expand → USER, ADMIN; refused when data forbids.
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

t.test('rollback walks back contract, then expand, keeping every row', async (t) => {
  const url = await seededDatabase(t, 500);
  await query(url, `ALTER TABLE "User" ALTER COLUMN role SET DEFAULT 'USER'`);
  const identity = await identityChecksum(url);
  const before = await roleCounts(url);
  await schema(url, 'expand');
  await query(url, `UPDATE "User" SET role = 'EMPLOYEE' WHERE role = 'USER'`);
  await schema(url, 'contract');

  t.same(await schema(url, 'rollback'), ['Rolled back: 20250115000002_role_drop_user.sql']);
  t.same(await enumLabels(url), ['USER', 'EMPLOYEE', 'MANAGER', 'ADMIN'], 'contract undone: expanded labels, in order');

  // The expand's rollback refuses while rows hold EMPLOYEE, and changes nothing.
  const catalog = await catalogSnapshot(url);
  const data = await tableChecksum(url);
  await t.rejects(schema(url, 'rollback'), {
    message:
      'rollback of expand 0001: refused, nothing changed: ' +
      `${before.USER} rows still hold EMPLOYEE in public."User".role`,
  });
  t.same(await catalogSnapshot(url), catalog);
  t.equal(await tableChecksum(url), data);

  await query(url, `UPDATE "User" SET role = 'USER' WHERE role = 'EMPLOYEE'`);
  t.same(await schema(url, 'rollback'), ['Rolled back: 20250115000001_role_add_employee_manager.sql']);
  t.same(await enumLabels(url), ['USER', 'ADMIN']);
  t.same(await roleCounts(url), before);
  t.equal(await identityChecksum(url), identity);
  const [def] = await query(
    url,
    `SELECT pg_get_expr(adbin, adrelid) AS def FROM pg_attrdef WHERE adrelid = '"User"'::regclass`,
  );
  t.equal(def.def, `'USER'::"Role"`, 'the default went EMPLOYEE → USER with the type');

  // A third rollback: nothing of 0001 is left, and the toolkit is never rolled back as a side effect.
  const toolkit = `SELECT count(*)::int AS n FROM pg_proc WHERE pronamespace = 'breaking_migrations'::regnamespace`;
  const [functions] = await query(url, toolkit);
  t.ok(functions.n >= 8, `the toolkit's functions are there (${functions.n})`);
  await t.rejects(schema(url, 'rollback'), {
    message: 'rollback: nothing of 0001 left to roll back (neither its contract nor its expand is applied).',
    exitCode: 2,
  });
  t.same(await query(url, toolkit), [functions], 'the toolkit is untouched');
  const versions = await query(url, `SELECT version FROM breaking_migrations.schema_migrations ORDER BY 1`);
  t.same(
    versions.map((v) => v.version),
    ['20240101000000', '20250101000000', '20250101000001'],
    'only the toolkit (and the sandbox baseline) stay applied',
  );
});

t.test('rollback of expand refuses MANAGER rows and a MANAGER default', async (t) => {
  const url = await seededDatabase(t, 20);
  await schema(url, 'expand');
  await query(url, `UPDATE "User" SET role = 'MANAGER' WHERE id = (SELECT min(id) FROM "User")`);
  await t.rejects(schema(url, 'rollback'), /1 row still holds MANAGER in public."User".role/);
  await query(
    url,
    `UPDATE "User" SET role = 'USER' WHERE role = 'MANAGER';
    ALTER TABLE "User" ALTER COLUMN role SET DEFAULT 'MANAGER'`,
  );
  await t.rejects(
    schema(url, 'rollback'),
    /default of public."User".role \('MANAGER'::"Role"\) holds a label the new type lacks/,
  );
  t.same(await enumLabels(url), ['USER', 'EMPLOYEE', 'MANAGER', 'ADMIN']);
});

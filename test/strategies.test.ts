// STRATEGY=rewrite and STRATEGY=rename reach the same final state, verified by the same invariants.
import t from 'tap';
import { migrate } from '../bin/migrate.js';
import { runBin } from './helpers/cli.js';
import { catalogSnapshot, enumLabels, query, seededDatabase, tableChecksum } from './helpers/database.js';
import { assertMigrated, snapshot, tempSettings } from './helpers/runbook.js';

for (const name of ['rewrite', 'rename'] as const) {
  t.test(`STRATEGY=${name}: same final state, same invariants, then nothing to do`, async (t) => {
    const url = await seededDatabase(t, 6000);
    await query(url, `ALTER TABLE "User" ALTER COLUMN role SET DEFAULT 'USER'`);
    const s = tempSettings(url);
    const before = await snapshot(url);
    const r = await migrate(url, '0001', s, { strategy: name, log: () => {} });
    t.equal(r.strategy, name);
    const skipped = r.steps.filter((x) => x.skipped).map((x) => x.step);
    t.same(skipped, name === 'rename' ? ['expand', 'contract'] : ['contract'], 'the steps this strategy does inside the verifier');
    t.equal(r.verifier?.updated, null, 'no row UPDATE');
    t.ok(r.checks.every((c) => c.ok), 'final checks pass');
    await assertMigrated(t, url, before, s);
    const [def] = await query(url, `SELECT pg_get_expr(adbin, adrelid) AS d FROM pg_attrdef WHERE adrelid = '"User"'::regclass`);
    t.equal(def.d, `'EMPLOYEE'::"Role"`, 'the default follows');
    const versions = (await query(url, `SELECT version FROM breaking_migrations.schema_migrations ORDER BY 1`)).map((v) => v.version);
    t.same(versions, ['20240101000000', '20250101000000', '20250115000001', '20250115000002'], 'dbmate sees expand and contract applied');
    const data = await tableChecksum(url);
    const again = await migrate(url, '0001', s, { strategy: name, log: () => {} });
    t.equal(again.alreadyApplied, true);
    t.equal(await tableChecksum(url), data);
  });
}

t.test('STRATEGY=rename refuses in preflight, changing nothing, when the change is not a pure rename', async (t) => {
  const url = await seededDatabase(t, 100);
  const { schema } = await import('../bin/schema.js');
  await schema(url, 'expand'); // EMPLOYEE exists already: renaming USER onto it is impossible
  const s = tempSettings(url);
  const catalog = await catalogSnapshot(url);
  const r = runBin('migrate.ts', ['0001'], { ...s.env, STRATEGY: 'rename' });
  t.equal(r.code, 2);
  t.match(r.stderr, /^migrate-0001: preflight: rename 0001: "Role" has labels \{USER,EMPLOYEE,MANAGER,ADMIN\}, not USER, ADMIN: the change is not a pure rename from here/);
  t.same(await catalogSnapshot(url), catalog);
  t.same(await enumLabels(url), ['USER', 'EMPLOYEE', 'MANAGER', 'ADMIN']);
  const unknown = runBin('migrate.ts', ['0001'], { ...s.env, STRATEGY: 'teleport' });
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /unknown STRATEGY "teleport"/);
});

t.test('STRATEGY=rewrite maps every column of the type, arrays included', async (t) => {
  const url = await seededDatabase(t, 500);
  const s = tempSettings(url);
  await query(url, `CREATE TABLE "Team" (id int PRIMARY KEY, roles "Role"[]); INSERT INTO "Team" VALUES (1, '{USER,ADMIN}')`);
  const r = await migrate(url, '0001', s, { strategy: 'rewrite', log: () => {} });
  t.ok(r.checks.every((c) => c.ok));
  t.same(await query(url, `SELECT roles::text[] AS r FROM "Team"`), [{ r: ['EMPLOYEE', 'ADMIN'] }], 'arrays are mapped by the rewrite too');
});

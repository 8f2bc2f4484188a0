// make plan-0001 (read-only estimates) and the benchmark harness itself (on a tiny table).
import t from 'tap';
import { plan } from '../bin/plan.js';
import { bench, table } from '../bench/bench.js';
import { runBin } from './helpers/cli.js';
import { catalogSnapshot, query, seededDatabase, tableChecksum, urlOf } from './helpers/database.js';

t.test('plan: three strategies, estimates ordered by the work they do, rename only when pure', async (t) => {
  const p = plan([{ bytes: 100e6, rows: 1e6, rows_to_change: 9e5, rename_available: true }]);
  t.same(
    p.map((x) => x.strategy),
    ['update', 'rewrite', 'rename'],
  );
  t.ok(
    p[0].seconds! > p[1].seconds! && p[1].seconds! > p[2].seconds!,
    `update > rewrite > rename (${p.map((x) => x.seconds?.toFixed(1))})`,
  );
  t.same(
    p.map((x) => x.rewrites.startsWith('yes')),
    [true, true, false],
  );
  t.equal(plan([{ bytes: 1, rows: 1, rows_to_change: 1, rename_available: false }])[2].seconds, null);
  const tenTimes = plan([{ bytes: 1000e6, rows: 1e7, rows_to_change: 9e6, rename_available: true }]);
  t.equal(tenTimes[2].seconds, p[2].seconds, "the rename's window does not grow with the table");
  t.ok(tenTimes[2].seconds! < 1 && tenTimes[0].seconds! > 5 * p[0].seconds!, 'the others do');

  const url = await seededDatabase(t, 20000);
  await query(url, `ANALYZE "User"`);
  const catalog = await catalogSnapshot(url);
  const data = await tableChecksum(url);
  const r = runBin('plan.ts', ['0001'], { DATABASE_URL: urlOf(url) });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /public."User".role ~20000 rows \(~1\d{4} to change\), \d+ MB; estimated from planner statistics/);
  t.match(r.stdout, /recommended: rename: a pure rename/);
  t.match(r.stdout, /^ {2}update +~ *[\d.]+ s {2}dump: inside the window; rewrites: yes: UPDATE \+ one rewrite/m);
  t.match(r.stdout, /^ {2}rename +~ *[\d.]+ s {2}dump: before the window, the app running; rewrites: no;.*available/m);
  t.match(r.stdout, /^ {2}update +~ *[\d.]+ s {2}dump: inside the window;/m);
  t.match(r.stdout, /^ {2}STRATEGY unset: rewrite: one table rewrite instead of an UPDATE and a rewrite; no trigger/m);
  t.match(r.stdout, /plan-0001: recommended rename \(window ~[\d.]+ s, dump before the window, the app running\)/);
  const withDump = plan([{ bytes: 100e6, rows: 1e6, rows_to_change: 9e5, rename_available: true }], undefined, 7);
  t.same(
    withDump.map((x, i) => Number((x.seconds! - p[i].seconds!).toFixed(6))),
    [7, 7, 0],
    "the dump is in the window of the strategies that write rows, not in the rename's",
  );
  t.same(await catalogSnapshot(url), catalog, 'plan changes nothing');
  t.equal(await tableChecksum(url), data);
  // A trigger that sees the UPDATE: neither a rewrite nor a relabel would fire it.
  await query(
    url,
    `CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
     CREATE TRIGGER user_audit AFTER UPDATE ON "User" FOR EACH ROW EXECUTE FUNCTION audit()`,
  );
  const seen = runBin('plan.ts', ['0001'], { DATABASE_URL: urlOf(url) });
  t.match(seen.stdout, /STRATEGY unset: update: an UPDATE is seen by trigger user_audit on "User", which a rewrite/);
  t.match(seen.stdout, /recommended: update: trigger user_audit on "User" must see the UPDATE/);
  t.match(seen.stdout, /^ {2}rewrite .*fires nothing that sees an UPDATE: trigger user_audit on "User" would miss/m);
  await query(url, `DROP TRIGGER user_audit ON "User"; DROP FUNCTION audit()`);
  const { schema } = await import('../bin/schema.js');
  await schema(url, 'expand');
  t.match(runBin('plan.ts', ['0001'], { DATABASE_URL: urlOf(url) }).stdout, /rename +— .*not available/);
});

t.test(
  'plan on a table the planner knows nothing about (never analysed): ' +
    'a sampled estimate within 2x, and a recommendation',
  async (t) => {
    const { testDatabase } = await import('./helpers/database.js');
    const { schema } = await import('../bin/schema.js');
    const { seed } = await import('../bin/seed.js');
    const url = await testDatabase(t);
    await schema(url, 'baseline');
    // Keeps reltuples at -1, as after a fresh restore.
    await query(url, `ALTER TABLE "User" SET (autovacuum_enabled = false)`);
    await seed(url, 200000);
    const [{ reltuples }] = await query(url, `SELECT reltuples FROM pg_class WHERE oid = '"User"'::regclass`);
    t.equal(Number(reltuples), -1, 'the planner has no estimate');
    const [{ n, u }] = await query(
      url,
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE role = 'USER')::int AS u FROM "User"`,
    );
    const r = runBin('plan.ts', ['0001'], { DATABASE_URL: urlOf(url) });
    t.equal(r.code, 0, r.stderr);
    const estimate = new RegExp(
      /public\."User"\.role ~(\d+) rows \(~(\d+) to change\)/.source +
        /.*estimated from a [\d.]+% sample of its pages \(never analysed\)/.source,
    );
    const m = estimate.exec(r.stdout);
    t.ok(m, r.stdout);
    const [rows, users] = [Number(m?.[1]), Number(m?.[2])];
    t.ok(rows > n / 2 && rows < n * 2, `rows ${rows} within 2x of ${n}`);
    t.ok(users > u / 2 && users < u * 2, `USER rows ${users} within 2x of ${u}`);
    const def = Number(/^ {2}update +~ *([\d.]+) s/m.exec(r.stdout)?.[1]);
    t.ok(def > 2, `the update strategy's estimate grows with the rows (${def} s), not ~1 s`);
    t.match(r.stdout, /plan-0001: recommended rename \(/);
  },
);

t.test('bench: floor and toolkit measured on copies of one database, ratio and throughput reported', async (t) => {
  const b = await bench(3000, 2, () => {}, ['update', 'rename']);
  t.equal(b.rows, 3000);
  t.equal(b.rounds, 2);
  t.same(Object.keys(b.floor).sort(), ['contract', 'expand', 'mutate']);
  t.equal(b.defaultStrategy, 'rewrite', 'STRATEGY unset took rewrite: nothing here sees an UPDATE');
  t.equal(b.toolkit.contract, undefined, 'its contract is done inside its mutate step, not timed apart');
  t.ok(b.strategies.update.steps.contract > 0, 'STRATEGY=update runs the contract as its own step');
  // How the numbers relate, not how fast they are: each is derived from the others as the table says.
  const inside = ['dump', 'expand', 'mutate', 'final-checks'].map((k) => b.toolkit[k]);
  t.ok(
    inside.every((x) => Number.isFinite(x) && x > 0),
    'every step inside the window was timed',
  );
  t.ok(b.toolkitWindowWithDump >= inside.reduce((a, x) => a + x, 0) * 0.99, 'the window holds the steps it spans');
  t.ok(
    Math.abs(b.toolkitWindowWithDump - b.toolkit.dump - b.toolkitWindow) < 0.05 * b.toolkitWindowWithDump,
    'the window without the dump is the window less the dump',
  );
  const sums = b.floorRounds.mutate.map(
    (_, i) => b.floorRounds.expand[i] + b.floorRounds.mutate[i] + b.floorRounds.contract[i],
  );
  t.equal(b.floorWindow, [...sums].sort((x, y) => x - y)[1], "the floor window is the median round's three steps");

  t.equal(b.roundRatios.length, 2, 'one ratio per round');
  t.ok(b.roundRatios.includes(b.ratio), `the ratio is one of the rounds' (${b.roundRatios})`);
  t.ok(
    Math.abs(b.dumpMBps * b.toolkit.dump - b.databaseMB) < 1e-6 * Math.max(1, b.databaseMB),
    'dump MB/s = database MB / dump time',
  );
  t.ok(
    Math.abs(b.strategies.rename.ratio * b.floorWindow - b.strategies.rename.windowNoDump) < 1e-9,
    'rename ratio against the same floor',
  );
  t.equal(b.strategies.rename.window, b.strategies.rename.windowNoDump, 'rename dumps before its window');
  t.ok(b.strategies.rename.steps.inverse > 0, 'and its inverse ran, proved');
  const text = table(b);
  t.match(text, /window, no dump +[\d.]+ s +[\d.]+ s +ratio [\d.]+ \(median of rounds: [\d.]+, [\d.]+\)/);
  t.match(text, /^toolkit: make migrate-0001 with STRATEGY unset, which took rewrite here$/m);
  t.ok(b.rewriteFloor > 0, "the fold's bare statement was timed too");
  t.match(text, /^floor, one rewrite +[\d.]+ s +the toolkit's window, no dump, against it: ratio [\d.]+ /m);
  t.match(text, /STRATEGY=update +window +[\d.]+ s \(dump inside\), no dump +[\d.]+ s +ratio to floor [\d.]+$/m);
  t.match(text, /STRATEGY=rename +window +[\d.]+ s \(dump before\), no dump +[\d.]+ s .*; inverse +[\d.]+ s, proved/);
});

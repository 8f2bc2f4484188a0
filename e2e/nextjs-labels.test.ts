// The app's labels (README, "The app's labels") with the REAL example app: examples/nextjs built
// twice, as two commits of it would be — v1 (its Prisma client knows USER, ADMIN) and v2 (USER,
// EMPLOYEE, MANAGER, ADMIN) — each served by `next start` with the drop-in and app/probe.ts, on a
// database made with `make baseline` and `make seed`. The operator's make verbs run beside it, in
// their own processes, while the test keeps asking the app for a user's role page.
//   a. v1 live: `make migrate-0001` refuses in preflight, naming the instance; nothing changes.
//   b. v2 live: `make migrate-0001` goes through; the role page answers 200 or 503, never another
//      5xx, USER before the window and EMPLOYEE after it.
import t, { type Test } from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startSandbox } from '../bin/lib/dev/sandbox.js';
import { withDatabase, type Target } from '../bin/lib/connection/target.js';
import { enumLabels, query, roleCounts, tableChecksum, urlOf } from '../test/helpers/database.js';
import { tempSettings } from '../test/helpers/runbook.js';
import { buildApp, make, scratchApp, startNext, variants, type Variant } from './next-app.js';

const ROWS = 1000; // seeded users: about 90% USER, 10% ADMIN
const REPORT_MS = 1000; // APP_REPORT_MS: the instances report every second (5 s by default)
const FINAL = ['EMPLOYEE', 'MANAGER', 'ADMIN'];
// Next.js 16; E2E_LABELS_NEXT=16,15.5 adds 15.5 (two more builds, about 1.5 min).
const which = (process.env.E2E_LABELS_NEXT ?? '16').split(',');

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The role /users/<id> shows, read through the app's Prisma client. */
async function rolePage(base: string, id: string): Promise<{ status: number; role?: string; at: number }> {
  try {
    const r = await fetch(`${base}/users/${id}`, { signal: AbortSignal.timeout(10_000) });
    const html = await r.text();
    return { status: r.status, role: /<span id="role">([A-Z_]+)<\/span>/.exec(html)?.[1], at: Date.now() };
  } catch {
    return { status: 0, at: Date.now() }; // no answer at all: counted apart, and it fails the test
  }
}

/** A fresh database in the sandbox, made the way a user makes one: make baseline, make seed. */
async function seededByMake(t: Test, server: Target, name: string): Promise<Target> {
  await query(server, `CREATE DATABASE ${name}`);
  const db = withDatabase(server, name);
  for (const [verb, args] of [
    ['baseline', []],
    ['seed', [`ROWS=${ROWS}`]],
  ] as const) {
    const r = await make(t, verb, { DATABASE_URL: urlOf(db) }, [...args]).done;
    if (r.code !== 0) throw new Error(`make ${verb}: ${r.stdout}${r.stderr}`);
  }
  return db;
}

/** The instance row a build reported (breaking_migrations.app_instances), once it is there. */
async function reported(db: Target, build: string, ms = 30_000): Promise<{ instance: string; enums: unknown }> {
  const t0 = Date.now();
  for (;;) {
    const rows = await query<{ instance: string; enums: unknown }>(
      db,
      `SELECT instance, enums FROM breaking_migrations.app_instances WHERE build = $1`,
      [build],
    ).catch(() => []);
    if (rows.length === 1) return rows[0];
    if (Date.now() - t0 > ms) throw new Error(`build ${build} never reported (${rows.length} rows)`);
    await sleep(250);
  }
}

/** Is the guard's read-only default on this database (sql/guard_state.sql)? Is the flag's row there? */
async function maintenanceState(db: Target): Promise<{ guard: boolean; flag: boolean }> {
  const [r] = await query<{ guard: boolean; present: boolean }>(
    db,
    `SELECT EXISTS (SELECT 1 FROM pg_db_role_setting s, unnest(s.setconfig) AS c
                    WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
                      AND c = 'default_transaction_read_only=on') AS guard,
            to_regclass('breaking_migrations.maintenance') IS NOT NULL AS present`,
  );
  const flag =
    r.present && (await query(db, 'SELECT 1 FROM breaking_migrations.maintenance').catch(() => [])).length > 0;
  return { guard: r.guard, flag };
}

const userWith = async (db: Target, role: string) =>
  (await query<{ id: string }>(db, `SELECT id FROM "User" WHERE role::text = $1 ORDER BY id LIMIT 1`, [role]))[0].id;

for (const v of variants.filter((x: Variant) => which.includes(x.next))) {
  t.test(`Next.js ${v.next}: v1 live refuses 0001 in preflight; v2 live lives through it`, async (t) => {
    const t0 = performance.now();
    const builds: Record<'v1' | 'v2', string> = { v1: scratchApp(t, v, 'v1'), v2: scratchApp(t, v, 'v2') };
    for (const version of ['v1', 'v2'] as const) {
      const b = buildApp(builds[version], version);
      t.ok(b.ok, `APP_VERSION=${version} npm run build in a copy of the app (${b.seconds.toFixed(0)} s)`, {
        output: b.output,
      });
      if (!b.ok) return;
    }
    t.same(
      JSON.parse(readFileSync(join(builds.v1, 'generated/version.json'), 'utf8')).labels,
      ['USER', 'ADMIN'],
      "v1's client knows USER, ADMIN",
    );
    const sb = await startSandbox();
    t.teardown(() => sb.stop());
    const appEnv = (db: Target, s: ReturnType<typeof tempSettings>, build: string) => ({
      DATABASE_URL: urlOf(db),
      MAINTENANCE_LOCK_FILE: join(s.maintenanceDir, 'enabled.lock'),
      APP_REPORT_MS: String(REPORT_MS),
      APP_BUILD: build,
      ACTION_LOG: join(s.maintenanceDir, '..', 'actions.log'),
    });

    await t.test('a. v1 live: make migrate-0001 is refused before the window', async (t) => {
      const db = await seededByMake(t, sb.target, 'refused');
      const s = tempSettings(db);
      const build = `v1-next${v.next}`;
      const base = await startNext(t, builds.v1, appEnv(db, s, build));
      const user = await userWith(db, 'USER');
      t.same(await rolePage(base, user).then((r) => [r.status, r.role]), [200, 'USER'], 'v1 reads the role page');

      // The operator's check first: it makes the instances table, the app reports into it.
      const st = await make(t, 'app-status', s.env).done;
      t.equal(st.code, 0, 'make app-status', { output: st.stdout + st.stderr });
      const { instance, enums } = await reported(db, build);
      t.same(enums, { Role: ['USER', 'ADMIN'] }, "the instance's row: the labels of v1's client (Object.values(Role))");
      const again = await make(t, 'app-status', s.env).done;
      t.match(
        again.stdout,
        new RegExp(`^ {2}CANNOT ${esc(instance)} build ${esc(build)}: knows USER, ADMIN; not EMPLOYEE, MANAGER `, 'm'),
        'make app-status lists the v1 instance as CANNOT',
      );

      const labels = await enumLabels(db);
      const data = await tableChecksum(db);
      const run = make(t, 'migrate-0001', s.env);
      let finished: Awaited<typeof run.done> | undefined;
      void run.done.then((r) => {
        finished = r;
      });
      const pages: Awaited<ReturnType<typeof rolePage>>[] = [];
      let lockSeen = false;
      let onSeen = false;
      while (!finished) {
        pages.push(await rolePage(base, user));
        lockSeen ||= existsSync(join(s.maintenanceDir, 'enabled.lock'));
        const m = await maintenanceState(db);
        onSeen ||= m.guard || m.flag;
        await sleep(100);
      }
      const r = finished;
      t.equal(r.code, 2, 'make migrate-0001: exit 2', { output: r.stdout + r.stderr });
      t.match(
        r.stderr,
        new RegExp(
          /^migrate-0001: preflight: 1 of 1 app instance\(s\) seen in the last 60 s cannot read the labels /.source +
            `the mutation writes: ${esc(instance)} \\(build ${esc(build)}\\) knows USER, ADMIN, not EMPLOYEE\\.`,
          'm',
        ),
        'the refusal names the instance and what it lacks',
      );
      t.notOk(lockSeen || onSeen, 'maintenance never ON (no lock file, no flag, no guard) while the command ran');
      t.notOk(existsSync(join(s.maintenanceDir, 'enabled.lock')), 'no lock file after it');
      t.same(await maintenanceState(db), { guard: false, flag: false }, 'no flag, no guard after it');
      t.same(await enumLabels(db), labels, `pg_enum labels unchanged (${labels.join(', ')})`);
      t.equal(await tableChecksum(db), data, '"User" checksum unchanged');
      const codes = pages.map((p) => `${p.status} ${p.role}`);
      t.same([...new Set(codes)], ['200 USER'], `the role page said USER throughout (${pages.length} requests)`);
      t.comment(`a (Next.js ${v.next}): refused in ${((r.at - pages[0].at) / 1000).toFixed(1)} s`);
    });

    await t.test('b. v2 live: make migrate-0001 goes through; the role page never fails', async (t) => {
      const db = await seededByMake(t, sb.target, 'migrated');
      const s = tempSettings(db);
      const build = `v2-next${v.next}`;
      const base = await startNext(t, builds.v2, appEnv(db, s, build));
      const user = await userWith(db, 'USER');
      const before = await roleCounts(db);
      t.ok(before.USER > 0 && before.ADMIN > 0, `seeded: ${JSON.stringify(before)}`);

      // What an operator waits for before the run: app-status says every instance can read.
      const ready = await make(t, 'app-status', s.env).done;
      t.equal(ready.code, 0, 'make app-status', { output: ready.stdout + ready.stderr });
      const { instance } = await reported(db, build);
      const st = await make(t, 'app-status', s.env).done;
      t.match(st.stdout, new RegExp(`^ {2}ok {4} ${esc(instance)} build ${esc(build)}: knows USER, EMPLOYEE`, 'm'));
      t.match(st.stdout, /app-status: 1 instance\(s\), all can read every label/, 'app-status: v2 can read');

      const pages: Awaited<ReturnType<typeof rolePage>>[] = [];
      let polling = true;
      const poller = (async () => {
        while (polling) {
          pages.push(await rolePage(base, user));
          await sleep(50);
        }
      })();
      await sleep(1000); // a few answers before the run
      const started = Date.now();
      const r = await make(t, 'migrate-0001', s.env).done;
      await sleep(3000); // and after it
      polling = false;
      await poller;

      t.equal(r.code, 0, 'make migrate-0001: exit 0', { output: r.stdout + r.stderr });
      t.match(r.stdout, /preflight: 1 app instance\(s\) can read EMPLOYEE, ADMIN/, 'preflight: v2 can read');
      const count = (f: (p: (typeof pages)[number]) => boolean) => pages.filter(f).length;
      const n200 = count((p) => p.status === 200);
      const n503 = count((p) => p.status === 503);
      const n5xx = count((p) => p.status >= 500 && p.status !== 503);
      const other = pages.filter((p) => p.status !== 200 && p.status < 500).map((p) => p.status);
      const runS = ((r.at - started) / 1000).toFixed(1);
      t.comment(
        `b (Next.js ${v.next}): ${pages.length} requests of /users/<id> over ${runS} s ` +
          `of make migrate-0001: 200 × ${n200}, 503 × ${n503}, other 5xx × ${n5xx}, other × ${other.length}`,
      );
      t.equal(n5xx, 0, 'no 5xx but 503 (the maintenance page)');
      t.same(other, [], 'no other answer (nor a request left without one)');
      t.ok(n503 > 0, `503 during the window (${n503})`);
      const first503 = pages.findIndex((p) => p.status === 503);
      const last503 = pages.length - 1 - [...pages].reverse().findIndex((p) => p.status === 503);
      const roles = (from: number, to: number) => [...new Set(pages.slice(from, to).map((p) => p.role))];
      t.ok(first503 > 0 && last503 < pages.length - 1, 'answers before and after the window');
      t.same(roles(0, first503), ['USER'], 'before the window: USER');
      t.same(
        [...new Set(pages.slice(first503, last503 + 1).map((p) => p.status))],
        [503],
        'the window is one stretch of 503',
      );
      t.same(roles(last503 + 1, pages.length), ['EMPLOYEE'], 'after it: EMPLOYEE, read through the same v2 client');

      t.same(await enumLabels(db), FINAL, 'pg_enum: EMPLOYEE, MANAGER, ADMIN');
      t.same(
        await roleCounts(db),
        { total: before.total, EMPLOYEE: before.USER, ADMIN: before.ADMIN },
        'every USER row is EMPLOYEE, ADMIN kept',
      );
      t.same(await maintenanceState(db), { guard: false, flag: false }, 'maintenance OFF');
      const after = await make(t, 'app-status', s.env).done;
      t.match(after.stdout, /Role is EMPLOYEE, MANAGER, ADMIN/, 'app-status: the final labels');
      t.match(
        after.stdout,
        /app-status: 1 instance\(s\), all can read every label/,
        'app-status: every instance can read',
      );
      t.comment(`Next.js ${v.next}: ${((performance.now() - t0) / 1000).toFixed(0)} s in all`);
    });
  });
}

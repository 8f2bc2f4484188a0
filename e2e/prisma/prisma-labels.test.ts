// The app's labels (README, "The app's labels"; docs/app-side.md) with a REAL Prisma 7 client:
// each app process is the generated client + @prisma/adapter-pg, reporting through
// databaseProbe((sql) => prisma.$queryRawUnsafe(sql), { enums: { Role: Object.values(Role) }, run })
// with the documented Prisma `run`. v1's client knows USER, ADMIN; v2's USER, EMPLOYEE, MANAGER,
// ADMIN. The toolkit's commands run in their own processes while the apps keep going.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { enumLabels, query, seededDatabase, tableChecksum, urlOf } from '../../test/helpers/database.js';
import { holdRunner, tempSettings } from '../../test/helpers/runbook.js';
import type { Target } from '../../bin/lib/connection/target.js';
import { command, kinds, repo, startApp, type AppEvent, type AppProcess } from './apps.js';
import { preparePrismaApp } from './prepare.js';

const REPORT_MS = 1000; // the apps' report interval (databaseProbe's intervalMs; 5000 by default)
const SEEN_S = 4; // APP_SEEN_S where a stopped app must drop out of "seen recently" within the test
const FINAL = ['EMPLOYEE', 'MANAGER', 'ADMIN'];

const t0 = performance.now();
const prisma = preparePrismaApp();
t.comment(
  `Prisma ${prisma.prismaVersion} app in ${prisma.dir}: ` +
    (prisma.built
      ? `npm install ${prisma.installSeconds?.toFixed(1)} s, generate v1+v2 ${prisma.generateSeconds?.toFixed(1)} s`
      : `from the cache (${((performance.now() - t0) / 1000).toFixed(1)} s)`),
);

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const instances = (db: Target) =>
  query<{ instance: string; build: string; enums: Record<string, string[]>; seen: Date }>(
    db,
    'SELECT instance, build, enums, seen FROM breaking_migrations.app_instances ORDER BY instance',
  );

/** The guard's per-database read-only default (sql/guard_state.sql), and an instance's last report. */
async function sample(db: Target, instance: string): Promise<{ at: number; guard: boolean; seen?: number }> {
  const [r] = await query<{ guard: boolean; seen: Date | null }>(
    db,
    `SELECT EXISTS (SELECT 1 FROM pg_db_role_setting s, unnest(s.setconfig) AS c
                    WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
                      AND s.setrole = 0 AND c = 'default_transaction_read_only=on') AS guard,
            (SELECT seen FROM breaking_migrations.app_instances WHERE instance = $1) AS seen`,
    [instance],
  );
  return { at: Date.now(), guard: r.guard, seen: r.seen?.getTime() };
}

/** The rows the seed made (the apps' own writes are app-<pid>-<n>@example.com). */
async function seeded(db: Target): Promise<{ roles: Record<string, number>; identity: string }> {
  const rows = await query<{ role: string; n: number }>(
    db,
    `SELECT role::text AS role, count(*)::int AS n FROM "User" WHERE email NOT LIKE 'app-%' GROUP BY 1 ORDER BY 1`,
  );
  const [{ identity }] = await query<{ identity: string }>(
    db,
    `SELECT count(*) || ':' || md5(string_agg(id || ' ' || email, ',' ORDER BY id)) AS identity
    FROM "User" WHERE email NOT LIKE 'app-%'`,
  );
  return { roles: Object.fromEntries(rows.map((r) => [r.role, r.n])), identity };
}

/** `app-status --exit-code` until it exits 0: what an operator waits for before a run. */
async function untilAllCanRead(env: Record<string, string>, t: Parameters<typeof command>[0]): Promise<void> {
  const start = Date.now();
  for (;;) {
    const r = await command(t, 'app-status.ts', ['--exit-code'], env).done;
    if (r.code === 0) return;
    if (Date.now() - start > 30_000) throw new Error(`app-status never said every instance can read:\n${r.stdout}`);
    await sleep(500);
  }
}

const between = (events: AppEvent[], from: number, to: number) => events.filter((e) => e.at >= from && e.at < to);

/** The ```ts block of docs/app-side.md's "The app's labels": what a user copies. */
function documentedSnippet(): string {
  const doc = readFileSync(join(repo, 'docs/app-side.md'), 'utf8');
  const block = /\*\*The app's labels\.\*\*[\s\S]*?```ts\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block) throw new Error("docs/app-side.md: no ```ts block after **The app's labels.**");
  return block;
}

t.test("docs/app-side.md's Prisma snippet type-checks against the generated client", async (t) => {
  const snippet = documentedSnippet();
  t.match(snippet, /from '@\/generated\/prisma\/client'/, 'it imports Role from the generated client');
  const dir = mkdtempSync(join(tmpdir(), 'bm-prisma-snippet-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(join(prisma.dir, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  // What the app around the snippet has: its client (Prisma 7: an adapter) and the drop-in.
  writeFileSync(
    join(dir, 'app.ts'),
    "import { PrismaPg } from '@prisma/adapter-pg';\n" +
      `import { PrismaClient } from ${JSON.stringify(prisma.client('v2'))};\n` +
      `import { databaseProbe } from ${JSON.stringify(join(repo, 'nextjs/maintenance.ts'))};\n` +
      'const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL }) });\n' +
      snippet.replace("'@/generated/prisma/client'", JSON.stringify(prisma.client('v2'))) +
      'export { probe };\n',
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        allowImportingTsExtensions: true,
        types: ['node'],
        typeRoots: [join(repo, 'node_modules/@types')],
      },
      files: ['app.ts'],
    }),
  );
  const tsc = spawnSync(join(repo, 'node_modules/.bin/tsc'), ['-p', dir], { encoding: 'utf8' });
  t.equal(tsc.status, 0, 'tsc --strict accepts it', { output: tsc.stdout + tsc.stderr });
});

t.test('v1 is refused in preflight; v2 is migrated with its reads going on and its report working', async (t) => {
  const db = await seededDatabase(t, 500);
  const url = urlOf(db);

  // a. Before the toolkit: quiet. After app-status made the table and the function: the row.
  const v1 = await startApp(t, prisma, db, 'v1', { reportMs: REPORT_MS });
  await sleep(3 * REPORT_MS);
  t.same(v1.of('log'), [], 'v1 logs nothing while the toolkit is not there');
  t.ok(
    v1.of('probe').length > 0 && v1.of('probe').every((e) => e.on === false),
    "v1's probe (through Prisma) says OFF, without an error",
  );
  const [{ table }] = await query<{ table: string | null }>(
    db,
    `SELECT to_regclass('breaking_migrations.app_instances')::text AS table`,
  );
  t.equal(table, null, 'no instances table yet');
  const st = await command(t, 'app-status.ts', ['--exit-code'], { DATABASE_URL: url }).done;
  t.equal(st.code, 1, 'app-status --exit-code: 1, one instance cannot read', { output: st.stdout + st.stderr });
  t.match(
    st.stdout,
    new RegExp(
      `^ {2}CANNOT ${esc(v1.instance)} build v1: knows USER, ADMIN; not EMPLOYEE, MANAGER \\(seen \\d+ s ago\\)$`,
      'm',
    ),
    'app-status names the v1 process',
  );
  t.same(
    (await instances(db)).map((r) => [r.instance, r.build, r.enums]),
    [[v1.instance, 'v1', { Role: ['USER', 'ADMIN'] }]],
    "its row, through the documented Prisma run: enums.Role = Object.values(Role) of v1's client",
  );
  t.same(v1.of('log'), [], 'v1 still logged nothing');

  // b. With v1 up, the run refuses in preflight: nothing changes.
  const refused = tempSettings(db);
  const data = await tableChecksum(db);
  const r1 = await command(t, 'migrate.ts', ['0001'], refused.env).done;
  t.equal(r1.code, 2, 'migrate 0001 with v1 up: exit 2', { output: r1.stdout + r1.stderr });
  t.match(
    r1.stderr,
    new RegExp(
      /^migrate-0001: preflight: 1 of 1 app instance\(s\) seen in the last 60 s cannot read the labels /.source +
        `the mutation writes: ${esc(v1.instance)} \\(build v1\\) knows USER, ADMIN, not EMPLOYEE\\.`,
      'm',
    ),
    'preflight names the v1 instance and what it lacks',
  );
  t.same(await enumLabels(db), ['USER', 'ADMIN'], 'labels unchanged');
  t.equal(await tableChecksum(db), data, 'data unchanged');
  t.notOk(existsSync(join(refused.maintenanceDir, 'enabled.lock')), 'maintenance never ON');
  t.ok(
    v1.of('probe').every((e) => e.on === false),
    "v1's probe never saw maintenance",
  );

  // c. Replace v1 by v2; once v1 is no longer "seen recently" (APP_SEEN_S, 60 s as shipped: SEEN_S
  // here) — what `make app-status --exit-code` answering 0 tells the operator — the run goes through.
  await v1.stop();
  const before = await seeded(db);
  t.ok(before.roles.USER > 0 && before.roles.ADMIN > 0, `seeded: ${JSON.stringify(before.roles)}`);
  const v2 = await startApp(t, prisma, db, 'v2', { reportMs: REPORT_MS, pollMs: 100 });
  const s = tempSettings(db, { APP_SEEN_S: String(SEEN_S) });
  await untilAllCanRead({ DATABASE_URL: url, APP_SEEN_S: String(SEEN_S) }, t);
  const seenAtStart = (await instances(db)).map((r) => r.instance);
  t.ok(seenAtStart.includes(v2.instance), 'v2 has reported');

  const started = Date.now();
  const run = command(t, 'migrate.ts', ['0001'], s.env);
  const samples: Awaited<ReturnType<typeof sample>>[] = [];
  let finished: Awaited<typeof run.done> | undefined;
  void run.done.then((r) => {
    finished = r;
  });
  while (!finished) {
    samples.push(await sample(db, v2.instance));
    await sleep(150);
  }
  const r2 = finished;
  t.equal(r2.code, 0, 'migrate 0001 with v2 up: exit 0', { output: r2.stdout + r2.stderr });
  t.match(r2.stdout, /preflight: 1 app instance\(s\) can read EMPLOYEE, ADMIN/, 'preflight: v2 can read');
  await sleep(Math.max(2000, 2 * REPORT_MS)); // the app goes on after the run
  t.ok(v2.alive(), 'the v2 app is still up (no crash when the guard ended its sessions)', { stderr: v2.stderr() });
  const after = await sample(db, v2.instance);
  await v2.stop();

  const guarded = samples.filter((x) => x.guard);
  t.ok(guarded.length >= 3, `the guard was seen ON (${guarded.length} of ${samples.length} samples)`);
  const seenOn = [...new Set(guarded.map((x) => x.seen))].filter((x) => x !== undefined);
  t.ok(
    seenOn.length >= 2 && seenOn.every((x, i) => i === 0 || x > seenOn[i - 1]),
    `v2's row kept updating through Prisma while the guard was ON (${seenOn.length} distinct reports)`,
  );
  t.ok(after.seen !== undefined && after.seen > (seenOn.at(-1) ?? 0), 'and after it');
  const logs = v2.of('log').map((e) => e.line);
  // Under load (2 cores, a build beside), Prisma may not start a report's transaction within its
  // maxWait (2 s): that report is skipped and the next one, 1 s later, goes through (seenOn above).
  const busy = (l: string | undefined) => /Unable to start a transaction in the given time/.test(l ?? '');
  if (logs.some(busy)) t.comment(`${logs.filter(busy).length} report(s) skipped: Prisma's transaction start timed out`);
  t.same(
    logs.filter((l) => !busy(l)),
    [],
    "v2's report never failed (but for a transaction Prisma could not start in time)",
  );

  const guardFrom = guarded[0]?.at ?? started;
  const guardTo = samples.find((x) => x.at > guardFrom && !x.guard)?.at ?? r2.at;
  const reads = v2.of('read');
  const writes = v2.of('write');
  const phases = {
    before: { reads: kinds(between(reads, 0, guardFrom)), writes: kinds(between(writes, 0, guardFrom)) },
    guard: { reads: kinds(between(reads, guardFrom, guardTo)), writes: kinds(between(writes, guardFrom, guardTo)) },
    after: { reads: kinds(between(reads, r2.at, Infinity)), writes: kinds(between(writes, r2.at, Infinity)) },
  };
  t.comment(`v2 failures by phase and kind: ${JSON.stringify(phases)}`);
  t.comment(
    `v2 reads ok/all: ${reads.filter((e) => e.ok).length}/${reads.length}, ` +
      `writes ok/all: ${writes.filter((e) => e.ok).length}/${writes.length}`,
  );
  t.same(
    reads.filter((e) => e.kind?.startsWith('P2023')),
    [],
    'v2 never fails with P2023 (its client knows every label)',
  );
  t.ok(
    between(reads, guardFrom, guardTo).some((e) => e.ok),
    'reads go on while the guard is ON',
  );
  t.ok(
    between(writes, guardFrom, guardTo).some((e) => e.kind === 'P2039/25006'),
    'writes during maintenance fail with P2039 … 25006',
  );
  // The guard's exact start is not seen from here (samples every 150 ms): judge by the app's refusals.
  // 57P01: a write in flight when the guard ended its session (this app writes without reading the
  // lock); refused like the others, and not committed (checked below: no write is lost or extra).
  const refusals = writes.filter((e) => !e.ok);
  t.same(
    [...new Set(refusals.map((e) => e.kind))].filter((k) => k !== 'P2039/25006' && k !== 'P2039/57P01'),
    [],
    'every failed write is a read-only refusal or a session the guard ended (no other error)',
  );
  t.ok(
    refusals.every((e) => e.at > started && e.at < r2.at),
    'writes are refused only while the run is on',
  );
  t.same(
    between(writes, refusals[0]?.at ?? 0, (refusals.at(-1)?.at ?? 0) + 1).filter((e) => e.ok),
    [],
    'no write goes through between the first refusal and the last',
  );
  const readsAfter = between(reads, r2.at, Infinity);
  t.ok(readsAfter.length >= 5, `reads after the run (${readsAfter.length})`);
  t.same(
    readsAfter.filter((e) => !e.ok),
    [],
    'every read after maintenance-off works',
  );
  t.ok(
    readsAfter.every((e) => Object.keys(e.roles ?? {}).every((l) => l === 'EMPLOYEE' || l === 'ADMIN')),
    'findMany returns every row as EMPLOYEE or ADMIN',
  );
  t.equal(readsAfter.at(-1)?.roles?.EMPLOYEE, before.roles.USER, 'every USER row read back as EMPLOYEE');
  const writesAfter = between(writes, r2.at, Infinity);
  t.ok(writesAfter.length > 0 && writesAfter.every((e) => e.ok), 'writes work again after maintenance-off');

  t.same(await enumLabels(db), FINAL, 'final labels');
  t.same(
    await seeded(db),
    { roles: { ADMIN: before.roles.ADMIN, EMPLOYEE: before.roles.USER }, identity: before.identity },
    'the seeded rows: every USER is EMPLOYEE, ADMIN kept, (id, email) unchanged',
  );
  const appRows = await query<{ email: string; role: string }>(
    db,
    `SELECT email, role::text AS role FROM "User" WHERE email LIKE 'app-%' ORDER BY email`,
  );
  t.same(
    appRows.map((r) => r.email),
    writes
      .filter((e) => e.ok)
      .map((e) => e.email)
      .sort(),
    "every write the app saw succeed is there, and no other: the run lost none of the app's writes",
  );
  t.ok(
    appRows.every((r) => r.role === 'ADMIN'),
    'as ADMIN',
  );
  t.notOk(existsSync(join(s.maintenanceDir, 'enabled.lock')), 'lock file removed');
  t.notOk((await sample(db, v2.instance)).guard, 'guard off');
});

t.test('a v1 app up after the contract keeps maintenance ON; replaced, the run resumes', async (t) => {
  const db = await seededDatabase(t, 300);
  const s = tempSettings(db); // APP_SEEN_S as shipped (60 s)
  const v2 = await startApp(t, prisma, db, 'v2', { reportMs: REPORT_MS });
  await untilAllCanRead({ DATABASE_URL: urlOf(db) }, t);

  const run = command(t, 'migrate.ts', ['0001'], s.env);
  let ended = false;
  void run.done.then(() => {
    ended = true;
  });
  // (STRATEGY unset takes rewrite here: its contract is done in the mutate step, then skipped.)
  while (!/✓ contract|• contract: skipped/.test(run.stdout()) && !ended) await sleep(20);
  t.notOk(ended, 'the run reached the contract');
  // An old image started again (a rollback of the deploy), after the contract: up and reporting
  // before maintenance-off looks (the runner held at its next journal write meanwhile).
  const release = await holdRunner(t, db);
  const v1: AppProcess = await startApp(t, prisma, db, 'v1', { reportMs: REPORT_MS, pollMs: 200 });
  while (!(await query(db, 'SELECT FROM breaking_migrations.app_instances WHERE instance = $1', [v1.instance])).length)
    await sleep(50);
  await release();
  const r = await run.done;
  t.equal(r.code, 1, 'migrate 0001: exit 1', { output: r.stdout + r.stderr });
  t.match(
    r.stderr,
    new RegExp(
      /step maintenance-off failed: 1 app instance\(s\) up since the contract cannot read "?Role"?'s labels /.source +
        `EMPLOYEE, MANAGER, ADMIN: ${esc(v1.instance)} \\(build v1\\) knows USER, ADMIN, not EMPLOYEE, MANAGER`,
    ),
    'maintenance-off names the v1 instance',
  );
  t.match(r.stderr, /maintenance stays ON/, 'and says maintenance stays ON');
  t.ok(existsSync(join(s.maintenanceDir, 'enabled.lock')), 'the lock file is still there');
  t.ok((await sample(db, v1.instance)).guard, 'the guard is still ON');
  t.same(await enumLabels(db), FINAL, 'the data is migrated; only the site waits');
  await sleep(1000);
  const p2023 = v1.of('read').filter((e) => e.kind === 'P2023');
  t.ok(p2023.length > 0, `what maintenance keeps visitors from: v1's reads fail (${p2023[0]?.message})`);
  t.match(p2023[0]?.message ?? '', /Value 'EMPLOYEE' not found in enum 'Role'/, 'P2023 on EMPLOYEE');
  t.ok(
    v1.of('probe').some((e) => e.on === true),
    "v1's probe (through Prisma) sees maintenance ON",
  );
  t.same(v1.of('log'), [], "v1's report, made during maintenance, never failed");
  t.ok(v2.alive(), 'v2 still up');

  // Replaced, the same command resumes at once: its contract runs again, and only instances seen
  // since then count (v1's row is still "seen in the last 60 s", yet not since the new contract).
  await v1.stop();
  const again = await command(t, 'migrate.ts', ['0001'], s.env).done;
  t.equal(again.code, 0, 'migrate 0001 again: exit 0', { output: again.stdout + again.stderr });
  t.match(again.stdout, /resuming run /, 'it resumed the run');
  t.notOk(existsSync(join(s.maintenanceDir, 'enabled.lock')), 'lock file removed');
  t.notOk((await sample(db, v2.instance)).guard, 'guard off');
});

// The operator's experience: messages true where they run, exit codes through make, a session
// that may write during maintenance, and what ran on this database, when, with which result.
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { migrate } from '../bin/migrate.js';
import { schema } from '../bin/schema.js';
import { ensureJournal } from '../bin/lib/runbook/journal.js';
import { withSql } from '../bin/lib/connection/db.js';
import { repo, runBin } from './helpers/cli.js';
import { enumLabels, query, seededDatabase, tableChecksum, urlOf } from './helpers/database.js';
import { addSneakyTrigger, tempSettings } from './helpers/runbook.js';

const makeRun = (args: string[], env: Record<string, string>, input?: string) =>
  spawnSync('make', ['-s', ...args], {
    cwd: repo,
    encoding: 'utf8',
    input,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });

t.test("exit codes through make: make exits 2, and its last line states the tool's own code", async (t) => {
  const r = makeRun(['migrate-0001'], {
    DATABASE_URL: 'postgresql://app:pw@127.0.0.1:1/app',
    MAINTENANCE_DIR: '/nonexistent/m',
  });
  t.equal(r.status, 2, "make's own status for a failed recipe");
  t.match(r.stderr, /^migrate-0001: cannot reach the PostgreSQL server/m);
  t.match(
    r.stderr.trim().split('\n').pop(),
    /^make: \*\*\* \[(Makefile|breaking-migrations\.mk):\d+: migrate-0001\] Error 3$/,
    'the last line: the tool exited 3 (unreachable)',
  );
  const direct = runBin('migrate.ts', ['0001'], { DATABASE_URL: 'postgresql://app:pw@127.0.0.1:1/app' });
  t.equal(direct.code, 3, 'called directly, the code itself');
});

t.test(
  'a failed rehearsal speaks of the scratch copy: production untouched, nothing to restore, nothing to resume',
  async (t) => {
    const url = await seededDatabase(t, 800);
    await addSneakyTrigger(url);
    const s = tempSettings(url);
    const data = await tableChecksum(url);
    const r = runBin('rehearse.ts', ['0001'], s.env);
    t.equal(r.code, 1);
    t.match(
      r.stderr,
      new RegExp(
        /^rehearse-0001: the rehearsal failed on the scratch copy \S+_rehearse_\S+ \(dropped\); /.source +
          /production is untouched: step mutate failed: invariant failed/.source,
      ),
    );
    t.match(
      r.stderr,
      new RegExp(
        /next: The copy has production.s schema and data: fix what the cause names /.source +
          /.*then `make rehearse-0001` again\. Nothing to restore\./.source,
      ),
    );
    t.notMatch(
      r.stderr,
      /make restore|maintenance stays ON|make migrate-0001|it resumes/,
      'nothing that would act on production',
    );
    t.equal(await tableChecksum(url), data, 'production data unchanged');
    t.notOk(existsSync(join(s.maintenanceDir, 'enabled.lock')), 'production never in maintenance');
  },
);

t.test('a refused run is closed in the journal: the next run starts afresh; make history shows both', async (t) => {
  const url = await seededDatabase(t, 1200);
  await schema(url, 'toolkit');
  await withSql(url, (sql) => ensureJournal(sql));
  await query(url, `CREATE VIEW "UserRoles" AS SELECT id, role FROM "User"`);
  const s = tempSettings(url);
  const refused = runBin('migrate.ts', ['0001'], s.env);
  t.equal(refused.code, 2);
  await query(url, `DROP VIEW "UserRoles"`);
  const [{ n: users }] = await query(url, `SELECT count(*)::int AS n FROM "User" WHERE role = 'USER'`);
  const lines: string[] = [];
  const r = await migrate(url, '0001', s, { log: (l) => lines.push(l) });
  t.notOk(r.resumed, 'not a resumption');
  t.notMatch(lines.join('\n'), /resuming run/);

  const h = runBin('history.ts', ['--json'], { DATABASE_URL: urlOf(url) });
  t.equal(h.code, 0, h.stderr);
  const runs = JSON.parse(h.stdout);
  t.equal(runs.length, 2, 'two runs');
  // STRATEGY unset took rewrite (nothing here sees an UPDATE): its rows changed come from its counts
  // (no UPDATE row count); its contract is inside its mutate step.
  t.match(runs[0], { migration: '0001', result: 'done', strategy: 'rewrite', rowsChanged: users, dump: r.dump });
  t.same(
    runs[0].steps.map((x: { step: string }) => x.step),
    ['toolkit', 'maintenance-on', 'dump', 'expand', 'mutate', 'final-checks', 'maintenance-off'],
  );
  // The journal's durations are the run's own: the same steps, the same seconds as migrate returned.
  // (The mutation's row holds the verifier's own time, inside its step's.)
  const measured = new Map(r.steps.map((x) => [x.step, x.seconds]));
  for (const x of runs[0].steps as { step: string; seconds: number }[]) {
    if (x.step === 'mutate')
      t.ok(x.seconds > 0 && x.seconds <= measured.get('mutate')!, "mutate: the verifier's time, within its step");
    else t.equal(x.seconds.toFixed(3), measured.get(x.step)!.toFixed(3), `${x.step}: the duration the run measured`);
  }
  t.match(runs[1], {
    migration: '0001',
    result: 'refused in preflight',
    cause: /view "UserRoles" depends on column "User"\.role/,
  });
  t.ok(runs[0].started > runs[1].started, 'newest first');
  const text = runBin('history.ts', [], { DATABASE_URL: urlOf(url) });
  t.match(
    text.stdout,
    new RegExp(
      /migration 0001 {2}run \S+: done\n/.source +
        / {6}strategy rewrite; \d+ rows changed; site in maintenance [\d.]+ s; dump \S+\.dump/.source,
    ),
  );
  t.match(text.stdout, /^history: 2 run\(s\) on this database/m);
});

t.test(
  'make psql: a session that may write while the guard holds the database read-only, and that the guard spares',
  async (t) => {
    const url = await seededDatabase(t, 10);
    const s = tempSettings(url);
    t.equal(runBin('maintenance.ts', ['on'], s.env).code, 0);
    const app = await query(url, `SELECT 1`).then(() => 'ok');
    t.equal(app, 'ok');
    const r = makeRun(
      ['psql'],
      { DATABASE_URL: urlOf(url) },
      "CREATE TABLE fixed_during_maintenance (id int);\nSELECT current_setting('application_name') AS app;\n",
    );
    t.equal(r.status, 0, r.stderr);
    t.match(r.stdout, /breaking-migrations-psql/);
    t.same(
      await query(url, `SELECT to_regclass('fixed_during_maintenance') IS NOT NULL AS made`),
      [{ made: true }],
      'it wrote while the guard was on',
    );
    t.equal(runBin('maintenance.ts', ['off'], s.env).code, 0);
    t.same(await enumLabels(url), ['USER', 'ADMIN']);
  },
);

t.test('progress: a percentage and the time left, from what a second connection sees the mutation write', async (t) => {
  const { describeProgress, expectedWrites, withGrowth } = await import('../bin/lib/cli/progress.js');
  const { loadMigration } = await import('../bin/lib/runbook/migration.js');
  const { verify } = await import('../verify/verifier.js');
  t.equal(
    describeProgress({ done: 25 * 1048576, total: 100 * 1048576, unit: 'bytes' }, 10),
    '25% (25.0 MB of 100.0 MB), ~30 s left',
  );
  t.equal(describeProgress({ done: 5 * 1048576, unit: 'bytes' }, 3), '5.0 MB, 3 s', 'without a total: what is known');
  t.equal(describeProgress({ done: 0, total: 10, unit: 'rows' }, 1), '0% (0 rows of 10 rows), estimating');
  t.equal(
    describeProgress({ done: 70, total: 100, unit: 'rows' }, 2, 25),
    '70% (70 rows of 100 rows), ~1 s left',
    'the time left rounded to the nearest second (1.2 s), not up',
  );
  t.equal(
    describeProgress({ done: 99, total: 100, unit: 'rows' }, 2, 25),
    '99% (99 rows of 100 rows), ~1 s left',
    'never ~0 s while the step runs',
  );
  const url = await seededDatabase(t, 300000);
  await schema(url, 'expand');
  const m = loadMigration('0001');
  const lines: string[] = [];
  await withSql(url, async (sql) => {
    const writes = await expectedWrites(sql, m.plan);
    t.ok(
      writes && writes.update > 1e6 && writes.rewrite > writes.update,
      `plan.sql gives what the UPDATE and a rewrite write (${JSON.stringify(writes)})`,
    );
    await withGrowth(
      url,
      'mutate',
      writes?.update,
      (l) => lines.push(l),
      () => verify(sql, m, {}),
      { everyMs: 150, live: false },
    );
  });
  const reported = lines.filter((l) =>
    /^ {2}… mutate: \d+% \([\d.]+ MB of [\d.]+ MB\), (~\d+ s left|estimating)$/.test(l),
  );
  t.ok(reported.length >= 1, `progress lines while the UPDATE ran (${lines.slice(0, 3).join(' | ')})`);
  const percents = reported.map((l) => Number(/(\d+)%/.exec(l)?.[1]));
  t.same(
    percents,
    [...percents].sort((a, b) => a - b),
    'never going backwards',
  );
});

// kill -9 of the runner at each step boundary and in the middle of the mutation, then a re-run,
// for every strategy: the migration ends correctly, every USER is EMPLOYEE, (id, email) unchanged.
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { migrate } from '../bin/migrate.js';
import { loadMigration } from '../bin/lib/runbook/migration.js';
import { strategy as pickStrategy, STRATEGY_NAMES } from '../bin/lib/runbook/strategy.js';
import { catalogSnapshot, enumLabels, query, seededDatabase, tableChecksum } from './helpers/database.js';
import { runBin } from './helpers/cli.js';
import { assertMigrated, snapshot, tempSettings } from './helpers/runbook.js';

const repo = fileURLToPath(new URL('..', import.meta.url));

/** Starts the runner as its own process and SIGKILLs it when `when` says so. */
async function runAndKill(
  env: Record<string, string>,
  when: (out: string) => boolean | Promise<boolean>,
): Promise<{ out: string; killed: boolean }> {
  const child = spawn(process.execPath, ['--import=tsx', 'bin/migrate.ts', '0001'], {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let killed = false;
  child.stdout.on('data', async (d) => {
    out += d;
    if (!killed && (await Promise.resolve(when(out)).catch(() => false))) {
      killed = true;
      child.kill('SIGKILL');
    }
  });
  await new Promise((resolve) => child.on('close', resolve));
  return { out, killed };
}

// Every step boundary each strategy prints (a strategy skips the steps it does in the verifier).
const allBoundaries = [
  '✓ preflight',
  '✓ toolkit',
  '✓ maintenance-on',
  '→ dump',
  '✓ dump',
  '✓ expand',
  '→ mutate',
  '✓ mutate',
  '→ contract',
  '✓ contract',
  '✓ final-checks',
  '✓ maintenance-off',
];

for (const strategy of STRATEGY_NAMES) {
  const { expandStep, contractStep } = pickStrategy(strategy, loadMigration('0001'));
  const skips = [...(expandStep ? [] : ['expand']), ...(contractStep ? [] : ['contract'])];
  const boundaries = allBoundaries.filter((b) => !skips.some((step) => b.endsWith(` ${step}`)));
  for (const marker of boundaries) {
    t.test(`STRATEGY=${strategy}: killed at "${marker}", then run again`, async (t) => {
      const url = await seededDatabase(t, 3000);
      const s = tempSettings(url);
      const before = await snapshot(url);
      const { killed } = await runAndKill({ ...s.env, STRATEGY: strategy }, (out) => out.includes(marker));
      t.ok(killed, 'the runner was killed');
      const r = await migrate(url, '0001', s, { strategy, log: () => {} });
      // From maintenance-on on, the run is in the journal: the re-run resumes it.
      if (boundaries.indexOf(marker) >= boundaries.indexOf('✓ maintenance-on')) {
        t.ok(
          r.resumed || r.alreadyApplied,
          `the re-run resumed (${r.resumed}) or found it applied (${r.alreadyApplied})`,
        );
      }
      await assertMigrated(t, url, before, s);
      const [open] = await query(url, `SELECT count(DISTINCT run_id)::int AS runs FROM breaking_migrations.journal`);
      t.ok(open.runs <= 1, 'one run in the journal, resumed rather than restarted');
    });
  }
}

// The statement the verifier's transaction spends its time in: the UPDATE, or rewrite.sql's swap.
const longStatement: Record<string, string> = {
  update: '%breaking_migrations.map_enum_rows(%',
  rewrite: '%breaking_migrations.swap_enum(%rewrite 0001%',
};

for (const [strategy, like] of Object.entries(longStatement)) {
  t.test(
    `STRATEGY=${strategy}: killed in the middle of the mutation (its statement is running), then run again`,
    async (t) => {
      const url = await seededDatabase(t, 250000);
      const s = tempSettings(url);
      const before = await snapshot(url);
      const { killed } = await runAndKill({ ...s.env, STRATEGY: strategy }, async (out) => {
        if (!out.includes('→ mutate')) return false;
        for (let i = 0; i < 200; i++) {
          const [r] = await query(
            url,
            `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE datname = current_database() AND pid <> pg_backend_pid() AND query LIKE $1 AND state = 'active'`,
            [like],
          );
          if (r.n > 0) return true;
          await new Promise((res) => setTimeout(res, 20));
        }
        return false;
      });
      t.ok(killed, 'killed while the statement ran');
      const [mid] = await query(
        url,
        `SELECT count(*)::int AS n FROM breaking_migrations.journal WHERE step = 'mutate' AND event = 'done'`,
      );
      t.equal(mid.n, 0, 'the mutation did not commit');
      t.same(await enumLabels(url), ['USER', 'EMPLOYEE', 'MANAGER', 'ADMIN'], 'the type as the expand left it');
      const r = await migrate(url, '0001', s, { strategy, log: () => {} });
      t.ok(r.resumed);
      t.same(
        r.verifier?.updated,
        strategy === 'update' ? { 'public."User"': { role: before.counts.USER } } : null,
        'the re-run did the whole mutation',
      );
      await assertMigrated(t, url, before, s);
    },
  );
}

// An open run keeps the strategy it began with once that choice is in the database: its UPDATE
// committed (the contract is still to do), or rename's dump taken before the window (its way
// back is the inverse, not that dump). STRATEGY unset resumes it so; another STRATEGY is refused.
for (const [began, marker, other] of [
  ['update', '✓ mutate', 'rewrite'],
  ['rename', '✓ maintenance-on', 'update'], // after its dump's journal row, which follows '✓ dump'
] as const) {
  t.test(`killed at "${marker}" with STRATEGY=${began}: STRATEGY=${other} is refused, unset resumes it`, async (t) => {
    const url = await seededDatabase(t, 3000);
    const s = tempSettings(url);
    const before = await snapshot(url);
    const { killed } = await runAndKill({ ...s.env, STRATEGY: began }, (out) => out.includes(marker));
    t.ok(killed, 'the runner was killed');
    const [catalog, data] = [await catalogSnapshot(url), await tableChecksum(url)];
    const refused = runBin('migrate.ts', ['0001'], { ...s.env, STRATEGY: other });
    t.equal(refused.code, 2, refused.stderr);
    t.match(
      refused.stderr,
      new RegExp(
        `^migrate-0001: the open run began as STRATEGY=${began} \\((its mutation has committed|its dump was taken ` +
          `before the window)\\); STRATEGY=${other} cannot finish it; nothing changed\\.\\n {2}next: Run ` +
          '`make migrate-0001` with STRATEGY unset',
      ),
    );
    t.same(await catalogSnapshot(url), catalog, 'the refusal changed no catalog');
    t.equal(await tableChecksum(url), data, 'nor any row');
    const lines: string[] = [];
    const r = await migrate(url, '0001', s, { log: (l) => lines.push(l) });
    t.ok(r.resumed, 'resumed');
    t.equal(r.strategy, began, 'as it began');
    t.match(lines.join('\n'), new RegExp(`strategy ${began} \\(STRATEGY unset\\): as this run began: `));
    await assertMigrated(t, url, before, s);
  });
}

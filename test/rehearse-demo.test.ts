// make rehearse-0001 (production only read) and make demo (the whole story, nothing left behind).
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { rehearse } from '../bin/rehearse.js';
import { repo, runBin } from './helpers/cli.js';
import {
  catalogSnapshot,
  enumLabels,
  query,
  seededDatabase,
  tableChecksum,
  urlOf,
  oracleConfig,
} from './helpers/database.js';
import { tempSettings } from './helpers/runbook.js';
import { relabelled } from '../verify/verifier.js';

for (const inSandbox of [false, true]) {
  t.test(
    `rehearse on ${inSandbox ? 'a sandbox' : 'the same server'}: ` +
      'the runbook passes on the copy, production is untouched',
    async (t) => {
      const url = await seededDatabase(t, 5000);
      const s = tempSettings(url);
      const catalog = await catalogSnapshot(url);
      const data = await tableChecksum(url);
      const lines: string[] = [];
      const r = await rehearse(url, '0001', s, { inSandbox, log: (l) => lines.push(l) });
      t.match(
        lines[0],
        /^ {2}strategy rewrite \(STRATEGY unset, as production would take it\): one table rewrite instead/,
        'the strategy is chosen on production, whose replication slots a copy lacks',
      );
      t.equal(r.where, inSandbox ? 'sandbox' : 'server');
      t.same(
        r.run.steps.map((x) => x.step),
        [
          'preflight',
          'toolkit',
          'maintenance-on',
          'dump',
          'expand',
          'mutate',
          'contract',
          'final-checks',
          'maintenance-off',
        ],
      );
      t.ok(
        r.run.checks.every((c) => c.ok),
        'final checks pass on the copy',
      );
      // STRATEGY unset, as production would: rewrite (nothing sees an UPDATE), every USER relabelled.
      t.equal(r.run.strategy, 'rewrite');
      t.equal(
        relabelled(r.run.verifier?.before, r.run.verifier?.after),
        Number((await query(url, `SELECT count(*) AS n FROM "User" WHERE role = 'USER'`))[0].n),
      );
      t.same(await catalogSnapshot(url), catalog, 'production catalog unchanged');
      t.equal(await tableChecksum(url), data, 'production data unchanged');
      t.same(await enumLabels(url), ['USER', 'ADMIN']);
      t.notOk(existsSync(join(s.maintenanceDir, 'enabled.lock')), 'production never in maintenance');
      const [{ n }] = await query(url, `SELECT count(*)::int AS n FROM pg_database WHERE datname = $1`, [r.scratch]);
      t.equal(n, 0, 'scratch database dropped');
      t.same(
        readdirSync(s.backupDir).filter((f) => f.endsWith('.dump')).length,
        1,
        'one fresh dump of production, kept as a backup',
      );
    },
  );
}

t.test('rehearse STRATEGY=rename from the command line: the copy is renamed, production untouched', async (t) => {
  const url = await seededDatabase(t, 3000);
  const s = tempSettings(url);
  const data = await tableChecksum(url);
  const r = runBin('rehearse.ts', ['0001'], { ...s.env, STRATEGY: 'rename' });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^ {2}expand +skipped: done by STRATEGY=rename$/m);
  t.match(r.stdout, /^ {2}contract +skipped: done by STRATEGY=rename$/m);
  t.match(
    r.stdout,
    /^rehearse-0001: passed on a copy of .*; strategy rename; maintenance window there: [\d.]+ s, dump included/m,
  );
  t.equal(await tableChecksum(url), data, 'production data unchanged');
  t.same(await enumLabels(url), ['USER', 'ADMIN']);
});

t.test('rehearse on a database already migrated: says so, names no strategy', async (t) => {
  const url = await seededDatabase(t, 200);
  const s = tempSettings(url);
  t.equal(runBin('migrate.ts', ['0001'], s.env).code, 0);
  const data = await tableChecksum(url);
  const r = runBin('rehearse.ts', ['0001'], s.env);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^rehearse-0001: already applied on a copy of .*: final checks pass, nothing to rehearse \(/m);
  t.notMatch(r.stdout, /strategy undefined/);
  t.equal(await tableChecksum(url), data, 'production data unchanged');
});

t.test('make demo tells the whole story and exits 0', async (t) => {
  const r = spawnSync('make', ['-s', 'demo', 'ROWS=3000'], {
    cwd: repo,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  t.equal(r.status, 0, r.stderr);
  // Two counts taken apart (before the run, after it), each of the whole table.
  const before = /before: public\."User"\.role: USER=(\d+) {2}ADMIN=(\d+)/.exec(r.stdout);
  const after = /after : public\."User"\.role: EMPLOYEE=(\d+) {2}MANAGER=0 {2}ADMIN=(\d+)/.exec(r.stdout);
  t.ok(before && after, r.stdout);
  t.equal(after?.[1], before?.[1], 'as many EMPLOYEE after as USER before');
  t.equal(after?.[2], before?.[2], 'ADMIN unchanged');
  t.equal(Number(before?.[1]) + Number(before?.[2]), 3000, 'ROWS users before');
  const summary = new RegExp(
    /demo: (\d+) USER became (\d+) EMPLOYEE, (\d+) ADMIN kept; /.source +
      /labels now EMPLOYEE, MANAGER, ADMIN; maintenance window [\d.]+ s/.source,
  );
  const m = summary.exec(r.stdout);
  t.ok(m, 'summary line');
  t.same([m?.[1], m?.[2], m?.[3]], [before?.[1], before?.[1], before?.[2]], 'the summary says what the counts said');
});

t.test('verifier CLI: needs expand, --dry-run changes nothing, --report writes JSON', async (t) => {
  const url = await seededDatabase(t, 800);
  const env = { DATABASE_URL: urlOf(url) };
  const early = runBin('../verify/0001_migrate_user_to_employee.ts', [], env);
  t.equal(early.code, 2);
  t.match(
    early.stderr,
    new RegExp(
      /^verify 0001: the toolkit's functions are not installed on this database \(.*\); nothing changed\.\n/.source +
        /  next: Apply the expand step first: `make expand MIGRATION=0001`/.source,
    ),
  );
  const { schema } = await import('../bin/schema.js');
  await schema(url, 'expand');
  const data = await tableChecksum(url);
  const dry = runBin('../verify/0001_migrate_user_to_employee.ts', ['--dry-run'], env);
  t.equal(dry.code, 0, dry.stderr);
  t.match(dry.stdout, /verify 0001: \d+ row\(s\) updated, 13 checks passed, rolled back \(dry run\)/);
  t.equal(await tableChecksum(url), data, 'dry run: data unchanged');
  const reportFile = join(`${tempSettings(url).backupDir}-report.json`);
  const real = runBin('../verify/0001_migrate_user_to_employee.ts', ['--report', reportFile], env);
  t.equal(real.code, 0, real.stderr);
  const { readFileSync } = await import('node:fs');
  const report = JSON.parse(readFileSync(reportFile, 'utf8'));
  t.match(report, { migration: '0001', committed: true, dryRun: false });
  t.same(Object.keys(report.after.tables['public."User"'].columns.role).sort(), ['ADMIN', 'EMPLOYEE'], 'no USER left');
  t.equal(report.checks.length, 13); // 9 counts and 4 which-rows checks (ADMIN, EMPLOYEE, MANAGER, NULL)
  t.same((await query(url, `SELECT count(*)::int AS n FROM "User" WHERE role = 'USER'`))[0].n, 0);
});

t.test('verifier: a table it cannot lock within LOCK_TIMEOUT is a clear failure, nothing changed', async (t) => {
  const url = await seededDatabase(t, 300);
  const { schema } = await import('../bin/schema.js');
  await schema(url, 'expand');
  const pg = (await import('pg')).default;
  const writer = new pg.Client({ ...oracleConfig(url) });
  await writer.connect();
  // Holds ROW EXCLUSIVE.
  await writer.query(`BEGIN; UPDATE "User" SET email = email WHERE id = (SELECT min(id) FROM "User")`);
  const data = await tableChecksum(url);
  const r = runBin('../verify/0001_migrate_user_to_employee.ts', [], { DATABASE_URL: urlOf(url), LOCK_TIMEOUT: '1s' });
  await writer.query('ROLLBACK');
  await writer.end();
  t.equal(r.code, 1);
  t.match(
    r.stderr,
    /^verify 0001: could not lock the table within lock_timeout \(1s\): another transaction holds it; nothing changed/,
  );
  t.equal(await tableChecksum(url), data);
});

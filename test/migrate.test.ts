// make migrate-0001 end to end: happy path at a few sizes, re-run, failures and the way back.
import t from 'tap';
import pg from 'pg';
import type { Target } from '../bin/lib/connection/target.js';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '../bin/migrate.js';
import { runBin } from './helpers/cli.js';
import {
  catalogSnapshot,
  enumLabels,
  query,
  roleCounts,
  seededDatabase,
  tableChecksum,
  oracleConfig,
} from './helpers/database.js';
import { addSneakyTrigger, assertMigrated, snapshot, tempSettings } from './helpers/runbook.js';

const quiet = () => {};

// STRATEGY unset takes rewrite here (nothing sees an UPDATE of "User"): its contract is done in its
// mutate step; STRATEGY=update is the runbook's UPDATE, then the contract.
for (const [rows, strategy] of [[0], [1], [2500, 'update'], [40000]] as [number, string?][]) {
  t.test(`happy path with ${rows} users (STRATEGY=${strategy ?? ''}), then a second run changes nothing`, async (t) => {
    const url = await seededDatabase(t, rows);
    const s = tempSettings(url);
    const before = await snapshot(url);
    const lines: string[] = [];
    const r = await migrate(url, '0001', s, { strategy, log: (l) => lines.push(l) });
    t.equal(r.strategy, strategy ?? 'rewrite', 'the strategy the run took');
    if (!strategy)
      t.match(lines.join('\n'), /^ {2}strategy rewrite \(STRATEGY unset\): one table rewrite instead of an UPDATE/m);
    t.same(
      r.steps.map((x) => x.step),
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
    t.same(
      r.steps.filter((x) => x.skipped).map((x) => `${x.step}: ${x.skipped}`),
      strategy ? [] : ['contract: done by STRATEGY=rewrite'],
      'nothing else skipped on a first run',
    );
    t.same(
      r.verifier?.updated,
      strategy ? { 'public."User"': { role: before.counts.USER ?? 0 } } : null,
      'rows updated = USER before (no UPDATE: none)',
    );
    // counts.sql against the pg oracle's own count per label and hash of every (id, email), as a
    // record (both text: enum_counts hashes such keys without turning the row into text)
    // and per label, the same hash of the rows holding it (which rows, not only how many)
    const [{ identity, users, admins }] = await query(
      url,
      `SELECT COALESCE(sum(h), 0)::text AS identity, (sum(h) FILTER (WHERE role = 'EMPLOYEE'))::text AS users,
              (sum(h) FILTER (WHERE role = 'ADMIN'))::text AS admins
       FROM (SELECT role, hash_record_extended(ROW(id, email), 0) AS h FROM "User") u`,
    );
    const only = <T>(o: Record<string, T | undefined>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v));
    const user = (role: Record<string, number | undefined>, identities: Record<string, string | undefined>) => ({
      tables: {
        'public."User"': {
          rows: before.counts.total,
          identity,
          columns: { role: only(role) },
          identities: { role: only(identities) },
          holding: {},
        },
      },
    });
    t.same(
      r.verifier?.before,
      user({ USER: before.counts.USER, ADMIN: before.counts.ADMIN }, { USER: users, ADMIN: admins }),
      'the verifier counted what was there',
    );
    t.same(
      r.verifier?.after,
      user({ EMPLOYEE: before.counts.USER, ADMIN: before.counts.ADMIN }, { EMPLOYEE: users, ADMIN: admins }),
      'and what it left',
    );
    t.ok(r.dump && existsSync(r.dump), 'dump taken');
    t.same(
      r.checks.map((c) => c.check),
      ['"Role" labels, in order', 'public."User" as committed'],
    );
    t.ok(
      r.checks.every((c) => c.ok),
      'final checks pass',
    );
    t.equal(statSync(r.report!).mode & 0o777, 0o600, 'report 0600');
    t.equal(JSON.parse(readFileSync(r.report!, 'utf8')).runId, r.runId);
    await assertMigrated(t, url, before, s);

    const data = await tableChecksum(url);
    const catalog = await catalogSnapshot(url);
    const journal = await query(url, `SELECT count(*)::int AS n FROM breaking_migrations.journal`);
    const again = await migrate(url, '0001', s, { log: quiet });
    t.equal(again.alreadyApplied, true);
    t.equal(await tableChecksum(url), data, 'second run: data unchanged');
    t.same(await catalogSnapshot(url), catalog, 'second run: catalog unchanged');
    t.same(
      await query(url, `SELECT count(*)::int AS n FROM breaking_migrations.journal`),
      journal,
      'second run: journal unchanged',
    );
  });
}

t.test(
  'an invariant that fails rolls the mutation back; maintenance stays on; the restore command is printed',
  async (t) => {
    const url = await seededDatabase(t, 3000);
    await addSneakyTrigger(url);
    const s = tempSettings(url);
    const data = await tableChecksum(url);
    const r = runBin('migrate.ts', ['0001'], s.env);
    t.equal(r.code, 1);
    t.match(
      r.stderr,
      new RegExp(
        /^migrate-0001: step mutate failed: invariant failed, mutation rolled back: /.source +
          /public\."User"\.role: EMPLOYEE after = EMPLOYEE before \+ USER before \(expected \d+, got 0\); /.source +
          /public\."User"\.role: MANAGER after = MANAGER before \(expected 0, got \d+\)/.source,
      ),
    );
    t.match(r.stderr, /state: expanded \(schema only, data unchanged\); maintenance stays ON/);
    t.match(r.stderr, /back to the data before this run: make restore DUMP=\S+\.dump/);
    t.equal(await tableChecksum(url), data, 'data unchanged');
    t.ok(existsSync(join(s.maintenanceDir, 'enabled.lock')), 'maintenance still ON');
  },
);

t.test('a view on role stops the run in preflight, before any change', async (t) => {
  const url = await seededDatabase(t, 500);
  await query(url, `CREATE VIEW "UserRoles" AS SELECT id, role FROM "User"`);
  const s = tempSettings(url);
  const catalog = await catalogSnapshot(url);
  const data = await tableChecksum(url);
  const r = runBin('migrate.ts', ['0001'], s.env);
  t.equal(r.code, 2);
  t.match(
    r.stderr,
    /^migrate-0001: preflight: the contract would be refused: view "UserRoles" depends on column "User".role/,
  );
  t.match(r.stderr, /next: Nothing was changed/);
  t.same(await catalogSnapshot(url), catalog, 'catalog unchanged');
  t.equal(await tableChecksum(url), data, 'data unchanged');
  t.notOk(existsSync(join(s.maintenanceDir, 'enabled.lock')), 'maintenance never turned on');
  t.notOk(existsSync(s.backupDir), 'no dump taken');
});

t.test(
  'a late failure (the contract cannot get its lock) leaves maintenance on; ' +
    'the printed restore brings back the exact pre-run data',
  async (t) => {
    const url = await seededDatabase(t, 4000);
    const s = tempSettings(url);
    const before = await tableChecksum(url);
    const { code, out, err } = await failAtContract(url, s.env);
    t.equal(code, 1, err);
    t.notMatch(out, /AUTO_RESTORE/);
    t.match(err, /step contract failed: .*lock timeout/);
    t.match(err, /state: mutated \(expanded, data changed, not contracted\); maintenance stays ON/);
    t.ok(existsSync(join(s.maintenanceDir, 'enabled.lock')), 'maintenance still ON');
    const restoreCmd = /make restore DUMP=(\S+)/.exec(err)?.[1];
    t.ok(restoreCmd, 'restore command printed');
    const r = runBin('restore.ts', [restoreCmd!], { ...s.env, YES: '1' });
    t.equal(r.code, 0, r.stderr);
    t.equal(await tableChecksum(url), before, 'exact pre-run data');
    t.same(await enumLabels(url), ['USER', 'ADMIN'], 'pre-run type');
  },
);

t.test('AUTO_RESTORE=1 restores the dump itself when the data had changed', async (t) => {
  const url = await seededDatabase(t, 1500);
  const s = tempSettings(url);
  const before = await tableChecksum(url);
  const { code, out, err } = await failAtContract(url, { ...s.env, AUTO_RESTORE: '1' });
  t.equal(code, 1);
  t.match(err, /step contract failed: .*lock timeout/);
  t.match(out, /AUTO_RESTORE=1: restoring /);
  t.match(
    err,
    new RegExp(
      /\n  next: state after the restore: untouched; restored \S+ \(row counts match the dump\); /.source +
        /maintenance stays ON \(since \d\d:\d\d:\d\d UTC: the site has been in maintenance \d+ s\)\n/.source,
    ),
    'the state after the restore, not before, and how long the site has been down',
  );
  t.notMatch(err, /state: mutated|it resumes/);
  t.match(err, /`make maintenance-off` to reopen the site/);
  t.equal(await tableChecksum(url), before, '"User" back to its pre-run data');
  t.same(await enumLabels(url), ['USER', 'ADMIN']);
});

t.test('AUTO_RESTORE=1 whose restore fails: rolled back, and the run says the data is still mutated', async (t) => {
  const url = await seededDatabase(t, 300);
  const s = tempSettings(url);
  // After the UPDATE committed: an event trigger that fails the restore's post-data CREATE INDEX.
  const blockIndexes = () =>
    query(
      url,
      `BEGIN READ WRITE; -- through the guard, as a DBA's make psql would
      CREATE FUNCTION no_index() RETURNS event_trigger LANGUAGE plpgsql AS
        $$ BEGIN IF tg_tag = 'CREATE INDEX' THEN RAISE EXCEPTION 'no index today'; END IF; END $$;
      CREATE EVENT TRIGGER no_index ON ddl_command_end EXECUTE FUNCTION no_index(); COMMIT`,
    );
  const { code, out, err } = await failAtContract(url, { ...s.env, AUTO_RESTORE: '1' }, blockIndexes);
  t.equal(code, 1);
  t.match(out, /AUTO_RESTORE=1: restoring /);
  t.match(
    err,
    new RegExp(
      /\n {2}next: state: mutated \(expanded, data changed, not contracted\); AUTO_RESTORE=1 did not restore: /.source +
        /restore: the restore failed and was rolled back; the database is as it was: .*no index today; /.source +
        /maintenance stays ON/.source,
    ),
    'the restore rolled back: the state the failed step left, as it is',
  );
  t.match(err, /\n {2}back to the data before this run, once that is fixed: make restore DUMP=\S+\.dump\n/);
  t.match(err, /it resumes/);
  t.notMatch(err, /state after the restore/);
  t.equal((await roleCounts(url)).USER, undefined, 'still mutated: no USER row came back');
  await query(url, 'BEGIN READ WRITE; DROP EVENT TRIGGER no_index; COMMIT');
});

t.test('AUTO_RESTORE=1 with a dump that is not what its manifest counted: that dump is not offered', async (t) => {
  const url = await seededDatabase(t, 300);
  const s = tempSettings(url);
  const miscount = async () => {
    const file = readdirSync(s.backupDir).find((f) => f.endsWith('.manifest.json'))!;
    const m = JSON.parse(readFileSync(join(s.backupDir, file), 'utf8'));
    writeFileSync(join(s.backupDir, file), JSON.stringify({ ...m, tables: { ...m.tables, 'public."User"': 1 } }));
  };
  const { code, err } = await failAtContract(url, { ...s.env, AUTO_RESTORE: '1' }, miscount);
  t.equal(code, 1);
  t.match(err, /AUTO_RESTORE=1 did not restore: .*restore check: .*public\."User" has 300 rows \(the manifest: 1\)/);
  t.match(err, /\n {2}back to the data before this run: not from this dump; an earlier one \(`make backups`\)/);
  t.notMatch(err, /make restore DUMP=/, 'the dump at fault is not offered again');
  t.equal((await roleCounts(url)).USER, undefined, 'still mutated: the restore rolled back');
});

t.test(
  'a run that changed data survives a failure and a refused restart: the re-run resumes it, names its first dump, ' +
    'reports its rows and the whole outage',
  async (t) => {
    const url = await seededDatabase(t, 3000);
    const s = tempSettings(url);
    const before = await snapshot(url);
    const t0 = Date.now();
    const first = await failAtContract(url, s.env);
    t.equal(first.code, 1, 'the first attempt fails after the mutation committed');
    const firstDump = /make restore DUMP=(\S+)/.exec(first.err)?.[1];
    t.ok(firstDump, 'the failure names its dump');
    // The next start is refused (this node has no pg_dump): the run stays open with its dump.
    const refused = runBin('migrate.ts', ['0001'], { ...s.env, PG_BINDIR: mkdtempSync(join(tmpdir(), 'bm-no-pg-')) });
    t.equal(refused.code, 2, refused.stderr);
    t.match(refused.stderr, /stays open; its way back stays /);
    const t1 = Date.now();
    const again = runBin('migrate.ts', ['0001'], s.env);
    const t2 = Date.now();
    t.equal(again.code, 0, again.stderr);
    t.match(again.stdout, /resuming run \S+ \(done: .*mutate/);
    t.match(again.stdout, /strategy update \(STRATEGY unset\): as this run began: its mutation has committed/);
    t.match(
      again.stdout,
      new RegExp(`migrate-0001: done \\(resumed\\); ${before.counts.USER} rows updated`),
      'the rows the first attempt changed',
    );
    const outage = /\(site in maintenance ([\d.]+) s, earlier attempts included\)/.exec(again.stdout)?.[1];
    t.ok(outage, 'the summary gives the outage across attempts');
    // Bounds the test measured itself: from before the first attempt to after the last.
    t.ok(
      Number(outage) * 1000 >= t1 - t0 - 1500 && Number(outage) * 1000 <= t2 - t0 + 100,
      `outage ${outage} s within the runs`,
    );
    const report = JSON.parse(readFileSync(/\/\S+\.report\.json/.exec(again.stdout)![0], 'utf8'));
    t.equal(report.dump, firstDump, 'the report names the first dump: the real way back');
    t.equal(report.outageSeconds.toFixed(1), outage, 'the report holds the outage the summary printed');
    await assertMigrated(t, url, before, s);
    const history = runBin('history.ts', [], s.env);
    t.match(history.stdout, /history: 1 run\(s\)/, 'one run: the attempts are the same run');
    t.match(
      history.stdout,
      new RegExp(
        `: done\\n {6}strategy update; ${before.counts.USER} rows changed; site in maintenance ` +
          `${outage!.replace('.', '\\.')} s; dump ${firstDump}`,
      ),
    );
  },
);

/**
 * Runs `migrate.ts 0001` and, once the mutation has committed, holds a reader's transaction open
 * on "User" (reads are allowed in maintenance): it blocks only the contract's ACCESS EXCLUSIVE
 * lock (the verifier's EXCLUSIVE lock lets it be), so the run fails after the data changed.
 */
async function failAtContract(
  url: Target,
  env: Record<string, string>,
  onceMutated: () => Promise<unknown> = async () => {},
): Promise<{ code: number | null; out: string; err: string }> {
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--import=tsx', 'bin/migrate.ts', '0001'], {
    cwd: join(import.meta.dirname, '..'),
    env: { ...process.env, STRATEGY: 'update', ...env }, // the contract as a step of its own, after the UPDATE's commit
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const reader = new pg.Client({ ...oracleConfig(url) });
  const seen = (text: string) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (!out.includes(text)) return;
        child.stdout.off('data', check);
        resolve();
      };
      child.stdout.on('data', check);
      check();
    });
  child.stdout.on('data', (d) => (out += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  await seen('✓ mutate');
  await onceMutated();
  await reader.connect();
  await reader.query('BEGIN; SELECT count(*) FROM "User"');
  // Let go once the contract has given up: an AUTO_RESTORE needs the table too.
  await Promise.race([closed, seen('AUTO_RESTORE=1: restoring')]);
  await reader.query('ROLLBACK').catch(() => {});
  await reader.end().catch(() => {});
  const code = await closed;
  return { code, out, err };
}

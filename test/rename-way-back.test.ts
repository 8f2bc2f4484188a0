// STRATEGY=rename dumps before the window, while the app still writes, and says what restoring
// that dump would lose; its way back is the relabel undone in the catalog (make rollback), proved,
// keeping every write, and refused, naming the rows, when a row holds a label the old type lacks.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { migrate } from '../bin/migrate.js';
import { libpqEnv, type Target } from '../bin/lib/connection/target.js';
import { runBin } from './helpers/cli.js';
import { catalogSnapshot, enumLabels, query, roleCounts, seededDatabase, tableChecksum } from './helpers/database.js';
import { tempSettings } from './helpers/runbook.js';

/** A write from another session, synchronously: as the live app's, while the run goes on. */
function appWrites(url: Target, sql: string): void {
  const r = spawnSync('/usr/lib/postgresql/15/bin/psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    env: { ...process.env, ...libpqEnv(url) },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
}
const labelOids = async (url: Target) =>
  Object.fromEntries(
    (await query(url, `SELECT enumlabel, oid::int8::text AS oid FROM pg_enum WHERE enumtypid = '"Role"'::regtype`)).map(
      (r) => [r.enumlabel, r.oid],
    ),
  );
const insert = (n: number, role: string, tag: string) =>
  `INSERT INTO "User" (id, email, role) SELECT '${tag}' || i, '${tag}' || i || '@live', '${role}'
   FROM generate_series(1, ${n}) i`;

t.test('rename: dump before the window, writes since counted, make rollback keeps them all', async (t) => {
  const url = await seededDatabase(t, 3000);
  const s = tempSettings(url);
  const oidsBefore = await labelOids(url);
  const lines: string[] = [];
  const r = await migrate(url, '0001', s, {
    strategy: 'rename',
    log: (l) => {
      lines.push(l);
      // pg_dump has its snapshot (taken before this line): these rows are not in the dump.
      if (l.startsWith('→ dump ')) appWrites(url, insert(7, 'USER', 'live'));
    },
  });
  const order = r.steps.map((x) => x.step);
  t.ok(order.indexOf('dump') < order.indexOf('maintenance-on'), `dump before the window: ${order.join(', ')}`);
  t.ok(r.windowSeconds! < r.steps.reduce((a, x) => a + x.seconds, 0), 'the window does not hold the dump');
  t.equal(r.writesSinceDump?.total, 7, 'the 7 writes made after the dump are counted');
  t.same(r.writesSinceDump?.tables, { 'public."User"': 7 });
  t.match(lines.join('\n'), /restoring it would lose the 7 row writes made since \(public\."User" 7\)/);
  t.match(lines.join('\n'), /the way back that keeps every write: `make rollback MIGRATION=0001`/);
  const manifest = JSON.parse(readFileSync(`${r.dump}.manifest.json`, 'utf8'));
  t.equal(manifest.tables['public."User"'], 3000, 'the dump holds the rows before the live writes');
  const counts = await roleCounts(url);
  t.notOk('USER' in counts, `no USER left: ${JSON.stringify(counts)}`);
  const migrated = await tableChecksum(url);

  // The inverse: EMPLOYEE is USER again, same label OID, every row (the live ones too) kept.
  const back = runBin('schema.ts', ['rollback'], { ...s.env, MIGRATION: '0001' });
  t.equal(back.code, 0, back.stderr);
  t.match(back.stdout, /undoing it, every row kept as it is/);
  t.match(back.stdout, /ok {3}USER after = USER before \+ EMPLOYEE before/);
  t.match(
    back.stdout,
    /^rollback: relabel of run \S+ undone in the catalog \(EMPLOYEE → USER; MANAGER kept in the type, unused\); /m,
  );
  t.same(await enumLabels(url), ['USER', 'MANAGER', 'ADMIN'], 'old names back; MANAGER kept, unused');
  const oidsAfter = await labelOids(url);
  t.equal(oidsAfter.USER, oidsBefore.USER, 'USER is its own label OID again: no row changed');
  t.equal(oidsAfter.ADMIN, oidsBefore.ADMIN);
  t.equal((await query(url, `SELECT count(*)::int AS n FROM "User" WHERE id LIKE 'live%'`))[0].n, 7, 'live rows kept');
  t.equal(
    (await query(url, `SELECT count(*)::int AS n FROM "User" WHERE role = 'MANAGER'`))[0].n,
    0,
    'no row holds MANAGER',
  );
  t.notOk(
    (await query(url, `SELECT version FROM breaking_migrations.schema_migrations`)).some((v) =>
      /^20250115/.test(v.version),
    ),
    "dbmate sees neither the expand nor the contract: migration 0001's state is untouched",
  );
  const st = runBin('status.ts', [], { ...s.env, MIGRATION: '0001' });
  t.equal(st.code, 0, st.stderr);

  // And forward again from the state the way back left, by either strategy's start.
  const again = await migrate(url, '0001', s, { strategy: 'rename', log: () => {} });
  t.ok(
    again.checks.every((c) => c.ok),
    'rename again from USER, MANAGER, ADMIN',
  );
  t.same(await enumLabels(url), ['EMPLOYEE', 'MANAGER', 'ADMIN']);
  t.equal(await tableChecksum(url), migrated, 'the same data as after the first run');
});

t.test('make rollback after a rename refuses, naming the rows, while rows hold MANAGER', async (t) => {
  const url = await seededDatabase(t, 500);
  const s = tempSettings(url);
  await migrate(url, '0001', s, { strategy: 'rename', log: () => {} });
  await query(url, insert(2, 'MANAGER', 'boss'));
  const data = await tableChecksum(url);
  const catalog = await catalogSnapshot(url);
  const r = runBin('schema.ts', ['rollback'], { ...s.env, MIGRATION: '0001' });
  t.equal(r.code, 2, 'refused before any change');
  t.match(
    r.stderr,
    new RegExp(
      /^rollback 0001: 2 rows still hold MANAGER in public\."User"\.role, /.source +
        /and USER, ADMIN has no label for MANAGER; nothing changed\.$/.source,
      'm',
    ),
  );
  t.match(r.stderr, /^\s*next: Give those rows a label of USER, ADMIN, then `make rollback MIGRATION=0001` again\.$/m);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  t.same(await enumLabels(url), ['EMPLOYEE', 'MANAGER', 'ADMIN']);
  t.equal(await tableChecksum(url), data);
  t.same(await catalogSnapshot(url), catalog);
  await query(url, `UPDATE "User" SET role = 'EMPLOYEE' WHERE role = 'MANAGER'`);
  t.equal(runBin('schema.ts', ['rollback'], { ...s.env, MIGRATION: '0001' }).code, 0, 'once they are changed, it runs');
  t.same(await enumLabels(url), ['USER', 'MANAGER', 'ADMIN']);
});

t.test('rename: a failure after the relabel committed names the inverse; AUTO_RESTORE=1 runs it', async (t) => {
  for (const autoRestore of [false, true]) {
    const url = await seededDatabase(t, 400);
    const s = tempSettings(url);
    const before = await tableChecksum(url);
    const err = await migrate(url, '0001', s, {
      strategy: 'rename',
      autoRestore,
      log: (l) => {
        // As if the connection died right after the verifier's COMMIT.
        if (l.startsWith('✓ mutate')) throw new Error('lost right after the commit');
      },
    }).then(
      () => undefined,
      (e: Error & { next?: string }) => e,
    );
    t.match(err?.message, /^migrate-0001: step mutate failed: lost right after the commit/);
    if (!autoRestore) {
      t.match(err?.next, /back to the data before this run, every write kept: make rollback MIGRATION=0001; /);
      t.match(err?.next, /was taken before the window and would lose the writes made since/);
      t.notMatch(err?.next, /make restore/, 'not the dump: it would lose the writes since');
      t.same(await enumLabels(url), ['EMPLOYEE', 'MANAGER', 'ADMIN'], 'the relabel committed');
      const r = runBin('schema.ts', ['rollback'], { ...s.env, MIGRATION: '0001' });
      t.equal(r.code, 0, r.stderr);
    } else {
      t.match(err?.next, /state after the way back: untouched; the relabel is undone, proved, no row written/);
    }
    t.same(await enumLabels(url), ['USER', 'MANAGER', 'ADMIN'], `${autoRestore ? 'AUTO_RESTORE' : 'rollback'}: undone`);
    const relabelled = await query(url, `SELECT count(*)::int AS n FROM "User" WHERE role = 'MANAGER'`);
    t.equal(relabelled[0].n, 0);
    t.equal(await tableChecksum(url), before, 'every row as before the run');
    const next = await migrate(url, '0001', s, { strategy: 'rename', log: () => {} });
    t.notOk(next.resumed, 'the failed run is closed: the next one starts afresh');
  }
});

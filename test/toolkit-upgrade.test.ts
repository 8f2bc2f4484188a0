// A database that got the toolkit's functions from an earlier release (test/fixtures/toolkit-2026-12-02:
// dbmate recorded its files then, so it never runs them again) gets this release's before a step
// uses them: replaced in one transaction, said in one line; a current database is left alone.
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { dbmate } from '../bin/lib/runbook/dbmate.js';
import { toolkitUpSql } from '../bin/lib/runbook/migration.js';
import { readSql } from '../bin/lib/connection/config.js';
import { schema } from '../bin/schema.js';
import { withSql } from '../bin/lib/connection/db.js';
import { ensureToolkit } from '../bin/lib/runbook/toolkit.js';
import type { Target } from '../bin/lib/connection/target.js';
import {
  enumLabels,
  oracleConfig,
  query,
  seededDatabase,
  tableChecksum,
  testDatabase,
  throwawayRole,
} from './helpers/database.js';
import { assertMigrated, snapshot, tempSettings } from './helpers/runbook.js';
import { repo, runBin } from './helpers/cli.js';

const EARLIER = join(repo, 'test/fixtures/toolkit-2026-12-02');
const REPLACED = "Replaced: another release's toolkit functions (schema breaking_migrations), by this release's";

const functions = async (url: Target) =>
  (
    await query(
      url,
      `SELECT p.oid::regprocedure::text AS f FROM pg_proc p
       WHERE p.pronamespace = 'breaking_migrations'::regnamespace ORDER BY 1`,
    )
  ).map((r) => r.f as string);
const fingerprint = async (url: Target) => (await query(url, readSql('toolkit_fingerprint.sql')))[0].fingerprint;

/** A seeded database whose toolkit functions are the 2026-12-02 release's, installed by dbmate. */
async function earlierRelease(t: Test, rows: number): Promise<Target> {
  const url = await seededDatabase(t, rows);
  const out = await dbmate(url, [EARLIER], 'migrate');
  t.equal(out.exitCode, 0, `the earlier release's toolkit installed (${out.stderr.trim()})`);
  t.ok((await functions(url)).includes('breaking_migrations.enum_blockers(text,text[],jsonb,jsonb)'), 'its signature');
  return url;
}

/**
 * This release's functions, as a fresh install makes them: what an upgraded database must end with
 * (with the app instances' table and function, which a run creates too, when `instances`).
 */
async function released(t: Test, instances = false): Promise<{ functions: string[]; fingerprint: string }> {
  const fresh = await testDatabase(t);
  await schema(fresh, 'toolkit');
  if (instances) await query(fresh, readSql('app_instances.sql'));
  return { functions: await functions(fresh), fingerprint: await fingerprint(fresh) };
}

t.test(
  "an earlier release's functions: loaded over, without the drops first, preflight's calls are ambiguous",
  async (t) => {
    // The control: what this release did before it dropped the earlier signatures first.
    const url = await earlierRelease(t, 10);
    const withoutDrops = toolkitUpSql()
      .replace(/^DO \$\$\nDECLARE f text;[\s\S]*?^END \$\$;\n/gm, '')
      .replace(/^DROP VIEW IF EXISTS .*\n/gm, '');
    t.notMatch(withoutDrops, /DROP FUNCTION|DROP VIEW/, 'the drops are out of the control');
    const client = new pg.Client(oracleConfig(url));
    await client.connect();
    t.teardown(() => client.end());
    await client.query('BEGIN');
    await client.query(withoutDrops);
    const preflight = client.query(readFileSync(join(repo, 'migrations/0001/preflight.sql'), 'utf8'));
    await t.rejects(preflight, /function breaking_migrations\.enum_blockers\(.*\) is not unique/);
    await client.query('ROLLBACK');
  },
);

t.test("migrate on a database with an earlier release's toolkit: replaced, then the run", async (t) => {
  const url = await earlierRelease(t, 300);
  const expected = await released(t, true);
  t.not(await fingerprint(url), expected.fingerprint, "the earlier release's functions differ from this one's");
  const before = await snapshot(url);
  const s = tempSettings(url);

  const r = runBin('migrate.ts', ['0001'], s.env);
  t.equal(r.code, 0, r.stderr || r.stdout.slice(-600));
  t.match(r.stdout, `✓ preflight`, 'preflight loads this release over the earlier one and passes');
  t.match(r.stdout, `→ toolkit…\n  ${REPLACED}\n✓ toolkit`, 'the toolkit step says it replaced them');
  await assertMigrated(t, url, before, s);
  t.same(await functions(url), expected.functions, 'exactly this release’s signatures: no earlier one left beside');
  t.equal(await fingerprint(url), expected.fingerprint, 'and their definitions are this release’s');

  // Once current, a run (here: already applied) neither replaces nor says so.
  const again = runBin('migrate.ts', ['0001'], s.env);
  t.equal(again.code, 0, again.stderr);
  t.notMatch(again.stdout, 'Replaced:');
});

t.test('a database with this release’s functions: the toolkit step changes nothing', async (t) => {
  const url = await seededDatabase(t, 10);
  await schema(url, 'toolkit');
  const oids = `SELECT array_agg(oid ORDER BY oid)::text AS oids FROM pg_proc
                WHERE pronamespace = 'breaking_migrations'::regnamespace`;
  const [first] = await query(url, oids);
  t.same(await schema(url, 'toolkit'), [], 'nothing applied');
  t.equal(await withSql(url, ensureToolkit), 'current', 'nothing replaced');
  t.same(await query(url, oids), [first], 'the same functions (no DROP, no CREATE)');
});

t.test('make expand, make contract and a dry run on an earlier release’s toolkit', async (t) => {
  const url = await earlierRelease(t, 200);
  const expected = await released(t);
  const s = tempSettings(url);
  const data = await tableChecksum(url);

  // A dry run changes nothing, the functions included: it uses this release's inside its transaction.
  await schema(url, 'expand'); // through the function: the toolkit's files are recorded, nothing replaced
  const earlier = await fingerprint(url);
  const dry = runBin('../verify/verify.ts', ['0001', '--dry-run'], s.env);
  t.equal(dry.code, 0, dry.stderr || dry.stdout);
  t.match(dry.stdout, "the database holds another release's toolkit functions: the dry run uses this release's");
  t.match(dry.stdout, 'rolled back (dry run)');
  t.equal(await fingerprint(url), earlier, 'the earlier functions are still there');
  t.equal(await tableChecksum(url), data, 'and every row as it was');

  // make verify (committed) replaces them, then make contract finds them current.
  const verify = runBin('../verify/verify.ts', ['0001'], s.env);
  t.equal(verify.code, 0, verify.stderr || verify.stdout);
  t.match(verify.stdout, `  ${REPLACED}\n`);
  t.equal(await fingerprint(url), expected.fingerprint);
  const contract = runBin('schema.ts', ['contract'], s.env);
  t.equal(contract.code, 0, contract.stderr || contract.stdout);
  t.notMatch(contract.stdout, 'Replaced:');
  t.match(contract.stdout, /contract: 1 migration\(s\) applied/);
});

t.test('make contract replaces an earlier release’s swap_enum before it runs', async (t) => {
  const url = await earlierRelease(t, 50);
  const expected = await released(t);
  const s = tempSettings(url);
  await schema(url, 'expand');
  await query(url, `UPDATE "User" SET role = 'EMPLOYEE' WHERE role = 'USER'`);
  const contract = runBin('schema.ts', ['contract'], s.env);
  t.equal(contract.code, 0, contract.stderr || contract.stdout);
  t.match(contract.stdout, `  ${REPLACED}\n`);
  t.match(contract.stdout, /contract: 1 migration\(s\) applied/, 'the count is of dbmate files, not of the line above');
  t.equal(await fingerprint(url), expected.fingerprint);
  const [labels] = await query(url, `SELECT breaking_migrations.enum_labels('"Role"')::text AS l`);
  t.equal(labels.l, '{EMPLOYEE,MANAGER,ADMIN}');
});

t.test(
  "another role's earlier functions: refused in preflight, with the statement that lets the role replace them",
  async (t) => {
    const url = await earlierRelease(t, 100); // installed by the superuser the tests connect as
    const role = await throwawayRole(t, url, 'bm_owner');
    // The app's owner role owns everything the run touches and may create in the toolkit's schema,
    // but owns neither that schema nor the functions an earlier run (as a superuser) left there.
    await query(
      url,
      `ALTER DATABASE "${url.database}" OWNER TO ${role}; ALTER TABLE "User" OWNER TO ${role};
     ALTER TYPE "Role" OWNER TO ${role}; GRANT USAGE, CREATE ON SCHEMA breaking_migrations TO ${role};
     ALTER TABLE breaking_migrations.schema_migrations OWNER TO ${role}`,
    );
    const earlier = await fingerprint(url);
    const data = await tableChecksum(url);
    const s = tempSettings({ ...url, user: role });
    const r = runBin('migrate.ts', ['0001'], s.env);
    t.equal(r.code, 2, 'refused, exit 2');
    const fix = `ALTER SCHEMA breaking_migrations OWNER TO ${role}`;
    t.match(
      r.stderr,
      `role ${role} may not replace the toolkit's functions in schema breaking_migrations, owned by postgres: ${fix}`,
    );
    t.notMatch(r.stdout + r.stderr, /at .*\.ts:\d+/, 'no stack trace');
    t.notMatch(r.stdout, /maintenance-on/, 'before the window');
    t.equal(await fingerprint(url), earlier, 'the functions as they were');
    t.equal(await tableChecksum(url), data, 'every row as it was');
    t.same(await query(url, `SELECT breaking_migrations.enum_labels('"Role"')::text AS l`), [{ l: '{USER,ADMIN}' }]);

    // make expand (no rights check of its own) refuses the same way, from the toolkit's load.
    const expand = runBin('schema.ts', ['expand'], s.env);
    t.equal(expand.code, 2, expand.stderr);
    t.match(
      expand.stderr,
      `toolkit: the toolkit's functions here are owned by role postgres, which role ${role} may not`,
    );
    t.match(expand.stderr, `next: As a superuser (or the schema's owner): ${fix}; then run it again.`);
    t.same(await enumLabels(url), ['USER', 'ADMIN'], 'not expanded');

    // The statement it names is enough: the role then replaces the functions and runs it all.
    await query(url, fix);
    const ok = runBin('migrate.ts', ['0001'], s.env);
    t.equal(ok.code, 0, ok.stderr);
    t.match(ok.stdout, REPLACED);
  },
);

t.test('make rollback replaces an earlier release’s functions before it undoes a step', async (t) => {
  const url = await earlierRelease(t, 20);
  const expected = await released(t);
  await schema(url, 'expand');
  const back = runBin('schema.ts', ['rollback'], tempSettings(url).env);
  t.equal(back.code, 0, back.stderr || back.stdout);
  t.match(back.stdout, `  ${REPLACED}\n`);
  t.match(back.stdout, /rollback: 1 migration\(s\) rolled back/);
  t.equal(await fingerprint(url), expected.fingerprint);
  t.same(await enumLabels(url), ['USER', 'ADMIN']);
});

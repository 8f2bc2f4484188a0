// The schema commands as a user meets them: --help, refusals with the next step, exit codes,
// .env, and no password in what they print or pass on a command line.
import t from 'tap';
import pg from 'pg';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeTarget, parseTarget } from '../bin/lib/connection/target.js';
import { schema } from '../bin/schema.js';
import { repo, runBin } from './helpers/cli.js';
import { enumLabels, oracleConfig, roleCounts, seededDatabase, urlOf } from './helpers/database.js';

const emptyDir = () => mkdtempSync(join(tmpdir(), 'bm-cwd-'));

t.test('--help for every command', async (t) => {
  for (const script of [
    'schema.ts',
    'status.ts',
    'seed.ts',
    'demo.ts',
    'maintenance.ts',
    'dump.ts',
    'restore.ts',
    'backups.ts',
    'migrate.ts',
    'rehearse.ts',
    'plan.ts',
    '../verify/0001_migrate_user_to_employee.ts',
    '../bench/bench.ts',
  ]) {
    const r = runBin(script, ['--help']);
    t.equal(r.code, 0, `${script} --help exits 0`);
    t.match(r.stdout, /^usage: /, `${script} --help starts with usage`);
  }
});

t.test('missing DATABASE_URL: one line, the fix, exit 2', async (t) => {
  const r = runBin('schema.ts', ['expand'], {}, { cwd: emptyDir() });
  t.equal(r.code, 2);
  t.equal(
    r.stderr,
    'expand: DATABASE_URL is not set.\n' +
      '  next: Put DATABASE_URL=postgresql://user:password@host:5432/db in .env or the environment ' +
      "(the app's own URL works).\n",
  );
  const bad = runBin('status.ts', [], { DATABASE_URL: 'mysql://root:hunter2@db/app' }, { cwd: emptyDir() });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^status: DATABASE_URL is not a postgres:\/\/ or postgresql:\/\/ URL/);
  t.notMatch(bad.stderr, /hunter2/, 'password masked');
});

t.test('unreachable server: exit 3, says so, prints no password', async (t) => {
  const url = 'postgres://app:s3cret-pw@127.0.0.1:1/app?sslmode=disable';
  for (const [script, args] of [
    ['schema.ts', ['expand']],
    ['status.ts', []],
    ['seed.ts', ['10']],
  ] as const) {
    const r = runBin(script, [...args], { DATABASE_URL: url }, { cwd: emptyDir() });
    t.equal(r.code, 3, `${script}: exit 3`);
    t.match(r.stderr, /cannot reach the PostgreSQL server/, `${script}: says why`);
    t.notMatch(r.stdout + r.stderr, /s3cret-pw/, `${script}: no password printed`);
  }
});

t.test('.env is read; the environment wins over it', async (t) => {
  const url = await seededDatabase(t, 7);
  const cwd = emptyDir();
  writeFileSync(join(cwd, '.env'), `DATABASE_URL=${urlOf(url)}\n`);
  const r = runBin('status.ts', ['--json'], {}, { cwd });
  t.equal(r.code, 0, r.stderr);
  const counts = await roleCounts(url);
  t.same(JSON.parse(r.stdout).items, [
    { item: '"Role" labels, in order', detail: 'USER, ADMIN' },
    { item: 'public."User".role', detail: `USER=${counts.USER ?? 0}  ADMIN=${counts.ADMIN ?? 0}` },
  ]);
  const wins = runBin('status.ts', [], { DATABASE_URL: 'postgres://x@127.0.0.1:1/none?sslmode=disable' }, { cwd });
  t.equal(wins.code, 3, 'the real environment variable was used');
});

t.test('make-level flow through the CLI: expand, status, contract refusal with exit 1', async (t) => {
  const url = await seededDatabase(t, 30);
  const env = { DATABASE_URL: urlOf(url) };
  const e = runBin('schema.ts', ['expand'], env);
  t.equal(e.code, 0, e.stderr);
  t.match(e.stdout, /expand: 3 migration\(s\) applied/);
  const c = runBin('schema.ts', ['contract'], env);
  t.equal(c.code, 1);
  t.match(
    c.stderr,
    new RegExp(
      /^contract 0001: refused, nothing changed: \d+ rows still hold USER in public."User".role\n/.source +
        /  next: Rows still holding USER: run the mutation first \(`make migrate-0001` does/.source,
    ),
    "the next: line is the HINT of the migration's own SQL, which dbmate does not print",
  );
  t.same(await enumLabels(url), ['USER', 'EMPLOYEE', 'MANAGER', 'ADMIN']);
  const s = runBin('status.ts', [], env);
  const counts = await roleCounts(url);
  t.match(
    s.stdout,
    new RegExp(`public\\."User"\\.role +USER=${counts.USER} +EMPLOYEE=0 +MANAGER=0 +ADMIN=${counts.ADMIN}\n`),
  );
  t.match(s.stdout, /status: 3\/4 migration files applied; "Role" labels, in order: USER, EMPLOYEE, MANAGER, ADMIN/);
});

t.test('seed refuses an application database (one made by Prisma Migrate)', async (t) => {
  const url = await seededDatabase(t, 5);
  const { query } = await import('./helpers/database.js');
  await query(url, `CREATE TABLE _prisma_migrations (id text)`);
  const r = runBin('seed.ts', ['100'], { DATABASE_URL: urlOf(url) });
  t.equal(r.code, 2);
  t.match(r.stderr, /seed: this database has _prisma_migrations/);
  t.equal((await roleCounts(url)).total, 5);
});

t.test("credentials never reach a command line: dbmate's real argv, read while it runs", async (t) => {
  const plain = await seededDatabase(t, 10);
  const url = { ...plain, password: 'pw-only-in-env' }; // the sandbox trusts any password
  await schema(url, 'toolkit');
  // dbmate waits on its bookkeeping table while this transaction holds it: time to read its argv.
  const holder = new pg.Client(oracleConfig(plain));
  await holder.connect();
  await holder.query('BEGIN; LOCK TABLE breaking_migrations.schema_migrations IN ACCESS EXCLUSIVE MODE');
  const child = spawn(`${repo}/node_modules/.bin/tsx`, [`${repo}/bin/schema.ts`, 'expand'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: urlOf(url), MIGRATION: '0001' },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((res) => child.once('close', res));
  let found: { argv: string; env: string } | undefined;
  for (let i = 0; i < 200 && !found; i++) {
    await new Promise((r) => setTimeout(r, 50));
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
        // this test's dbmate, not another test file's running beside it: its database, wherever given
        const ours = `${argv}\n${env}`.includes(`/${plain.database}?`);
        if (ours && argv.includes('--migrations-table') && argv.includes(' migrate')) found = { argv, env };
      } catch {
        /* the process ended meanwhile */
      }
    }
  }
  await holder.query('COMMIT');
  await holder.end();
  t.equal(await exited, 0, 'the expand went through once the table was free');
  t.ok(found, 'dbmate was seen running');
  t.notMatch(found?.argv ?? '', /pw-only-in-env|postgres(ql)?:\/\//, 'no URL, no password in its argv');
  t.match(
    found?.env ?? '',
    /DATABASE_URL=postgres(ql)?:\/\/postgres:pw-only-in-env@/,
    'the URL went through its environment',
  );
  t.equal(
    describeTarget(parseTarget('postgres://app:s3cret@db:5432/app')),
    'postgresql://app@db:5432/app',
    'printed without the password',
  );
});

// DATABASE_URL as a real app has it: Prisma's form (no sslmode, ?schema=), a password with
// @ : / %, a server that takes TLS only or no TLS at all. The URL is parsed once; every
// component (postgres.js, dbmate, pg_dump, pg_restore, psql) must connect with the same decision.
import t from 'tap';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chownSync,
  chmodSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withSql } from '../bin/lib/connection/db.js';
import { startSandbox, type Sandbox } from '../bin/lib/dev/sandbox.js';
import { dbmateUrl, libpqEnv, parseTarget, resolveTarget, type Target } from '../bin/lib/connection/target.js';
import { schema } from '../bin/schema.js';
import { seed } from '../bin/seed.js';
import { runBin } from './helpers/cli.js';
import { enumLabels, query, roleCounts, tableChecksum } from './helpers/database.js';

const PASSWORD = 'p@ss:w/rd%1';
const ENCODED = encodeURIComponent(PASSWORD); // p%40ss%3Aw%2Frd%251

/** The sandbox's own superuser over its Unix socket (trusted), for setting things up. */
const admin = (sb: Sandbox, database = 'postgres'): Target => ({ ...sb.target, host: sb.dir, database, tls: false });

/** Turns a sandbox into a TLS-only server: a self-signed certificate, `hostssl` lines only. */
async function tlsOnly(sb: Sandbox): Promise<{ rootCert: string }> {
  const data = join(sb.dir, 'data');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      join(data, 'server.key'),
      '-out',
      join(data, 'server.crt'),
    ],
    { stdio: 'ignore' },
  );
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
  for (const f of ['server.key', 'server.crt']) chownSync(join(data, f), uid, gid);
  chmodSync(join(data, 'server.key'), 0o600);
  const rootCert = join(mkdtempSync(join(tmpdir(), 'bm-ca-')), 'root.crt');
  copyFileSync(join(data, 'server.crt'), rootCert);
  writeFileSync(
    join(data, 'pg_hba.conf'),
    'local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n',
  );
  await query(admin(sb), `ALTER SYSTEM SET ssl = on`);
  await query(admin(sb), `SELECT pg_reload_conf()`);
  await new Promise((r) => setTimeout(r, 500));
  return { rootCert };
}

/** A role with a password full of URL delimiters, owning a fresh database. */
async function appDatabase(sb: Sandbox, name: string): Promise<void> {
  await query(
    admin(sb),
    `DO $$ BEGIN CREATE ROLE app LOGIN CREATEDB PASSWORD '${PASSWORD}';
    EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
  );
  await query(admin(sb), `CREATE DATABASE ${name} OWNER app`);
}

/** Runs a command while watching every process's command line for the password. */
async function runWatchingPs(
  script: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; out: string; seen: string[] }> {
  const child = spawn(
    join(import.meta.dirname, '..', 'node_modules/.bin/tsx'),
    [join(import.meta.dirname, '..', 'bin', script), ...args],
    { env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const seen: string[] = [];
  let done = false;
  const closed = new Promise<number | null>((r) =>
    child.on('close', (c) => {
      done = true;
      r(c);
    }),
  );
  while (!done) {
    const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
    seen.push(...ps.split('\n').filter((l) => l.includes(PASSWORD) || l.includes(ENCODED)));
    await new Promise((r) => setTimeout(r, 25));
  }
  return { code: await closed, out, seen };
}

t.test('parsing: the forms libpq and Prisma accept, each field read once', async (t) => {
  const a = parseTarget(
    `postgresql://app:${ENCODED}@db.internal:6543/pulse` +
      '?schema=public&connection_limit=5&pool_timeout=10&sslaccept=strict',
  );
  t.match(a, {
    host: 'db.internal',
    port: 6543,
    database: 'pulse',
    user: 'app',
    password: PASSWORD,
    sslmode: 'prefer',
    schema: 'public',
    tls: undefined,
  });
  t.same(
    a.ignored,
    ['connection_limit', 'pool_timeout', 'sslaccept'],
    "Prisma's pool and TLS-stack parameters: accepted, not sent",
  );
  const b = parseTarget(
    'postgres://u@/app?host=/var/run/postgresql&port=5433&connect_timeout=7' +
      '&application_name=web&options=-c%20statement_timeout%3D5000',
  );
  t.match(b, {
    host: '/var/run/postgresql',
    port: 5433,
    database: 'app',
    connectTimeout: 7,
    options: '-c statement_timeout=5000',
    tls: false,
  });
  t.match(parseTarget('postgresql://h/db?sslmode=disable'), { sslmode: 'disable', tls: false, port: 5432 });
  const files = mkdtempSync(join(tmpdir(), 'bm-certs-'));
  for (const f of ['ca.crt', 'c.crt', 'c.key']) writeFileSync(join(files, f), '');
  t.match(
    parseTarget(
      `postgresql://h/db?sslmode=verify-full&sslrootcert=${files}/ca.crt&sslcert=${files}/c.crt&sslkey=${files}/c.key`,
    ),
    { sslmode: 'verify-full', sslrootcert: `${files}/ca.crt`, sslcert: `${files}/c.crt`, sslkey: `${files}/c.key` },
  );
  t.throws(
    () => parseTarget('postgresql://h/db?sslrootcert=/nowhere/ca.crt'),
    /sslrootcert=\/nowhere\/ca.crt, a file that does not exist here/,
  );
  const decided = { ...a, tls: true };
  t.match(libpqEnv(decided), {
    PGHOST: 'db.internal',
    PGPORT: '6543',
    PGDATABASE: 'pulse',
    PGUSER: 'app',
    PGPASSWORD: PASSWORD,
    PGSSLMODE: 'require',
  });
  t.equal(
    libpqEnv(decided).PGOPTIONS,
    '-c statement_timeout=0 -c idle_in_transaction_session_timeout=0 ' +
      '-c idle_session_timeout=0 -c lock_timeout=0 -c row_security=off -c jit=off -c search_path="public"',
    "the toolkit's own session settings, then the application's schema",
  );
  const forDbmate = new URL(dbmateUrl(decided));
  t.equal(forDbmate.searchParams.get('sslmode'), 'require', 'dbmate gets the decision, not prefer (lib/pq has none)');
  t.equal(forDbmate.searchParams.get('search_path'), '"public"');
  t.notOk(forDbmate.searchParams.has('schema'), "Prisma's schema parameter is never sent to the server");
  t.notOk(forDbmate.searchParams.has('connection_limit'));
  t.equal(decodeURIComponent(forDbmate.password), PASSWORD);
  t.throws(() => libpqEnv(a), /TLS decision was not made/, 'no component gets an undecided target');
});

t.test('refused before anything is sent: unknown parameters, pgbouncer=true, other schemes, bad values', async (t) => {
  const cases: [string, RegExp, RegExp][] = [
    [
      'postgresql://u:pw@h/db?foo=1&schema=public',
      /DATABASE_URL has parameter "foo" that the toolkit does not know; nothing was sent/,
      /next: Remove it/,
    ],
    ['postgresql://u:pw@h/db?pgbouncer=true', /pgbouncer=true: the toolkit needs a direct session/, /directUrl/],
    ['mysql://u:pw@h/db', /not a postgres:\/\/ or postgresql:\/\/ URL/, /next: Write it as postgresql:/],
    [
      'postgresql://u:pw@h/db?sslmode=sometimes',
      /sslmode=sometimes, which libpq does not know/,
      /next: Use one of disable, allow, prefer, require, verify-ca, verify-full/,
    ],
    ['postgresql://u:pw@h/db?port=99999', /port "99999", not a TCP port/, /next:/],
    ['postgresql://u:pw@h/db?connect_timeout=soon', /connect_timeout=soon, not whole seconds/, /next:/],
  ];
  for (const [url, why, next] of cases) {
    const r = runBin('status.ts', [], { DATABASE_URL: url });
    t.equal(r.code, 2, `${url}: exit 2`);
    t.match(r.stderr, why);
    t.match(r.stderr, next);
    t.notMatch(r.stderr, /pw@/, 'no password printed');
  }
});

t.test(
  "a plain server (no TLS) with Prisma's URL, no sslmode: the whole runbook works; " +
    'sslmode=require is refused, nothing changed',
  async (t) => {
    const sb = await startSandbox();
    t.teardown(() => sb.stop());
    await appDatabase(sb, 'plain');
    const target = await resolveTarget(`postgresql://app:${ENCODED}@127.0.0.1:${sb.target.port}/plain?schema=public`);
    t.equal(target.tls, false, 'prefer: no TLS offered, none used');
    await schema(target, 'baseline');
    await seed(target, 1500);
    const before = await roleCounts(target);

    const bad = runBin('migrate.ts', ['0001'], {
      DATABASE_URL: `postgresql://app:${ENCODED}@127.0.0.1:${sb.target.port}/plain?sslmode=require`,
    });
    t.equal(bad.code, 3);
    t.match(
      bad.stderr,
      /^migrate-0001: DATABASE_URL has sslmode=require, but the server at 127\.0\.0\.1:\d+ does not offer TLS/,
    );
    t.match(bad.stderr, /next: Enable ssl on the server, or remove sslmode/);
    t.same(await enumLabels(target), ['USER', 'ADMIN'], 'nothing changed');

    const dir = mkdtempSync(join(tmpdir(), 'bm-plain-'));
    const env = {
      DATABASE_URL: `postgresql://app:${ENCODED}@127.0.0.1:${sb.target.port}/plain?schema=public`,
      MAINTENANCE_DIR: join(dir, 'm'),
      BACKUP_DIR: join(dir, 'b'),
    };
    const r = runBin('migrate.ts', ['0001'], env);
    t.equal(r.code, 0, r.stderr);
    t.same(await enumLabels(target), ['EMPLOYEE', 'MANAGER', 'ADMIN']);
    t.same(await roleCounts(target), { total: before.total, EMPLOYEE: before.USER, ADMIN: before.ADMIN });
  },
);

t.test(
  "a TLS-only server (hostssl lines only), Prisma's URL without sslmode, a password with @ : / %: " +
    'every component connects over TLS',
  async (t) => {
    const sb = await startSandbox();
    t.teardown(() => sb.stop());
    const { rootCert } = await tlsOnly(sb);
    await appDatabase(sb, 'pulse');
    const url = `postgresql://app:${ENCODED}@127.0.0.1:${sb.target.port}/pulse?schema=public`;
    const target = await resolveTarget(url);
    t.equal(target.tls, true, 'prefer: the server offers TLS, so TLS it is');
    await schema(target, 'baseline');
    await seed(target, 2500);
    const before = await roleCounts(target);
    const data = await tableChecksum(target);

    const plain = spawnSync('psql', ['-Atc', 'SELECT 1'], {
      env: { ...process.env, ...libpqEnv({ ...target, tls: false }) },
      encoding: 'utf8',
    });
    t.not(plain.status, 0, 'a connection without TLS is refused by this server');
    t.match(plain.stderr, /no pg_hba.conf entry .*no encryption/);

    const dir = mkdtempSync(join(tmpdir(), 'bm-tls-'));
    const env = { DATABASE_URL: url, MAINTENANCE_DIR: join(dir, 'm'), BACKUP_DIR: join(dir, 'b') };
    const run = await runWatchingPs('migrate.ts', ['0001'], env);
    t.equal(run.code, 0, run.out);
    t.same(run.seen, [], 'the password never appeared in a process list');
    t.notMatch(run.out, new RegExp(`${ENCODED}|${PASSWORD.replace(/[/%]/g, '\\$&')}`), 'nor in the output');
    for (const f of readdirSync(join(dir, 'b'))) {
      if (!f.endsWith('.dump')) t.notOk(readFileSync(join(dir, 'b', f), 'utf8').includes(PASSWORD), `nor in ${f}`);
    }
    t.same(await enumLabels(target), ['EMPLOYEE', 'MANAGER', 'ADMIN'], 'dbmate applied expand and contract over TLS');
    t.same(await roleCounts(target), { total: before.total, EMPLOYEE: before.USER, ADMIN: before.ADMIN });
    const dump = /dump (\S+\.dump)/.exec(run.out)?.[1];
    t.ok(dump && existsSync(dump), 'pg_dump dumped over TLS');

    const back = runBin('restore.ts', [dump!], { ...env, YES: '1', LIVE: '1' });
    t.equal(back.code, 0, back.stderr);
    t.equal(await tableChecksum(target), data, 'pg_restore and psql restored over TLS: exact data');

    const verified = runBin('status.ts', [], {
      DATABASE_URL: `${url}&sslmode=verify-full&sslrootcert=${encodeURIComponent(rootCert)}`,
    });
    t.equal(verified.code, 0, verified.stderr);
    t.match(
      verified.stdout,
      /sslmode=verify-full/,
      'verify-full with the CA: dbmate and postgres.js verified the server',
    );
  },
);

t.test("our reading of a URL matches psql's: user, database, port, options, TLS", async (t) => {
  const sb = await startSandbox();
  t.teardown(() => sb.stop());
  await tlsOnly(sb);
  await appDatabase(sb, 'reading');
  const port = sb.target.port;
  const probe = `SELECT current_user || '|' || current_database() || '|' ||
    COALESCE(inet_server_port()::text, 'socket') || '|' || current_setting('statement_timeout') || '|' ||
    COALESCE((SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()), 'false') AS r`;
  const urls = [
    `postgres://app:${ENCODED}@127.0.0.1:${port}/reading?sslmode=require`,
    `postgresql://app:${ENCODED}@localhost/reading?port=${port}&sslmode=require&connect_timeout=5` +
      '&application_name=web&options=-c%20statement_timeout%3D4321',
    `postgresql://postgres@/reading?host=${encodeURIComponent(sb.dir)}&port=${port}`,
  ];
  for (const url of urls) {
    const psql = spawnSync('psql', [url, '-Atc', probe], { env: { ...process.env, PGPASSWORD: '' }, encoding: 'utf8' });
    t.equal(psql.status, 0, psql.stderr);
    const ours = await withSql(await resolveTarget(url), async (sql) => (await sql.unsafe(probe))[0].r as string);
    t.equal(ours, psql.stdout.trim(), `same reading as psql: ${ours}`);
  }
  const overSocket = runBin('status.ts', [], { DATABASE_URL: urls[2] });
  t.equal(overSocket.code, 0, overSocket.stderr);
  t.match(
    overSocket.stdout,
    /^ {2}\[ \] 20250101000000_toolkit_enum_swap\.sql$/m,
    'dbmate reached the server over the Unix socket too',
  );
});

t.test(
  "?schema=app: the application's tables live in schema app; " +
    'the toolkit finds them there and creates nothing in public',
  async (t) => {
    const sb = await startSandbox();
    t.teardown(() => sb.stop());
    await appDatabase(sb, 'shop');
    const owner = await resolveTarget(`postgresql://app:${ENCODED}@127.0.0.1:${sb.target.port}/shop`);
    await query(owner, `CREATE SCHEMA app`);
    // A decoy in public with the same names: it must not be touched.
    await query(
      owner,
      `CREATE TYPE public."Role" AS ENUM ('USER', 'ADMIN');
                      CREATE TABLE public."User" (id text PRIMARY KEY, role public."Role" NOT NULL);
                      INSERT INTO public."User" VALUES ('decoy', 'USER')`,
    );
    const url = `postgresql://app:${ENCODED}@127.0.0.1:${sb.target.port}/shop?schema=app`;
    const target = await resolveTarget(url);
    await schema(target, 'baseline');
    await seed(target, 1200);
    const inPublic = `SELECT
      (SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
        WHERE relnamespace = 'public'::regnamespace) AS rels,
      (SELECT string_agg(typname, ',' ORDER BY typname) FROM pg_type
        WHERE typnamespace = 'public'::regnamespace) AS types,
      (SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace)::int AS funcs,
      (SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%') AS schemas`;
    const publicBefore = await query(owner, inPublic);
    const before = await roleCounts(target);

    const dir = mkdtempSync(join(tmpdir(), 'bm-schema-'));
    const r = runBin('migrate.ts', ['0001'], {
      DATABASE_URL: url,
      MAINTENANCE_DIR: join(dir, 'm'),
      BACKUP_DIR: join(dir, 'b'),
    });
    t.equal(r.code, 0, r.stderr);
    t.match(r.stdout, /preflight: app\."User": 1200 rows/);
    t.same(await enumLabels(target, 'app."Role"'), ['EMPLOYEE', 'MANAGER', 'ADMIN'], 'app."Role" migrated');
    t.same(await roleCounts(target), { total: before.total, EMPLOYEE: before.USER, ADMIN: before.ADMIN });
    t.same(await enumLabels(owner, 'public."Role"'), ['USER', 'ADMIN'], 'the decoy in public untouched');
    t.same(await query(owner, `SELECT role::text FROM public."User"`), [{ role: 'USER' }]);
    t.same(await query(owner, inPublic), publicBefore, 'nothing created in public');
    const state = await query(
      owner,
      `SELECT string_agg(relname, ',' ORDER BY relname) AS r FROM pg_class
      WHERE relnamespace = 'breaking_migrations'::regnamespace AND relkind = 'r'`,
    );
    t.same(
      state,
      [{ r: 'app_instances,journal,maintenance,schema_migrations' }],
      "the toolkit's state lives in breaking_migrations",
    );
    const st = runBin('status.ts', [], { DATABASE_URL: url });
    t.match(st.stdout, /app\."User"\.role +EMPLOYEE=\d+ +MANAGER=0 +ADMIN=\d+/);
  },
);

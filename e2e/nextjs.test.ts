// End to end with the real thing: the example app (a dynamic route, a POST route handler, a
// Server Action, public files) built with `next build`, served twice by `next start` — instance
// A sees the lock folder, instance B only the database (its probe) — `make maintenance-on/off`
// driving them, one real PostgreSQL, and headless Chromium showing what a person sees.
// Next.js 16 (proxy.ts) and 15.5 (middleware.ts).
import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startSandbox } from '../bin/lib/dev/sandbox.js';
import { withDatabase, targetUrl } from '../bin/lib/connection/target.js';
import { query } from '../test/helpers/database.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SECRET = 'e2e-bypass-secret-0123';
const CACHE_MS = 1000;
const ARTIFACTS = join(repo, 'e2e/artifacts');

const variants = [
  { next: '16', dir: join(repo, 'examples/nextjs'), dropIn: 'proxy.ts' },
  { next: '15.5', dir: join(repo, 'examples/nextjs15'), dropIn: 'middleware.ts' },
];

/**
 * What a user does: maintenance.ts to lib/, the drop-in beside app/, and (README, "Replicas on
 * other nodes") the database probe, here through pg, the client this example app has.
 */
function install(dir: string, dropIn: string): void {
  if (dir !== variants[0].dir) {
    for (const f of ['app', 'public', 'next.config.mjs', 'tsconfig.json'])
      cpSync(join(variants[0].dir, f), join(dir, f), { recursive: true });
  }
  mkdirSync(join(dir, 'lib'), { recursive: true });
  cpSync(join(repo, 'nextjs/maintenance.ts'), join(dir, 'lib/maintenance.ts'));
  const source = readFileSync(join(repo, 'nextjs', dropIn), 'utf8')
    .replace(
      "import { maintenanceGuard } from './lib/maintenance';",
      "import { databaseProbe, maintenanceGuard } from './lib/maintenance';\n" +
        "import pg from 'pg';\n\n" +
        'const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 1 });',
    )
    .replace(
      'const guard = maintenanceGuard({',
      'const guard = maintenanceGuard({\n' +
        '  probe: databaseProbe(async (sql) => (await pool.query(sql)).rows),\n' +
        '  pollSeconds: Number(process.env.MAINTENANCE_POLL_SECONDS) || undefined,',
    );
  writeFileSync(join(dir, dropIn), source);
}

const make = (verb: string, env: Record<string, string>, args: string[] = []) =>
  spawnSync('make', ['-s', verb, ...args], {
    cwd: repo,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });

async function waitFor(url: string, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${ms / 1000} s`);
}

const chromiumArgs = (profile: string, lang: string) => [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  `--user-data-dir=${profile}`,
  `--lang=${lang}`,
  `--accept-lang=${lang}`,
];

function chromium(args: string[], lang = 'en-US'): string {
  const r = spawnSync(CHROMIUM, [...chromiumArgs(mkdtempSync(join(tmpdir(), 'bm-chromium-')), lang), ...args], {
    encoding: 'utf8',
    timeout: 90_000,
  });
  if (r.status !== 0) throw new Error(`chromium failed: ${r.stderr.trim().split('\n').pop()}`);
  return r.stdout;
}

/** Posts the settings form as a browser without JavaScript would: the Server Action's own id. */
async function runServerAction(base: string, headers: Record<string, string> = {}): Promise<Response> {
  const html = await (await fetch(`${base}/settings`, { headers })).text();
  const id = /name="\$ACTION_ID_([0-9a-f]+)"/.exec(html)?.[1];
  if (!id) throw new Error('no Server Action id in /settings');
  const form = new FormData();
  form.set(`$ACTION_ID_${id}`, '');
  form.set('role', 'MANAGER');
  return fetch(`${base}/settings`, { method: 'POST', body: form, headers, redirect: 'manual' });
}

t.test('chromium is installed', async (t) => {
  t.ok(existsSync(CHROMIUM), `${CHROMIUM} exists (apt-get install -y chromium)`);
});

for (const v of variants) {
  t.test(`Next.js ${v.next} with ${v.dropIn}: two instances, one lock folder, one database`, async (t) => {
    t.ok(existsSync(join(v.dir, 'node_modules/next')), `npm ci was run in ${v.dir}`);
    install(v.dir, v.dropIn);
    const build = spawnSync(join(v.dir, 'node_modules/.bin/next'), ['build'], {
      cwd: v.dir,
      encoding: 'utf8',
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
      timeout: 600_000,
    });
    t.equal(build.status, 0, `next build: ${build.stderr.slice(-2000)}${build.stdout.slice(-2000)}`);

    const sb = await startSandbox();
    t.teardown(() => sb.stop());
    const db = withDatabase(sb.target, 'app');
    await query(sb.target, 'CREATE DATABASE app');
    const databaseUrl = targetUrl(db, { password: true });
    const work = mkdtempSync(join(tmpdir(), 'bm-e2e-'));
    const actionLog = join(work, 'actions.log');
    const start = async (name: string) => {
      const port = await freePort();
      const server: ChildProcess = spawn(
        join(v.dir, 'node_modules/.bin/next'),
        ['start', '-p', String(port), '-H', '127.0.0.1'],
        {
          cwd: v.dir,
          stdio: 'ignore',
          detached: true,
          env: {
            ...process.env,
            NEXT_TELEMETRY_DISABLED: '1',
            MAINTENANCE_LOCK_FILE: join(work, name, 'enabled.lock'),
            MAINTENANCE_BYPASS_SECRET: SECRET,
            MAINTENANCE_PRODUCT: 'Pulse Work',
            MAINTENANCE_POLL_SECONDS: '1',
            DATABASE_URL: databaseUrl,
            ACTION_LOG: actionLog,
          },
        },
      );
      t.teardown(() => {
        try {
          process.kill(-server.pid!, 'SIGTERM');
        } catch {
          /* already gone */
        }
      });
      const base = `http://127.0.0.1:${port}`;
      await waitFor(`${base}/`);
      return base;
    };
    const [a, b] = [await start('a'), await start('b')];

    for (const base of [a, b]) {
      t.equal((await fetch(`${base}/users/1.png`)).status, 200, 'before: the dynamic route /users/1.png');
      t.same(
        await (await fetch(`${base}/api/echo`, { method: 'POST', body: 'x' })).json(),
        { echo: 'x' },
        'before: POST route handler',
      );
      t.ok((await runServerAction(base)).status < 400, 'before: the Server Action runs');
    }
    t.equal(readFileSync(actionLog, 'utf8'), 'MANAGER\nMANAGER\n', 'both instances ran the action once');

    // Maintenance ON with only instance A's lock folder; the database flag reaches B.
    const env = { MAINTENANCE_DIR: join(work, 'a'), DATABASE_URL: databaseUrl };
    const on = make('maintenance-on', env, [
      'REASON=migration 0001',
      'MESSAGE=New roles are on their way.',
      'RETRY_AFTER=120',
    ]);
    t.equal(on.status, 0, on.stderr);
    await new Promise((r) => setTimeout(r, CACHE_MS + 500));
    for (const [name, base] of [
      ['A (lock file)', a],
      ['B (database probe)', b],
    ]) {
      const page = await fetch(`${base}/`);
      t.equal(page.status, 503, `${name}: page 503`);
      t.equal(page.headers.get('retry-after'), '120');
      const html = await page.text();
      t.match(
        html,
        /Pulse Work.*Maintenance in progress.*New roles are on their way\./s,
        `${name}: the product's page`,
      );
      t.notMatch(html, /migration 0001/, `${name}: the operator's reason is not shown`);
      t.equal((await fetch(`${base}/users/1.png`)).status, 503, `${name}: /users/1.png is guarded`);
      t.equal(
        (await fetch(`${base}/files/x.js`, { method: 'POST' })).status,
        503,
        `${name}: POST /files/x.js is guarded`,
      );
      t.equal(
        (await fetch(`${base}/api/echo`, { method: 'POST', body: 'x' })).status,
        503,
        `${name}: POST route handler 503`,
      );
      t.match(
        await (await fetch(`${base}/settings`)).text(),
        /Maintenance in progress/,
        `${name}: the form's page is the maintenance page`,
      );
      const form = new FormData();
      form.set('role', 'MANAGER');
      t.equal(
        (await fetch(`${base}/settings`, { method: 'POST', body: form })).status,
        503,
        `${name}: the Server Action's POST is refused`,
      );
      t.equal((await fetch(`${base}/robots.txt`)).status, 200, `${name}: a public file is served`);
      t.equal((await fetch(`${base}/api/health`)).status, 200, `${name}: health 200`);
      const api = await fetch(`${base}/api/echo`, { method: 'POST', headers: { accept: 'application/json' } });
      t.same(await api.json(), { error: 'maintenance', message: 'New roles are on their way.', retryAfter: 120 });
    }
    const actionPost = await fetch(`${b}/settings`, {
      method: 'POST',
      headers: { 'next-action': 'abc', 'content-type': 'text/plain' },
      body: '[]',
    });
    t.equal(actionPost.status, 503);
    t.match(actionPost.headers.get('content-type'), /^text\/plain/, 'Server Actions get text/plain');
    t.equal(
      readFileSync(actionLog, 'utf8'),
      'MANAGER\nMANAGER\n',
      'no Server Action ran during maintenance, on A or B',
    );

    // Bypass: back to the page asked for, on the host the visitor used (behind a proxy).
    const enter = await fetch(`${a}/_maintenance/${SECRET}/users/7`, {
      redirect: 'manual',
      headers: { 'x-forwarded-host': 'pulse.example.com', 'x-forwarded-proto': 'https' },
    });
    t.equal(enter.status, 302);
    t.equal(
      enter.headers.get('location'),
      'https://pulse.example.com/users/7',
      'Location from X-Forwarded-Host / -Proto',
    );
    const cookie = (enter.headers.get('set-cookie') ?? '').split(';')[0];
    t.equal((await fetch(`${a}/users/7`, { headers: { cookie } })).status, 200, 'the bypass cookie gets through');

    // What a person sees: English and French, kept as artifacts.
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const [lang, title] of [
      ['en-US', 'Maintenance in progress'],
      ['fr-FR', 'Maintenance en cours'],
    ]) {
      t.match(
        chromium(['--dump-dom', `${b}/`], lang),
        new RegExp(`<h1>${title}</h1>`),
        `Chromium (${lang}) shows the page`,
      );
      const shot = join(ARTIFACTS, `maintenance-next${v.next}-${lang.slice(0, 2)}.png`);
      chromium(['--hide-scrollbars', '--window-size=900,560', `--screenshot=${shot}`, `${b}/`], lang);
      t.ok(existsSync(shot) && statSync(shot).size > 5000, `screenshot ${shot}`);
      t.same([...readFileSync(shot).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG');
    }

    // The page hands the visitor back to the app when maintenance ends (its poll, every second
    // here). Chromium goes through a recording proxy, so the test sees the page poll during
    // maintenance (HEAD → 503) before it turns maintenance off, then the hand-back (HEAD → 200, GET).
    const seen: string[] = [];
    const proxy = createServer((req, res) => {
      const upstream = httpRequest(`${b}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
        seen.push(`${req.method} ${up.statusCode}`);
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    t.teardown(() => proxy.close());
    const via = `http://127.0.0.1:${(proxy.address() as { port: number }).port}/`;
    const browser = spawn(CHROMIUM, [
      ...chromiumArgs(mkdtempSync(join(tmpdir(), 'bm-chromium-')), 'en-US'),
      '--virtual-time-budget=3600000',
      '--dump-dom',
      via,
    ]);
    let dom = '';
    browser.stdout.on('data', (d) => (dom += d));
    const done = new Promise((r) => browser.on('close', r));
    for (let i = 0; i < 200 && !seen.includes('HEAD 503'); i++) await new Promise((r) => setTimeout(r, 100));
    t.ok(seen.includes('HEAD 503'), `the page polled during maintenance (${seen.slice(0, 4).join(', ')})`);
    const off = make('maintenance-off', env);
    t.equal(off.status, 0, off.stderr);
    await done;
    t.match(dom, /The application is up/, 'Chromium, left on the maintenance page, is back on the app');
    t.notMatch(dom, /Maintenance in progress/);
    t.ok(
      seen.includes('HEAD 200') && seen.lastIndexOf('GET 200') > seen.indexOf('HEAD 200'),
      `then HEAD 200 and the app reloaded (${seen.slice(-3).join(', ')})`,
    );
    await new Promise((r) => setTimeout(r, CACHE_MS + 300));
    for (const base of [a, b]) {
      t.equal((await fetch(`${base}/`)).status, 200, 'page 200 again within the cache time');
      t.ok((await runServerAction(base)).status < 400, 'the Server Action runs again');
    }
  });
}

// End to end with the real thing: the example app (examples/nextjs: Prisma 7, a role page read
// through Prisma, a Server Action writing a role, a POST route handler, public files) built with
// `npm run build`, served twice by `next start` — instance A sees the lock folder, instance B only
// the database (app/probe.ts) — on a database made with `make baseline` and `make seed`,
// `make maintenance-on/off` driving them, and headless Chromium showing what a person sees.
// Next.js 16 (proxy.ts) and 15.5 (middleware.ts).
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox } from '../bin/lib/dev/sandbox.js';
import { withDatabase, targetUrl } from '../bin/lib/connection/target.js';
import { query } from '../test/helpers/database.js';
import { APP, buildApp, copyAppFiles, installDropIn, make, repo, startNext, variants } from './next-app.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SECRET = 'e2e-bypass-secret-0123';
const CACHE_MS = 250; // the maintenance core's default cacheMs
const ARTIFACTS = join(repo, 'e2e/artifacts');

const ROWS = 200; // seeded users (make seed): about 90% USER, 10% ADMIN

/** `make -s <verb>` to its end, asynchronously: the in-process recording proxy keeps serving. */
const makeVerb = async (t: Test, verb: string, env: Record<string, string>, args: string[] = []) =>
  make(t, verb, env, args).done;

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

/** The Server Action's id in the form of /settings?id=<user>. */
async function actionId(base: string, user: string, headers: Record<string, string> = {}): Promise<string> {
  const html = await (await fetch(`${base}/settings?id=${encodeURIComponent(user)}`, { headers })).text();
  const id = /name="\$ACTION_ID_([0-9a-f]+)"/.exec(html)?.[1];
  if (!id) throw new Error('no Server Action id in /settings');
  if (!html.includes(`name="id" value="${user}"`)) throw new Error(`/settings?id=${user}: the form lacks the user`);
  return id;
}

/** Posts /settings?id=… as a browser without JavaScript would: the Server Action's own id, the user, a role. */
async function runServerAction(
  base: string,
  user: string,
  role: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const id = await actionId(base, user, headers);
  const form = new FormData();
  form.set(`$ACTION_ID_${id}`, '');
  form.set('id', user);
  form.set('role', role);
  return fetch(`${base}/settings?id=${encodeURIComponent(user)}`, {
    method: 'POST',
    body: form,
    headers,
    redirect: 'manual',
  });
}

/** The role /users/<id> shows (read through Prisma), or what the page says instead. */
async function rolePage(base: string, user: string, headers: Record<string, string> = {}) {
  const r = await fetch(`${base}/users/${encodeURIComponent(user)}`, { headers });
  const html = await r.text();
  return {
    status: r.status,
    role: /<span id="role">([A-Z_]+)<\/span>/.exec(html)?.[1] ?? (/No such user\./.test(html) ? 'none' : undefined),
  };
}

const roleOf = async (db: Parameters<typeof query>[0], id: string) =>
  (await query<{ role: string }>(db, `SELECT role::text AS role FROM "User" WHERE id = $1`, [id]))[0]?.role;

t.test('chromium is installed', async (t) => {
  t.ok(existsSync(CHROMIUM), `${CHROMIUM} exists (apt-get install -y chromium)`);
});

for (const v of variants) {
  t.test(`Next.js ${v.next} with ${v.dropIn}: two instances, one lock folder, one database`, async (t) => {
    t.ok(existsSync(join(v.dir, 'node_modules/next')), `npm ci was run in ${v.dir}`);
    // What a user does: the drop-in and the app's probe (examples/nextjs15 gets the app's files).
    if (v.dir !== APP) copyAppFiles(v.dir);
    installDropIn(v.dir, v.dropIn);
    const build = buildApp(v.dir, 'v2');
    t.ok(build.ok, `APP_VERSION=v2 npm run build (${build.seconds.toFixed(0)} s)`, { output: build.output });
    if (!build.ok) return;

    const sb = await startSandbox();
    t.teardown(() => sb.stop());
    const db = withDatabase(sb.target, 'app');
    await query(sb.target, 'CREATE DATABASE app');
    const databaseUrl = targetUrl(db, { password: true });
    for (const [verb, args] of [
      ['baseline', []],
      ['seed', [`ROWS=${ROWS}`]],
    ] as const) {
      const r = await makeVerb(t, verb, { DATABASE_URL: databaseUrl }, [...args]);
      t.equal(r.code, 0, `make ${verb} ${args.join(' ')}`, { output: r.stdout + r.stderr });
    }
    const users = await query<{ id: string }>(db, `SELECT id FROM "User" WHERE role = 'USER' ORDER BY id LIMIT 2`);
    t.equal(users.length, 2, 'two seeded USER rows');
    const [u1, u2] = users.map((u) => u.id);
    const work = mkdtempSync(join(tmpdir(), 'bm-e2e-'));
    const actionLog = join(work, 'actions.log');
    const start = (name: string) =>
      startNext(t, v.dir, {
        MAINTENANCE_LOCK_FILE: join(work, name, 'enabled.lock'),
        MAINTENANCE_BYPASS_SECRET: SECRET,
        MAINTENANCE_PRODUCT: 'Pulse Work',
        MAINTENANCE_POLL_SECONDS: '1',
        DATABASE_URL: databaseUrl,
        ACTION_LOG: actionLog,
        APP_BUILD: `v2-next${v.next}-${name}`,
      });
    const [a, b] = [await start('a'), await start('b')];

    for (const base of [a, b]) {
      t.same(await rolePage(base, u1), { status: 200, role: 'USER' }, 'before: /users/<id> shows the role, via Prisma');
      t.same(await rolePage(base, '1.png'), { status: 200, role: 'none' }, 'before: /users/1.png, No such user.');
      t.same(
        await (await fetch(`${base}/api/echo`, { method: 'POST', body: 'x' })).json(),
        { echo: 'x' },
        'before: POST route handler',
      );
    }
    t.ok((await runServerAction(a, u1, 'ADMIN')).status < 400, 'before: the Server Action runs on A');
    t.ok((await runServerAction(b, u2, 'ADMIN')).status < 400, 'before: the Server Action runs on B');
    t.equal(readFileSync(actionLog, 'utf8'), `${u1} ADMIN\n${u2} ADMIN\n`, 'each instance ran the action once');
    t.same([await roleOf(db, u1), await roleOf(db, u2)], ['ADMIN', 'ADMIN'], 'the actions wrote the roles (Prisma)');
    t.same(await rolePage(b, u1), { status: 200, role: 'ADMIN' }, "B's page shows A's write");
    const actionIds = new Map<string, string>();
    for (const base of [a, b]) actionIds.set(base, await actionId(base, u1));

    // Maintenance ON with only instance A's lock folder; the database flag reaches B.
    const env = { MAINTENANCE_DIR: join(work, 'a'), DATABASE_URL: databaseUrl };
    const on = await makeVerb(t, 'maintenance-on', env, [
      'REASON=migration 0001',
      'MESSAGE=New roles are on their way.',
      'RETRY_AFTER=120',
    ]);
    t.equal(on.code, 0, on.stderr);
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
      // The form as a browser left open before maintenance would post it: the action's real id.
      const form = new FormData();
      form.set(`$ACTION_ID_${actionIds.get(base)}`, '');
      form.set('id', u1);
      form.set('role', 'USER');
      t.equal(
        (await fetch(`${base}/settings?id=${u1}`, { method: 'POST', body: form })).status,
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
      `${u1} ADMIN\n${u2} ADMIN\n`,
      'no Server Action ran during maintenance, on A or B',
    );
    t.equal(await roleOf(db, u1), 'ADMIN', 'and the role in the database is unchanged');

    // Bypass: back to the page asked for, on the host the visitor used (behind a proxy).
    const enter = await fetch(`${a}/_maintenance/${SECRET}/users/${u1}`, {
      redirect: 'manual',
      headers: { 'x-forwarded-host': 'pulse.example.com', 'x-forwarded-proto': 'https' },
    });
    t.equal(enter.status, 302);
    t.equal(
      enter.headers.get('location'),
      `https://pulse.example.com/users/${u1}`,
      'Location from X-Forwarded-Host / -Proto',
    );
    const cookie = (enter.headers.get('set-cookie') ?? '').split(';')[0];
    t.same(
      await rolePage(a, u1, { cookie }),
      { status: 200, role: 'ADMIN' },
      'the bypass cookie gets through: the role page, read through Prisma while the guard is ON',
    );

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
    const off = await makeVerb(t, 'maintenance-off', env);
    t.equal(off.code, 0, off.stderr);
    await done;
    t.match(dom, /The application is up/, 'Chromium, left on the maintenance page, is back on the app');
    t.notMatch(dom, /Maintenance in progress/);
    t.ok(
      seen.includes('HEAD 200') && seen.lastIndexOf('GET 200') > seen.indexOf('HEAD 200'),
      `then HEAD 200 and the app reloaded (${seen.slice(-3).join(', ')})`,
    );
    await new Promise((r) => setTimeout(r, CACHE_MS + 300));
    for (const base of [a, b]) t.equal((await fetch(`${base}/`)).status, 200, 'page 200 again within the cache time');
    t.ok((await runServerAction(a, u1, 'USER')).status < 400, 'the Server Action runs again on A');
    t.ok((await runServerAction(b, u2, 'USER')).status < 400, 'and on B');
    t.same([await roleOf(db, u1), await roleOf(db, u2)], ['USER', 'USER'], 'their writes are in the database');
    t.same(await rolePage(b, u1), { status: 200, role: 'USER' }, 'and on the role page');
    t.equal(
      readFileSync(actionLog, 'utf8'),
      `${u1} ADMIN\n${u2} ADMIN\n${u1} USER\n${u2} USER\n`,
      'the action ran twice before maintenance and twice after, never during',
    );
  });
}

t.test('the builds left every tracked file of examples/ as it was', async (t) => {
  const r = spawnSync('git', ['status', '--porcelain', '--untracked-files=all', 'examples'], {
    cwd: repo,
    encoding: 'utf8',
  });
  t.equal(r.status, 0, 'git status');
  t.equal(r.stdout, '', 'no change and no new file that .gitignore does not cover');
});

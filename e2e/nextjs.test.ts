// End to end with the real thing: the example app built with `next build`, served by
// `next start`, the drop-in copied in as the README says, `make maintenance-on/off` driving it,
// and headless Chromium showing what a person sees. Next.js 16 (proxy.ts) and 15.5 (middleware.ts).
import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../bin/lib/sandbox.js';

const repo = fileURLToPath(new URL('..', import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SECRET = 'e2e-bypass-secret';
const CACHE_MS = 1000;

const variants = [
  { next: '16', dir: join(repo, 'examples/nextjs'), dropIn: 'proxy.ts' },
  { next: '15.5', dir: join(repo, 'examples/nextjs15'), dropIn: 'middleware.ts' },
];

/** What a user does: copy maintenance.ts to lib/ and the drop-in beside app/. */
function install(dir: string, dropIn: string): void {
  if (dir !== variants[0].dir) {
    for (const f of ['app', 'next.config.mjs', 'tsconfig.json']) cpSync(join(variants[0].dir, f), join(dir, f), { recursive: true });
  }
  mkdirSync(join(dir, 'lib'), { recursive: true });
  cpSync(join(repo, 'nextjs/maintenance.ts'), join(dir, 'lib/maintenance.ts'));
  cpSync(join(repo, 'nextjs', dropIn), join(dir, dropIn));
}

const make = (verb: string, env: Record<string, string>, args: string[] = []) =>
  spawnSync('make', ['-s', verb, ...args], { cwd: repo, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });

async function waitFor(url: string, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await fetch(url).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${ms / 1000} s`);
}

function chromium(args: string[]): string {
  const profile = mkdtempSync(join(tmpdir(), 'bm-chromium-'));
  const r = spawnSync(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`chromium failed: ${r.stderr.trim().split('\n').pop()}`);
  return r.stdout;
}

t.test('chromium is installed', async (t) => {
  t.ok(existsSync(CHROMIUM), `${CHROMIUM} exists (apt-get install -y chromium)`);
});

for (const v of variants) {
  t.test(`Next.js ${v.next} with ${v.dropIn}`, async (t) => {
    t.ok(existsSync(join(v.dir, 'node_modules/next')), `npm ci was run in ${v.dir}`);
    install(v.dir, v.dropIn);
    const build = spawnSync(join(v.dir, 'node_modules/.bin/next'), ['build'], { cwd: v.dir, encoding: 'utf8', env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' }, timeout: 600_000 });
    t.equal(build.status, 0, `next build: ${build.stderr.slice(-2000)}`);

    const work = mkdtempSync(join(tmpdir(), 'bm-e2e-'));
    const env = { MAINTENANCE_DIR: join(work, 'maintenance') };
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const server: ChildProcess = spawn(join(v.dir, 'node_modules/.bin/next'), ['start', '-p', String(port), '-H', '127.0.0.1'], {
      cwd: v.dir, stdio: 'ignore', detached: true,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', MAINTENANCE_LOCK_FILE: join(env.MAINTENANCE_DIR, 'enabled.lock'), MAINTENANCE_BYPASS_SECRET: SECRET },
    });
    t.teardown(() => { try { process.kill(-server.pid!, 'SIGTERM'); } catch { /* already gone */ } });
    await waitFor(`${base}/`);

    t.equal((await fetch(`${base}/`)).status, 200, 'page: 200 before');
    t.same(await (await fetch(`${base}/api/hello`)).json(), { hello: 'world' }, 'API: 200 before');

    const on = make('maintenance-on', env, ['REASON=database migration', 'RETRY_AFTER=120']);
    t.equal(on.status, 0, on.stderr);
    await new Promise((r) => setTimeout(r, CACHE_MS + 300));
    const page = await fetch(`${base}/`);
    t.equal(page.status, 503, 'page: 503 during maintenance');
    t.equal(page.headers.get('retry-after'), '120');
    t.equal(page.headers.get('cache-control'), 'no-store');
    t.match(await page.text(), /Maintenance in progress.*database migration/s);
    const api = await fetch(`${base}/api/hello`);
    t.equal(api.status, 503, 'API route: 503');
    t.equal(api.headers.get('retry-after'), '120');
    t.match(await api.json(), { error: 'maintenance', reason: 'database migration', retryAfter: 120 });
    t.equal((await fetch(`${base}/api/health`)).status, 200, 'health: 200 during maintenance');

    const enter = await fetch(`${base}/_maintenance/${SECRET}`, { redirect: 'manual' });
    t.equal(enter.status, 302, 'bypass path redirects');
    const cookie = (enter.headers.get('set-cookie') ?? '').split(';')[0];
    t.match(cookie, /^maintenance_bypass=\d+\./);
    const through = await fetch(`${base}/`, { headers: { cookie } });
    t.equal(through.status, 200, 'the bypass cookie gets through');
    t.match(await through.text(), /The application is up/);
    t.equal((await fetch(`${base}/`, { headers: { cookie: 'maintenance_bypass=9999999999999.forged' } })).status, 503, 'a forged cookie does not');

    // What a person sees, in a real browser.
    const dom = chromium(['--dump-dom', `${base}/`]);
    t.match(dom, /<h1>Maintenance in progress<\/h1>/);
    t.match(dom, /database migration/);
    const shot = join(work, `maintenance-next${v.next}.png`);
    chromium(['--hide-scrollbars', '--window-size=1024,600', `--screenshot=${shot}`, `${base}/`]);
    t.ok(existsSync(shot) && statSync(shot).size > 5000, `screenshot written (${shot})`);
    t.same([...readFileSync(shot).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG');

    const off = make('maintenance-off', env);
    t.equal(off.status, 0, off.stderr);
    await new Promise((r) => setTimeout(r, CACHE_MS + 300));
    t.equal((await fetch(`${base}/`)).status, 200, 'page: 200 again within the cache time');
    t.equal((await fetch(`${base}/api/hello`)).status, 200, 'API: 200 again');
  });
}

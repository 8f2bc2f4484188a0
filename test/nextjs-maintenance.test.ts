// The framework-free maintenance core (nextjs/maintenance.ts) with real files and Web Requests:
// each defect found by probing it as an attacker and as a real app, fixed, with its test.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  bypassCookieValue,
  constantTimeEqual,
  databaseProbe,
  maintenanceGuard,
  pickLocale,
  sanitize,
} from '../nextjs/maintenance.js';
import { writeLock } from '../bin/lib/maintenance/lockfile.js';
import { maintenanceOff, maintenanceOn } from '../bin/lib/maintenance/mode.js';
import { oracleConfig, seededDatabase } from './helpers/database.js';
import { tempSettings } from './helpers/runbook.js';

const SECRET = 's3cret-bypass-0123456789';
const setup = (opts: Parameters<typeof maintenanceGuard>[0] = {}) => {
  const dir = mkdtempSync(join(tmpdir(), 'bm-mw-'));
  const lockFile = join(dir, 'enabled.lock');
  const logged: string[] = [];
  return {
    dir,
    lockFile,
    logged,
    guard: maintenanceGuard({ lockFile, cacheMs: 0, bypassSecret: SECRET, log: (l) => logged.push(l), ...opts }),
  };
};
const req = (path: string, init: RequestInit & { headers?: Record<string, string> } = {}) =>
  new Request(`http://app.test${path}`, init);
const lock = {
  since: new Date(Date.now() - 60_000).toISOString(),
  reason: 'migration 0001',
  retryAfter: 600,
  by: 'ops@vps',
};
const quick = async <T>(p: Promise<T>, ms = 3000): Promise<T | 'hung'> =>
  Promise.race([p, new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms))]);

t.test('off: every request goes through', async (t) => {
  const { guard } = setup();
  t.equal(await guard(req('/')), undefined);
  t.equal(await guard(req('/api/users', { method: 'POST' })), undefined);
});

t.test('no path around maintenance: a static-looking extension is just a path', async (t) => {
  const { guard, lockFile } = setup();
  await writeLock([], lockFile, lock);
  for (const [path, init] of [
    ['/users/1.png', {}],
    ['/files/x.js', { method: 'POST' }],
    ['/logo.svg', {}],
    ['/styles/site.css', {}],
  ] as const) {
    t.equal((await guard(req(path, init)))?.status, 503, `${path} is guarded`);
  }
  const action = await guard(req('/users/1.png', { method: 'POST', headers: { 'next-action': 'abc123' } }));
  t.equal(action?.status, 503, 'a Server Action posted to /users/1.png is refused');
  for (const path of ['/api/health', '/_next/static/chunks/main.js', '/_next/image', '/favicon.ico', '/robots.txt']) {
    t.equal(await guard(req(path)), undefined, `${path} passes`);
  }
  t.equal((await guard(req('/_next/static')))?.status, 503, 'only what is under /_next/static/');
  t.equal((await guard(req('/api/healthz')))?.status, 503, 'only the exact health path');
  const { guard: listed, lockFile: f2 } = setup({ publicFiles: ['/logo.svg'] });
  await writeLock([], f2, lock);
  t.equal(await listed(req('/logo.svg')), undefined, 'a public file listed in the options passes');
  t.equal((await listed(req('/robots.txt')))?.status, 503, 'the list replaces the default');
});

t.test('what visitors get: HTML for people, text/plain for Server Actions, JSON with no operator detail', async (t) => {
  const { guard, lockFile } = setup({ product: 'Pulse Work' });
  await writeLock([], lockFile, { ...lock, message: 'New roles are coming.' });
  const page = await guard(req('/dashboard'));
  t.equal(page?.status, 503);
  t.equal(page?.headers.get('retry-after'), '600');
  t.equal(page?.headers.get('cache-control'), 'no-store');
  const html = (await page?.text()) ?? '';
  t.match(
    html,
    /<div class="product">Pulse Work<\/div><h1>Maintenance in progress<\/h1><p>New roles are coming\.<\/p>/,
  );
  t.notMatch(html, /migration 0001|ops@vps/, "the operator's reason and name are not shown");
  t.notMatch(html, new RegExp(lock.since), 'nor when it started');
  t.match(html, /data-at="\d{4}-\d\d-\d\dT/, 'a countdown to since + retryAfter');
  t.match(
    html,
    /<noscript><meta http-equiv="refresh" content="600"><\/noscript>/,
    'without JavaScript it comes back by itself',
  );
  t.match(html, /fetch\(location\.href,\{method:'HEAD'/, 'with JavaScript, a light poll hands back to the app');
  const action = await guard(req('/settings', { method: 'POST', headers: { 'next-action': 'abc' } }));
  t.match(
    action?.headers.get('content-type'),
    /^text\/plain/,
    "Next shows a Server Action's error body only when text/plain",
  );
  t.equal(await action?.text(), 'New roles are coming.');
  const api = await guard(req('/api/users'));
  t.same(
    await api?.json(),
    { error: 'maintenance', message: 'New roles are coming.', retryAfter: 600 },
    'JSON: retryAfter and the public message only',
  );
  const fr = await guard(req('/', { headers: { 'accept-language': 'fr-FR,fr;q=0.9,en;q=0.8' } }));
  t.match(await fr?.text(), /<html lang="fr">.*Maintenance en cours/s, 'French from Accept-Language');
  t.equal(fr?.headers.get('content-language'), 'fr');
  const { guard: forced, lockFile: f2 } = setup({ locale: 'fr' });
  writeFileSync(f2, '');
  t.match(await (await forced(req('/')))?.text(), /Nous mettons le site à jour/, 'forced French, the default message');
  t.equal(pickLocale('en-GB,en;q=0.9,fr;q=0.8'), 'en');
  t.equal(pickLocale('de-DE,fr;q=0.5'), 'fr');
  t.equal(pickLocale(null), 'en');
});

t.test('whatever the lock file holds: present means ON, with sane values, and never a 500', async (t) => {
  const { guard, lockFile } = setup();
  for (const content of [
    'null',
    '0',
    'false',
    '"on"',
    '[]',
    '',
    'maintenance!',
    '{"reason":123}',
    '{"retryAfter":-5}',
  ]) {
    writeFileSync(lockFile, content);
    const r = await guard(req('/'));
    t.equal(r?.status, 503, `${JSON.stringify(content)}: ON`);
    t.equal(r?.headers.get('retry-after'), '300', `${JSON.stringify(content)}: the default Retry-After`);
  }
  writeFileSync(lockFile, '{"retryAfter":1e21}');
  t.equal((await guard(req('/')))?.headers.get('retry-after'), '86400', 'capped at a day');
  t.same(sanitize({ reason: 123, since: 'yesterday', retryAfter: 12.4 }), {
    since: undefined,
    reason: undefined,
    retryAfter: 12,
    by: undefined,
    message: undefined,
  });
});

t.test(
  'a lock that cannot hang or bloat the app: a FIFO, a folder, a huge file mean ON without reading; logged once',
  async (t) => {
    const { guard, lockFile, logged, dir } = setup();
    execFileSync('mkfifo', [lockFile]);
    const results = await quick(Promise.all(Array.from({ length: 20 }, () => guard(req('/')))));
    t.not(results, 'hung', 'twenty requests on a FIFO lock answer at once');
    t.ok(results !== 'hung' && results.every((r) => r?.status === 503), 'ON');
    t.equal(await quick(guard(req('/_next/static/x.js'))), undefined, 'static files still served');
    t.equal(logged.filter((l) => /not a regular file/.test(l)).length, 1, 'logged once');
    rmSync(lockFile);
    mkdirSync(lockFile);
    t.equal((await guard(req('/')))?.status, 503, 'a folder: ON');
    rmSync(lockFile, { recursive: true });
    writeFileSync(lockFile, `{"reason":"${'x'.repeat(300_000)}"}`);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 50; i++) await guard(req('/'));
    t.equal((await guard(req('/')))?.status, 503, 'a 300 kB lock: ON');
    t.ok(process.memoryUsage().rss - before < 20e6, 'without reading it fifty times into memory');
    t.equal(logged.filter((l) => /more than 65536/.test(l)).length, 1, 'logged once');
    rmSync(dir, { recursive: true });
  },
);

t.test(
  'one read in flight, a time limit, the last known state: a stalled source (probe) cannot hang requests',
  async (t) => {
    const { dir, lockFile } = setup();
    let calls = 0;
    let mode: 'on' | 'stall' | 'fail' | 'off' = 'on';
    const logged: string[] = [];
    const guard = maintenanceGuard({
      lockFile,
      cacheMs: 0,
      timeoutMs: 200,
      log: (l) => logged.push(l),
      probe: async () => {
        calls++;
        if (mode === 'stall') return new Promise(() => {});
        if (mode === 'fail') throw new Error('connection refused');
        return mode === 'on' ? { retryAfter: 42, message: 'Back soon.' } : null;
      },
    });
    const r = await guard(req('/api/x'));
    t.equal(r?.status, 503, 'the lock folder is empty here, the database says ON: 503');
    t.same(await r?.json(), { error: 'maintenance', message: 'Back soon.', retryAfter: 42 });
    mode = 'stall';
    calls = 0;
    // A stalled probe never settles: had the guard waited for it, these requests would never answer.
    const many = await Promise.all(Array.from({ length: 10 }, () => guard(req('/'))));
    t.ok(
      many.every((x) => x?.status === 503),
      'the last known state (ON) holds',
    );
    t.equal(calls, 1, 'one probe in flight, shared by every request');
    const { guard: failing } = {
      guard: maintenanceGuard({
        lockFile,
        cacheMs: 0,
        timeoutMs: 200,
        log: (l) => logged.push(l),
        probe: async () => {
          throw new Error('connection refused');
        },
      }),
    };
    t.equal(await failing(req('/')), undefined, 'a probe that never answered: nothing known, OFF');
    await failing(req('/'));
    t.equal(logged.filter((l) => /the probe failed \(connection refused\)/.test(l)).length, 1, 'logged once');
    rmSync(dir, { recursive: true });
  },
);

t.test(
  'bypass: a signed cookie with a capped life; back to the page asked for, on the host the visitor used',
  async (t) => {
    const { guard, lockFile } = setup();
    await writeLock([], lockFile, lock);
    t.equal(
      (await guard(req('/_maintenance/wrong-secret-wrong-secret')))?.status,
      503,
      'a wrong secret is just a page',
    );
    const r = await guard(
      req(`/_maintenance/${SECRET}/users/1?tab=roles`, {
        headers: { 'x-forwarded-host': 'app.example.com', 'x-forwarded-proto': 'https', host: '10.0.0.7:3000' },
      }),
    );
    t.equal(r?.status, 302);
    t.equal(
      r?.headers.get('location'),
      'https://app.example.com/users/1?tab=roles',
      'the forwarded host and proto, the page asked for',
    );
    const setCookie = r?.headers.get('set-cookie') ?? '';
    t.match(
      setCookie,
      /^maintenance_bypass=\d+\.[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=43200; Secure$/,
    );
    const plain = await guard(req(`/_maintenance/${SECRET}`, { headers: { host: 'pulse.test:8080' } }));
    t.equal(plain?.headers.get('location'), 'http://pulse.test:8080/', 'Host when there is no proxy');
    const evil = await guard(req(`/_maintenance/${SECRET}//evil.example`, { headers: { host: 'pulse.test' } }));
    t.equal(evil?.headers.get('location'), 'http://pulse.test/', 'never to another site');
    const value = setCookie.split(';')[0];
    t.equal(
      await guard(req('/dashboard', { headers: { cookie: `other=1; ${value}` } })),
      undefined,
      "the cookie's holder passes",
    );
    const [expiry, sig] = value.split('=')[1].split('.');
    t.equal(
      (await guard(req('/', { headers: { cookie: `maintenance_bypass=${Number(expiry) + 1000}.${sig}` } })))?.status,
      503,
      'a longer expiry with the old signature fails',
    );
    const tenYears = await bypassCookieValue(SECRET, Date.now() + 10 * 365 * 86400_000);
    t.equal(
      (await guard(req('/', { headers: { cookie: `maintenance_bypass=${tenYears}` } })))?.status,
      503,
      'a correctly signed ten-year cookie fails',
    );
    const expired = await bypassCookieValue(SECRET, Date.now() - 1000);
    t.equal(
      (await guard(req('/', { headers: { cookie: `maintenance_bypass=${expired}` } })))?.status,
      503,
      'an expired cookie fails',
    );
    const malformed = await guard(req('/', { headers: { cookie: 'maintenance_bypass=%E0%A4%A' } }));
    t.equal(malformed?.status, 503, 'a malformed cookie: the page, not a 500');
    t.throws(
      () => maintenanceGuard({ bypassSecret: 'short-secret' }),
      /at least 16 characters/,
      'a short secret is refused at start',
    );
  },
);

t.test(
  'the database flag: maintenance-on records it (committed before the guard), the ready probe reads it, off clears it',
  async (t) => {
    const db = await seededDatabase(t, 10);
    const s = tempSettings(db);
    const client = new pg.Client({ ...oracleConfig(db), application_name: 'app-replica' });
    client.on('error', () => {});
    let errors = 0; // each one an ERROR line in PostgreSQL's log
    const probe = databaseProbe(async (sql) => {
      const c = new pg.Client({ ...oracleConfig(db), application_name: 'app-replica' });
      await c.connect();
      try {
        return (await c.query(sql)).rows;
      } catch (err) {
        errors++;
        throw err;
      } finally {
        await c.end();
      }
    });
    for (let i = 0; i < 3; i++) t.equal(await probe(), null, 'no toolkit yet: OFF');
    t.equal(errors, 0, 'and quiet: the server raised no error (nothing in its log)');
    await maintenanceOn(s, db, { reason: 'migration 0001', retryAfter: 120, message: 'Back in two minutes.' });
    t.match(
      await probe(),
      { retryAfter: 120, message: 'Back in two minutes.' },
      'readable while the database is read-only',
    );
    const guard = maintenanceGuard({
      lockFile: join(mkdtempSync(join(tmpdir(), 'bm-b-')), 'enabled.lock'),
      probe,
      cacheMs: 0,
    });
    const r = await guard(req('/'));
    t.equal(r?.status, 503, 'an instance without the lock folder answers 503 through the probe');
    t.notMatch(await r?.text(), /migration 0001/);
    await maintenanceOff(s, db);
    t.equal(await probe(), null);
    t.equal(errors, 0, 'no error at any point');
    t.equal(await guard(req('/')), undefined, 'and 200 again');
    await client.end().catch(() => {});
  },
);

t.test('constant-time comparison is still a comparison', async (t) => {
  t.ok(constantTimeEqual('abc', 'abc'));
  t.notOk(constantTimeEqual('abc', 'abd'));
  t.notOk(constantTimeEqual('abc', 'abcd'));
  t.notOk(constantTimeEqual('', 'a'));
  t.ok(constantTimeEqual('', ''));
});

// The framework-free maintenance core (nextjs/maintenance.ts) with real files and Web Requests.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bypassCookieValue, constantTimeEqual, maintenanceGuard } from '../nextjs/maintenance.js';
import { writeLock } from '../bin/lib/lockfile.js';

const setup = (opts: Parameters<typeof maintenanceGuard>[0] = {}) => {
  const dir = mkdtempSync(join(tmpdir(), 'bm-mw-'));
  const lockFile = join(dir, 'enabled.lock');
  return { lockFile, guard: maintenanceGuard({ lockFile, cacheMs: 0, bypassSecret: 's3cret-bypass', ...opts }) };
};
const req = (path: string, headers: Record<string, string> = {}) => new Request(`http://app.test${path}`, { headers });
const lock = { since: '2025-01-15T14:30:00.000Z', reason: 'migration 0001', retryAfter: 600, by: 'ops@vps' };

t.test('off: every request goes through', async (t) => {
  const { guard } = setup();
  t.equal(await guard(req('/')), undefined);
  t.equal(await guard(req('/api/users')), undefined);
});

t.test('on: pages get an HTML 503, API routes and JSON clients a JSON 503, with Retry-After and no-store', async (t) => {
  const { guard, lockFile } = setup();
  await writeLock([], lockFile, lock);
  const page = await guard(req('/dashboard'));
  t.equal(page?.status, 503);
  t.equal(page?.headers.get('retry-after'), '600');
  t.equal(page?.headers.get('cache-control'), 'no-store');
  t.match(page?.headers.get('content-type'), /^text\/html/);
  t.match(await page?.text(), /Maintenance in progress.*\(migration 0001\).*about 10 minutes/s);
  const api = await guard(req('/api/users'));
  t.equal(api?.status, 503);
  t.same(await api?.json(), { error: 'maintenance', reason: 'migration 0001', since: lock.since, retryAfter: 600 });
  const action = await guard(new Request('http://app.test/settings', { method: 'POST', headers: { 'next-action': 'abc123' } }));
  t.equal(action?.status, 503, 'a Server Action POST is refused too');
  t.match(action?.headers.get('content-type'), /json/);
  t.match(await (await guard(req('/', { accept: 'application/json' })))?.json(), { error: 'maintenance' });
});

t.test('on: health path and static assets pass', async (t) => {
  const { guard, lockFile } = setup();
  await writeLock([], lockFile, lock);
  for (const path of ['/api/health', '/_next/static/chunks/main.js', '/_next/image?url=x', '/favicon.ico', '/logo.svg', '/styles/site.css']) {
    t.equal(await guard(req(path)), undefined, `${path} passes`);
  }
  t.equal((await guard(req('/api/healthz')))?.status, 503, 'only the exact health path');
});

t.test('the runbook\'s `touch enabled.lock` (empty file) and a non-JSON file mean ON, with defaults', async (t) => {
  const { guard, lockFile } = setup();
  writeFileSync(lockFile, '');
  const r = await guard(req('/'));
  t.equal(r?.status, 503);
  t.equal(r?.headers.get('retry-after'), '300');
  writeFileSync(lockFile, 'maintenance!');
  t.equal((await guard(req('/')))?.status, 503);
});

t.test('the file vanishing between reads is OFF, not an error; the cache holds about a second', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bm-mw-'));
  const lockFile = join(dir, 'enabled.lock');
  const guard = maintenanceGuard({ lockFile, cacheMs: 300 });
  await writeLock([], lockFile, lock);
  t.equal((await guard(req('/')))?.status, 503);
  rmSync(lockFile);
  t.equal((await guard(req('/')))?.status, 503, 'still cached');
  await new Promise((r) => setTimeout(r, 350));
  t.equal(await guard(req('/')), undefined, 'gone after the cache time');
  rmSync(dir, { recursive: true });
  await new Promise((r) => setTimeout(r, 350));
  t.equal(await guard(req('/')), undefined, 'even with the folder gone');
});

t.test('bypass: the secret path sets a signed cookie that lets its holder through', async (t) => {
  const { guard, lockFile } = setup();
  await writeLock([], lockFile, lock);
  t.equal((await guard(req('/_maintenance/wrong-secret')))?.status, 503, 'a wrong secret is just a page');
  const r = await guard(req('/_maintenance/s3cret-bypass'));
  t.equal(r?.status, 302);
  t.equal(r?.headers.get('location'), 'http://app.test/', 'absolute: Next.js refuses relative redirects');
  const setCookie = r?.headers.get('set-cookie') ?? '';
  t.match(setCookie, /^maintenance_bypass=\d+\.[A-Za-z0-9_-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=43200$/);
  const value = setCookie.split(';')[0];
  t.equal(await guard(req('/dashboard', { cookie: `other=1; ${value}` })), undefined, 'cookie holder passes');
  const [expiry, sig] = value.split('=')[1].split('.');
  const tampered = `maintenance_bypass=${Number(expiry) + 1000}.${sig}`;
  t.equal((await guard(req('/dashboard', { cookie: tampered })))?.status, 503, 'a longer expiry with the old signature fails');
  const expired = await bypassCookieValue('s3cret-bypass', Date.now() - 1000);
  t.equal((await guard(req('/', { cookie: `maintenance_bypass=${expired}` })))?.status, 503, 'an expired cookie fails');
  const otherKey = await bypassCookieValue('another-secret', Date.now() + 60_000);
  t.equal((await guard(req('/', { cookie: `maintenance_bypass=${otherKey}` })))?.status, 503, 'signed with another secret fails');
  const { guard: noSecret } = setup({ bypassSecret: '' });
  await writeLock([], join(lockFile, '..', 'x'), lock);
  t.equal(await noSecret(req('/_maintenance/')), undefined, 'no secret configured: no bypass route, and no lock here');
});

t.test('constant-time comparison is still a comparison', async (t) => {
  t.ok(constantTimeEqual('abc', 'abc'));
  t.notOk(constantTimeEqual('abc', 'abd'));
  t.notOk(constantTimeEqual('abc', 'abcd'));
  t.notOk(constantTimeEqual('', 'a'));
  t.ok(constantTimeEqual('', ''));
});

// The lock file: on/off/status, idempotent, JSON content, never half-written.
import t from 'tap';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settings } from '../bin/lib/connection/config.js';
import { readLock, writeLock } from '../bin/lib/maintenance/lockfile.js';
import { maintenanceOff, maintenanceOn, maintenanceStatus } from '../bin/lib/maintenance/mode.js';
import { runBin } from './helpers/cli.js';

const fresh = () => settings({ MAINTENANCE_DIR: join(mkdtempSync(join(tmpdir(), 'bm-maint-')), 'maintenance') });

t.test('on writes the JSON lock, again updates it, off removes it, off again is fine', async (t) => {
  const s = fresh();
  const lock = join(s.maintenanceDir, 'enabled.lock');
  t.same((await maintenanceStatus(s)).on, false);

  const first = await maintenanceOn(s, undefined, { reason: 'migration 0001', retryAfter: 120 });
  t.equal(first.updated, false);
  const content = JSON.parse(readFileSync(lock, 'utf8'));
  t.same(Object.keys(content), ['since', 'reason', 'retryAfter', 'by']);
  t.match(content, { reason: 'migration 0001', retryAfter: 120, by: /^.+@.+$/ });
  t.ok(Math.abs(Date.parse(content.since) - Date.now()) < 60_000, 'since is now, ISO');
  t.equal(statSync(lock).mode & 0o777, 0o644, 'readable by the app');

  const again = await maintenanceOn(s, undefined, { reason: 'still migrating', retryAfter: 600 });
  t.equal(again.updated, true, 'says it updated');
  const updated = JSON.parse(readFileSync(lock, 'utf8'));
  t.equal(updated.since, content.since, 'keeps the start time');
  t.equal(updated.reason, 'still migrating');
  t.equal(updated.retryAfter, 600);
  t.same(readdirSync(s.maintenanceDir), ['enabled.lock'], 'no temp file left');

  const st = await maintenanceStatus(s);
  t.match(st, { on: true, partial: false, locks: [{ target: 'host', content: { reason: 'still migrating' } }] });

  t.equal((await maintenanceOff(s, undefined)).removed, 1);
  t.notOk(existsSync(lock));
  t.equal((await maintenanceOff(s, undefined)).removed, 0, 'idempotent');
  t.same((await maintenanceStatus(s)).on, false);
});

t.test('a reader never sees a half-written lock', async (t) => {
  const s = fresh();
  const lock = join(s.maintenanceDir, 'enabled.lock');
  await writeLock([], lock, { since: new Date().toISOString(), reason: 'x', retryAfter: 1, by: 'a@b' });
  let reads = 0;
  let bad = 0;
  let writing = true;
  const reader = (async () => {
    while (writing) {
      const text = readFileSync(lock, 'utf8');
      reads++;
      try {
        JSON.parse(text);
      } catch {
        bad++;
      }
      await new Promise((r) => setImmediate(r));
    }
  })();
  for (let i = 0; i < 40; i++) {
    await writeLock([], lock, {
      since: new Date().toISOString(),
      reason: 'r'.repeat(20000 + i * 997),
      retryAfter: i,
      by: 'a@b',
    });
  }
  writing = false;
  await reader;
  t.ok(reads > 40, `reader ran (${reads} reads)`);
  t.equal(bad, 0, 'every read was complete JSON');
  t.equal((await readLock([], lock))?.retryAfter, 39);
});

t.test('CLI: on/status/off, --json, --exit-code, messages', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'bm-maint-')), 'm');
  const env = { MAINTENANCE_DIR: dir };
  const on = runBin('maintenance.ts', ['on'], { ...env, REASON: 'deploy', RETRY_AFTER: '60' });
  t.equal(on.code, 0, on.stderr);
  t.match(on.stdout, /^maintenance: ON \(started; lock .*m\/enabled\.lock; no database guard/m);
  t.match(runBin('maintenance.ts', ['on'], env).stdout, /maintenance: ON \(updated;/);
  const st = runBin('maintenance.ts', ['status', '--exit-code'], env);
  t.equal(st.code, 1, '--exit-code: 1 when ON');
  t.match(st.stdout, /lock ON .*"maintenance" for \d+ s, by .*Retry-After 300 s\nmaintenance: ON\n$/);
  const json = JSON.parse(runBin('maintenance.ts', ['status', '--json'], env).stdout);
  t.match(json, { on: true, locks: [{ content: { reason: 'maintenance', retryAfter: 300 } }] });
  const bad = runBin('maintenance.ts', ['on'], { ...env, RETRY_AFTER: 'soon' });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /RETRY_AFTER must be whole seconds/);
  t.match(runBin('maintenance.ts', ['off'], env).stdout, /maintenance: OFF \(lock removed/);
  t.match(runBin('maintenance.ts', ['off'], env).stdout, /maintenance: OFF \(no lock was there/);
  t.equal(runBin('maintenance.ts', ['status', '--exit-code'], env).code, 0, '--exit-code: 0 when OFF');
  t.equal(runBin('maintenance.ts', ['sideways'], env).code, 2);
});

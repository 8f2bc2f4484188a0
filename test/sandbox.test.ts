// The throwaway PostgreSQL: found, started on loopback, and always removed.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPgBindir, requirePgBindir, startSandbox } from '../bin/lib/dev/sandbox.js';
import { query } from './helpers/database.js';

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

t.test('binaries: pg_config first, then the newest /usr/lib/postgresql/N/bin, else a clear refusal', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'bm-pgroot-'));
  for (const v of ['9', '15', '13']) {
    mkdirSync(join(root, v, 'bin'), { recursive: true });
    for (const b of ['initdb', 'pg_ctl']) writeFileSync(join(root, v, 'bin', b), '');
  }
  t.equal(findPgBindir({ root }), join(root, '15', 'bin'), 'newest version wins');
  const fakeConfig = join(root, 'pg_config');
  writeFileSync(fakeConfig, `#!/bin/sh\necho ${join(root, '13', 'bin')}\n`);
  chmodSync(fakeConfig, 0o755);
  t.equal(findPgBindir({ pgConfig: fakeConfig, root }), join(root, '13', 'bin'), 'pg_config --bindir wins');
  t.equal(findPgBindir({ pgConfig: '/nonexistent/pg_config', root: '/nonexistent' }), undefined);
  t.throws(() => requirePgBindir({ root: '/nonexistent' }), {
    message: 'sandbox: no PostgreSQL server binaries found (initdb, pg_ctl).',
    next: 'Run `apt-get install -y postgresql`, or set DATABASE_URL to a server you own.',
  });
  t.ok(findPgBindir(), 'this machine has PostgreSQL binaries');
});

t.test('a sandbox answers on loopback, and stop() removes server and files', async (t) => {
  const sb = await startSandbox();
  const port = Number(new URL(sb.url).port);
  t.match(sb.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres\?sslmode=disable$/);
  const [row] = await query(
    sb.target,
    `SELECT current_setting('listen_addresses') AS l, current_setting('unix_socket_directories') AS s`,
  );
  t.same(row, { l: '127.0.0.1', s: sb.dir });
  sb.stop();
  t.notOk(existsSync(sb.dir), 'temp dir deleted');
  t.notOk(await portOpen(port), 'server stopped');
});

for (const how of ['throw', 'SIGINT'] as const) {
  t.test(`a process that dies by ${how} leaves no server and no files behind`, async (t) => {
    const script = `
      import { startSandbox } from ${JSON.stringify(new URL('../bin/lib/dev/sandbox.ts', import.meta.url).pathname)};
      const sb = await startSandbox();
      console.log(JSON.stringify({ dir: sb.dir, url: sb.url }));
      ${how === 'throw' ? "throw new Error('boom')" : 'setInterval(() => {}, 1000)'};`;
    const child = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d))));
    const { dir, url } = JSON.parse(first) as { dir: string; url: string };
    const port = Number(new URL(url).port);
    t.ok(await portOpen(port), 'running while the process lives');
    if (how === 'SIGINT') child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) =>
      child.once('exit', (c, sig) => resolve(c ?? (sig ? 128 : null))),
    );
    t.not(code, 0, 'the process failed');
    t.notOk(existsSync(dir), 'temp dir deleted');
    t.notOk(await portOpen(port), 'server stopped');
  });
}

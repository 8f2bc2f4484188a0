// Every verb works from a checkout whose path has a space and a non-ASCII letter (issue 20.1):
// the entry check compared a percent-encoded URL with a raw path, so the command did nothing, exit 0.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMain } from '../bin/lib/entry.js';
import { repo } from './helpers/cli.js';
import { testDatabase, urlOf } from './helpers/database.js';

t.test('isMain compares file URLs, not a URL with a raw path', async (t) => {
  const path = '/tmp/space dir/café/bin/x.ts';
  t.ok(isMain(pathToFileURL(path).href, path), 'space and é: the same module');
  t.notOk(isMain(pathToFileURL(path).href, '/tmp/other.ts'));
  t.notOk(isMain(pathToFileURL(path).href, undefined));
});

t.test('make maintenance-on / -off from a checkout in "space dir/café"', async (t) => {
  const db = await testDatabase(t);
  const root = join(mkdtempSync(join(tmpdir(), 'bm-entry-')), 'space dir', 'café');
  mkdirSync(root, { recursive: true });
  const checkout = ['bin', 'verify', 'sql', 'db', 'nextjs', 'package.json', 'package-lock.json', 'Makefile',
    'tsconfig.json'];
  for (const f of checkout) {
    cpSync(join(repo, f), join(root, f), { recursive: true, preserveTimestamps: true });
  }
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'));
  const lockDir = mkdtempSync(join(tmpdir(), 'bm-entry-lock-'));
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: urlOf(db), MAINTENANCE_DIR: lockDir };
  const on = spawnSync('make', ['-s', 'maintenance-on', 'REASON=space test'], { cwd: root, env, encoding: 'utf8' });
  t.equal(on.status, 0, on.stderr);
  t.match(on.stdout, /maintenance/, 'it printed its summary');
  t.ok(existsSync(join(lockDir, 'enabled.lock')), 'and wrote the lock');
  t.match(JSON.parse(readFileSync(join(lockDir, 'enabled.lock'), 'utf8')), { reason: 'space test' });
  const off = spawnSync('make', ['-s', 'maintenance-off'], { cwd: root, env, encoding: 'utf8' });
  t.equal(off.status, 0, off.stderr);
  t.notOk(existsSync(join(lockDir, 'enabled.lock')), 'lock removed');
  const help = spawnSync(`${repo}/node_modules/.bin/tsx`, [join(root, 'bin/migrate.ts'), '--help'],
    { cwd: root, env, encoding: 'utf8' });
  t.match(help.stdout, /^usage: tsx bin\/migrate\.ts NNNN/, 'a command run by path answers --help');
});

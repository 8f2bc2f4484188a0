// Every verb works from a checkout whose path has a space and a non-ASCII letter (issue 20.1):
// the entry check compared a percent-encoded URL with a raw path, so the command did nothing, exit 0.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMain } from '../bin/lib/cli/entry.js';
import { VERBS } from '../bin/breaking-migrations.js';
import { repo } from './helpers/cli.js';
import { testDatabase, urlOf } from './helpers/database.js';

t.test('isMain compares file URLs, not a URL with a raw path', async (t) => {
  const path = '/tmp/space dir/café/bin/x.ts';
  t.ok(isMain(pathToFileURL(path).href, path), 'space and é: the same module');
  t.notOk(isMain(pathToFileURL(path).href, '/tmp/other.ts'));
  t.notOk(isMain(pathToFileURL(path).href, undefined));
});

// Never remake node_modules in the copy: npm ci would empty the linked, real node_modules.
const KEEP_NPM = ['-o', 'node_modules/.package-lock.json'];

t.test('make maintenance-on / -off from a checkout in "space dir/café"', async (t) => {
  const db = await testDatabase(t);
  const root = join(mkdtempSync(join(tmpdir(), 'bm-entry-')), 'space dir', 'café');
  mkdirSync(root, { recursive: true });
  const checkout = [
    'bin',
    'verify',
    'bench',
    'sql',
    'migrations',
    'db',
    'nextjs',
    'package.json',
    'package-lock.json',
    'Makefile',
    'breaking-migrations.mk',
    'tsconfig.json',
  ];
  for (const f of checkout) {
    cpSync(join(repo, f), join(root, f), { recursive: true, preserveTimestamps: true });
  }
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'));
  const lockDir = mkdtempSync(join(tmpdir(), 'bm-entry-lock-'));
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: urlOf(db), MAINTENANCE_DIR: lockDir };
  const on = spawnSync('make', ['-s', ...KEEP_NPM, 'maintenance-on', 'REASON=space test'], {
    cwd: root,
    env,
    encoding: 'utf8',
  });
  t.equal(on.status, 0, on.stderr);
  t.match(on.stdout, /maintenance/, 'it printed its summary');
  t.ok(existsSync(join(lockDir, 'enabled.lock')), 'and wrote the lock');
  t.match(JSON.parse(readFileSync(join(lockDir, 'enabled.lock'), 'utf8')), { reason: 'space test' });
  const off = spawnSync('make', ['-s', ...KEEP_NPM, 'maintenance-off'], { cwd: root, env, encoding: 'utf8' });
  t.equal(off.status, 0, off.stderr);
  t.notOk(existsSync(join(lockDir, 'enabled.lock')), 'lock removed');
  const help = spawnSync(`${repo}/node_modules/.bin/tsx`, [join(root, 'bin/migrate.ts'), '--help'], {
    cwd: root,
    env,
    encoding: 'utf8',
  });
  t.match(help.stdout, /^usage: make migrate-NNNN /, 'a command run by path answers --help, with its make verb');

  // Every verb of the entry point, from there: its own --help (each loads its module).
  for (const { verb } of VERBS) {
    const typed = verb.replace('NNNN', '0001');
    const r = spawnSync(`${repo}/node_modules/.bin/tsx`, [join(root, 'bin/breaking-migrations.ts'), typed, '--help'], {
      cwd: root,
      env,
      encoding: 'utf8',
    });
    t.equal(r.status, 0, `${typed} --help: ${r.stderr}`);
    t.match(
      r.stdout,
      verb === 'init' ? /^usage: npx breaking-migrations init / : /^usage: make /,
      `${typed}: its usage`,
    );
  }
  // Verbs that read the database, through make, from there.
  const dump = spawnSync('make', ['-s', ...KEEP_NPM, 'dump', `BACKUP_DIR=${join(root, 'backups')}`], {
    cwd: root,
    env,
    encoding: 'utf8',
  });
  t.equal(dump.status, 0, dump.stderr);
  const path = dump.stdout.trim().split('\n').pop()!;
  t.ok(
    path.startsWith(join(root, 'backups')) && existsSync(path),
    'the dump is where it says, under the space and the é',
  );
  const history = spawnSync('make', ['-s', ...KEEP_NPM, 'history'], { cwd: root, env, encoding: 'utf8' });
  t.equal(history.status, 0, history.stderr);
  t.match(history.stdout, /^history: \d+ run\(s\) on this database/m);
});

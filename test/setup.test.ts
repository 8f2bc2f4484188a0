// Two commands on a fresh machine: `make demo` and `make test` set up what they need themselves
// (npm packages when node_modules is missing; PostgreSQL's programs from Debian when root, or one
// line saying what to run). A node_modules older than the lock is refused up front, never reinstalled.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decide } from '../bin/setup.js';
import { repo, runBin } from './helpers/cli.js';

t.test('what to do about missing PostgreSQL programs', async (t) => {
  t.same(decide({ missing: [], isRoot: false, hasApt: false }), { action: 'ok' });
  t.match(decide({ missing: ['initdb', 'pg_ctl'], isRoot: true, hasApt: true }), {
    action: 'install',
    line:
      "setup: PostgreSQL's programs are missing (initdb, pg_ctl); " +
      "installing Debian's postgresql (apt-get install -y postgresql)",
  });
  t.match(decide({ missing: ['pg_dump'], isRoot: false, hasApt: true }), {
    action: 'refuse',
    message: "setup: PostgreSQL's programs are missing (pg_dump), and this user is not root to install them.",
    next: /^Run `sudo apt-get install -y postgresql`/,
  });
  t.match(decide({ missing: ['initdb'], isRoot: true, hasApt: false }), {
    action: 'refuse',
    message: /this machine has no apt-get/,
  });
  t.match(
    decide({ missing: ['initdb'], pgBindir: '/opt/pg', isRoot: true, hasApt: true }),
    { action: 'refuse', message: /in PG_BINDIR=\/opt\/pg\.$/, next: /Point PG_BINDIR at the folder holding initdb/ },
    'PG_BINDIR is where to look, and only there: no install',
  );
});

t.test(
  'the refusal when the programs cannot be found and cannot be installed: one line, the command, exit 2',
  async (t) => {
    const empty = mkdtempSync(join(tmpdir(), 'bm-nopg-'));
    const r = runBin('setup.ts', ['postgres'], { PG_BINDIR: empty });
    t.equal(r.code, 2);
    t.equal(
      r.stderr,
      `setup: PostgreSQL's programs are missing (initdb, pg_ctl, psql, pg_dump, pg_restore) in PG_BINDIR=${empty}.\n` +
        '  next: Point PG_BINDIR at the folder holding initdb and pg_dump, or unset it.\n',
    );
    // The same as a user who is not root (the postgres user), through make, where that user can
    // read the repository (a clone under /root cannot be).
    chmodSync(empty, 0o755);
    const readable = spawnSync('runuser', ['-u', 'postgres', '--', 'test', '-r', join(repo, 'Makefile')]).status === 0;
    if (process.getuid?.() === 0 && readable) {
      const asUser = spawnSync(
        'runuser',
        [
          '-u',
          'postgres',
          '--',
          'env',
          '-i',
          `PATH=${process.env.PATH}`,
          `PG_BINDIR=${empty}`,
          'make',
          '-s',
          '-C',
          repo,
          'postgres-programs',
        ],
        { encoding: 'utf8' },
      );
      t.equal(asUser.status, 2, "make passes the refusal's exit code on");
      t.match(asUser.stderr, /^setup: PostgreSQL's programs are missing .* in PG_BINDIR=/);
    }
    t.equal(runBin('setup.ts', ['postgres'], {}).code, 0, 'present here: silent success');
    t.equal(runBin('setup.ts', ['postgres'], {}).stdout, '');
  },
);

t.test(
  'make demo ROWS=1000 in a clean copy without node_modules: installs the packages, then tells the story',
  async (t) => {
    const copy = mkdtempSync(join(tmpdir(), 'bm-clean-'));
    for (const part of [
      'Makefile',
      'breaking-migrations.mk',
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'bin',
      'db',
      'sql',
      'migrations',
      'verify',
    ]) {
      cpSync(join(repo, part), join(copy, part), { recursive: true });
    }
    const env = { PATH: process.env.PATH, HOME: process.env.HOME } as NodeJS.ProcessEnv;
    const first = spawnSync('make', ['-s', 'demo', 'ROWS=1000'], {
      cwd: copy,
      encoding: 'utf8',
      env,
      timeout: 300_000,
    });
    t.equal(first.status, 0, first.stderr);
    t.match(first.stdout, /^setup: installing the npm packages \(npm ci\)$/m);
    t.match(
      first.stdout.trim().split('\n').pop(),
      new RegExp(
        /^demo: \d+ USER became \d+ EMPLOYEE, \d+ ADMIN kept; /.source +
          /labels now EMPLOYEE, MANAGER, ADMIN; maintenance window [\d.]+ s \([\d.]+ s\)$/.source,
      ),
    );
    t.notMatch(
      first.stdout + first.stderr,
      /npm warn/i,
      "npm ci prints no warning (esbuild's install script is denied on purpose)",
    );
    const again = spawnSync('make', ['-s', 'demo', 'ROWS=10'], { cwd: copy, encoding: 'utf8', env, timeout: 120_000 });
    t.equal(again.status, 0, again.stderr);
    t.notMatch(again.stdout, /setup:/, 'nothing to set up the second time: quiet');
  },
);

t.test('a stale node_modules is refused before any verb, npm ci runs only when it is missing', async (t) => {
  // A copy of the Makefiles, with a stand-in npm and a stand-in verb that only write down that they ran.
  const dir = mkdtempSync(join(tmpdir(), 'bm-npm-'));
  for (const f of ['Makefile', 'breaking-migrations.mk']) cpSync(join(repo, f), join(dir, f));
  const log = join(dir, 'ran.log');
  const bin = join(dir, 'fake-bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'npm'),
    `#!/bin/sh\necho "npm $*" >> '${log}'\nmkdir -p node_modules && touch node_modules/.package-lock.json\n`,
  );
  writeFileSync(join(bin, 'verb'), `#!/bin/sh\necho "verb $*" >> '${log}'\n`);
  for (const f of ['npm', 'verb']) chmodSync(join(bin, f), 0o755);
  const hourAgo = new Date(Date.now() - 3600_000);
  writeFileSync(join(dir, 'package-lock.json'), '{}\n');
  utimesSync(join(dir, 'package-lock.json'), hourAgo, hourAgo);
  const installed = join(dir, 'node_modules', '.package-lock.json');
  const ran = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
  const make = () =>
    spawnSync('make', ['-s', 'migrate-0001', `BREAKING_MIGRATIONS=${join(bin, 'verb')}`], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: process.env.HOME },
    });
  const refusal = (why: string) =>
    new RegExp(
      `^setup: node_modules ${why.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}; nothing run\\.\n {2}next: npm ci\n` +
        /make: \*\*\* \[Makefile:\d+: node_modules\/\.package-lock\.json\] Error 2\n$/.source,
    );

  const fresh = make();
  t.equal(fresh.status, 0, `no node_modules: installed, then the verb (${fresh.stderr})`);
  t.equal(fresh.stdout, 'setup: installing the npm packages (npm ci)\n');
  t.same(ran(), ['npm ci --no-audit --no-fund --loglevel=error', 'verb migrate-0001'], 'npm ci first, then the verb');

  const again = make();
  t.equal(again.status, 0, again.stderr);
  t.equal(again.stdout + again.stderr, '', 'up to date: quiet');
  t.same(ran().slice(2), ['verb migrate-0001'], 'no npm ci the second time');

  // The lock changed after the install (a git checkout): refused, nothing run, node_modules untouched.
  // A whole second: file systems keep mtimes to the microsecond or coarser, never to a fraction of a millisecond.
  const twoHoursAgo = new Date(Math.floor((Date.now() - 7200_000) / 1000) * 1000);
  utimesSync(installed, twoHoursAgo, twoHoursAgo);
  const stale = make();
  t.equal(stale.status, 2, 'stale node_modules: exit 2');
  t.match(stale.stderr, refusal('is older than package-lock.json (the lock changed since the last npm ci)'));
  t.equal(stale.stdout, '', 'nothing on stdout');
  t.same(ran().slice(3), [], 'neither npm ci nor the verb ran');
  t.equal(Math.round(statSync(installed).mtimeMs), twoHoursAgo.getTime(), 'node_modules untouched');

  // node_modules there without npm's last file (an install that was interrupted): refused too.
  rmSync(installed);
  const unfinished = make();
  t.equal(unfinished.status, 2, 'node_modules without .package-lock.json: exit 2');
  t.match(unfinished.stderr, refusal('has no .package-lock.json (an unfinished install)'));
  t.same(ran().slice(3), [], 'neither npm ci nor the verb ran');
});

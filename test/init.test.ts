// `breaking-migrations init` run again and again in an app's repository, and the make fragment it
// includes. Fast: the package is this checkout, linked as the app's node_modules/breaking-migrations
// (test/package.test.ts does the same from the packed tarball, installed by npm).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropInId } from '../bin/init.js';
import { repo } from './helpers/cli.js';

const INCLUDE = 'include node_modules/breaking-migrations/breaking-migrations.mk';
const env = { PATH: process.env.PATH, HOME: process.env.HOME };

/** A scratch app: package.json, and this checkout as its node_modules/breaking-migrations. */
function scratchApp(pkg: object = { name: 'app', private: true }, files: Record<string, string> = {}): string {
  const app = mkdtempSync(join(tmpdir(), 'bm-init-'));
  writeFileSync(join(app, 'package.json'), `${JSON.stringify(pkg)}\n`);
  mkdirSync(join(app, 'node_modules'));
  symlinkSync(repo, join(app, 'node_modules/breaking-migrations'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(app, path, '..'), { recursive: true });
    writeFileSync(join(app, path), text);
  }
  return app;
}
const init = (cwd: string, entry = join(repo, 'bin/breaking-migrations.ts')) => {
  const r = spawnSync(join(repo, 'node_modules/.bin/tsx'), [entry, 'init'], { cwd, env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const make = (cwd: string, ...args: string[]) => {
  const r = spawnSync('make', ['-s', ...args], { cwd, env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};
const text = (app: string, path: string) => readFileSync(join(app, path), 'utf8');
/** Every file of the app but node_modules, with its content. */
const snapshot = (app: string) =>
  Object.fromEntries(
    (readdirSync(app, { recursive: true }) as string[])
      .filter((p) => !p.startsWith('node_modules'))
      .sort()
      .map((p) => [p, statSync(join(app, p)).isDirectory() ? 'a folder' : text(app, p)]),
  );

t.test("`make` alone runs the app's first target; the verbs run this package's command", async (t) => {
  const appended = scratchApp({ name: 'a' }, { Makefile: 'build:\n\t@echo built\n' });
  t.equal(init(appended).code, 0);
  t.equal(
    text(appended, 'Makefile'),
    `build:\n\t@echo built\n\n# breaking-migrations: the runbook's verbs ` +
      `(\`npx breaking-migrations help\` lists them)\n${INCLUDE}\n`,
    'the include appended after their rules',
  );
  t.same(make(appended), { code: 0, stdout: 'built\n', stderr: '' }, 'include last: make runs build');
  t.equal(
    make(appended, '-n', 'maintenance-status').stdout,
    'node node_modules/breaking-migrations/bin/breaking-migrations.mjs maintenance-status\n',
    "BREAKING_MIGRATIONS: node and the fragment's own folder",
  );

  const first = scratchApp({ name: 'b' }, { Makefile: `${INCLUDE}\nbuild:\n\t@echo built\n` });
  t.same(make(first), { code: 0, stdout: 'built\n', stderr: '' }, 'include first: make still runs build, not init');
  const goal = scratchApp(
    { name: 'c' },
    { Makefile: `.DEFAULT_GOAL := deploy\n${INCLUDE}\ndeploy:\n\t@echo deployed\n` },
  );
  t.equal(make(goal).stdout, 'deployed\n', 'their own .DEFAULT_GOAL is kept');

  // MAKEFILE_LIST ends with whatever make read last: the folder is taken when the fragment is read.
  const later = scratchApp({ name: 'd' }, { 'tools/other.mk': 'other:\n\t@echo other\n' });
  writeFileSync(join(later, 'Makefile'), `${INCLUDE}\ninclude tools/other.mk\nbuild:\n\t@echo built\n`);
  t.equal(
    make(later, '-n', 'status').stdout,
    'node node_modules/breaking-migrations/bin/breaking-migrations.mjs status\n',
    'another include after it changes nothing',
  );

  // An include of their own or an earlier init's (absolute): kept as it is, never a second one.
  const old = `build:\n\t@echo built\ninclude ${join(repo, 'breaking-migrations.mk')}\n`;
  const earlier = scratchApp({ name: 'f' }, { Makefile: old });
  const kept = init(earlier);
  t.equal(kept.code, 0, kept.stderr);
  t.equal(text(earlier, 'Makefile'), old, 'their include kept as it is');
  t.match(
    kept.stdout,
    `  kept Makefile: it has \`include ${join(repo, 'breaking-migrations.mk')}\` (init would write \`${INCLUDE}\`)`,
  );

  const fresh = scratchApp({ name: 'e' });
  t.equal(init(fresh).code, 0);
  t.ok(text(fresh, 'Makefile').split('\n').includes(INCLUDE), 'a new Makefile with the include');
  const help = make(fresh);
  t.equal(help.code, 0, help.stderr);
  t.match(help.stdout, /^usage: /, 'make alone in a new Makefile: the verbs');
  t.match(help.stdout, /^ {2}migrate-NNNN +preflight, maintenance, dump/m);
});

t.test('.env.example: only the settings it lacks, appended once; theirs untouched', async (t) => {
  const theirs = 'DATABASE_URL=postgresql://me@db/app\n# MAINTENANCE_DIR=/srv/lock\nexport STRATEGY=rename\nOWN=1';
  const app = scratchApp({ name: 'a' }, { '.env.example': theirs });
  const first = init(app);
  t.equal(first.code, 0, first.stderr);
  const after = text(app, '.env.example');
  t.ok(after.startsWith(`${theirs}\n\n# breaking-migrations `), 'their lines first, as they were');
  const ours = readFileSync(join(repo, '.env.example'), 'utf8');
  const keys = (s: string) => [...s.matchAll(/^(?:# )?(?:export )?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
  for (const key of keys(ours)) t.equal(keys(after).filter((k) => k === key).length, 1, `${key} once`);
  t.match(after, /^# MAINTENANCE_DIR=\/srv\/lock$/m, 'their value kept');
  t.notMatch(after, /^# MAINTENANCE_DIR=maintenance$/m, 'ours not added beside it');
  t.match(after, /^# Where dumps go: .*\n# BACKUP_DIR=backups$/m, 'a setting comes with its comment');
  t.match(first.stdout, /^ {2}added to \.env\.example: MIGRATIONS_DIR, BACKUP_DIR, APP_CONTAINER/m);
  t.notMatch(first.stdout, /added to \.env\.example: .*\b(DATABASE_URL|MAINTENANCE_DIR|STRATEGY)\b/);

  const again = init(app);
  t.equal(again.code, 0, again.stderr);
  t.equal(text(app, '.env.example'), after, 'a second init adds nothing');
  t.match(again.stdout, /^ {2}unchanged \.env\.example$/m);
  t.match(again.stdout, /^init: 0 file\(s\) written, 0 added to, 4 left as they were;/m);
});

t.test('the next line follows .env: copy it, add DATABASE_URL to it, or go on', async (t) => {
  const app = scratchApp();
  t.match(
    init(app).stdout,
    /; next: cp \.env\.example \.env, set DATABASE_URL in it, then `make new-enum-migration ID=0001/,
  );
  writeFileSync(join(app, '.env'), 'SOMETHING=else\n');
  t.match(init(app).stdout, /; next: add DATABASE_URL to \.env \(its line is in \.env\.example\), then `make new-enum/);
  writeFileSync(join(app, '.env'), 'DATABASE_URL=postgresql://me@db/app\n');
  mkdirSync(join(app, 'migrations/0001'));
  t.match(
    init(app).stdout,
    /; next: `make new-enum-migration ID=0002 TYPE=… FROM=… TO=… MAP=…` \(or `make new-migration/,
  );
});

t.test('a drop-in they merged is kept when marked; unmarked, init refuses and writes nothing', async (t) => {
  const own = "// the team's proxy\nexport { proxy } from './auth';\n";
  const app = scratchApp(
    { name: 'a', dependencies: { next: '^16.1.0' } },
    { 'src/app/page.tsx': '', 'src/proxy.ts': own },
  );
  const before = snapshot(app);
  const id = dropInId(readFileSync(join(repo, 'nextjs/proxy.ts'), 'utf8'));
  const refused = init(app);
  t.equal(refused.code, 2);
  t.equal(refused.stdout, '');
  t.equal(
    refused.stderr,
    'init: src/proxy.ts exist(s) with other content; nothing was written.\n' +
      '  next: Move them aside, or merge ours (node_modules/breaking-migrations/nextjs/) into them and mark each ' +
      `with the comment \`breaking-migrations: merged <id>\` (src/proxy.ts: ${id}) so that init keeps them; ` +
      'then run it again.\n',
  );
  t.same(snapshot(app), before, 'nothing written');

  writeFileSync(join(app, 'src/proxy.ts'), `${own}// breaking-migrations: merged ${id}\n`);
  const kept = init(app);
  t.equal(kept.code, 0, kept.stderr);
  t.match(kept.stdout, new RegExp(`^ {2}kept src/proxy\\.ts: merged \\(breaking-migrations: merged ${id}\\)$`, 'm'));
  t.equal(text(app, 'src/proxy.ts'), `${own}// breaking-migrations: merged ${id}\n`, 'their file as it was');
  t.equal(text(app, 'src/lib/maintenance.ts'), readFileSync(join(repo, 'nextjs/maintenance.ts'), 'utf8'));

  writeFileSync(join(app, 'src/proxy.ts'), `${own}// breaking-migrations: merged 0badc0de\n`);
  const stale = init(app);
  t.equal(stale.code, 0, stale.stderr);
  t.match(
    stale.stdout,
    `kept src/proxy.ts: merged; node_modules/breaking-migrations/nextjs/proxy.ts is now ${id}, the marker says ` +
      `0badc0de: merge what changed, then mark it \`breaking-migrations: merged ${id}\``,
    'after an upgrade: which drop-in changed',
  );
});

/** A copy of the package at `dir` (a clone when `clone`: with this repository's Makefile), its npm packages linked. */
function copyOfPackage(dir: string, clone: boolean): void {
  mkdirSync(dir, { recursive: true });
  for (const f of ['bin', 'sql', 'nextjs', 'verify', 'db', '.env.example', 'breaking-migrations.mk', 'package.json'])
    cpSync(join(repo, f), join(dir, f), { recursive: true });
  if (clone) cpSync(join(repo, 'Makefile'), join(dir, 'Makefile'));
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
}

t.test('an include make cannot read, or a copy not installed in the app: refused, nothing written', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'bm-init-copy-'));
  copyOfPackage(join(root, 'space dir/bm'), true); // a clone in a folder with a space
  const app = join(root, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), '{"name":"app"}\n');
  const spaced = init(app, join(root, 'space dir/bm/bin/breaking-migrations.ts'));
  t.equal(spaced.code, 2);
  t.equal(
    spaced.stderr,
    'init: the Makefile would include "../space dir/bm/breaking-migrations.mk", and make cannot include a path ' +
      'with a space, # or $; nothing was written.\n  next: Install the package in the app (`npm install ' +
      '--save-dev breaking-migrations`: node_modules/… has none), or move this copy to a path without one; ' +
      'then run init again.\n',
  );
  t.same(readdirSync(app), ['package.json'], 'nothing written');

  copyOfPackage(join(root, 'cache/bm'), false); // a package, as npx keeps one in its cache
  const elsewhere = init(app, join(root, 'cache/bm/bin/breaking-migrations.ts'));
  t.equal(elsewhere.code, 2);
  t.match(elsewhere.stderr, /^init: breaking-migrations is not installed in \S+app nor in a folder above it/);
  t.match(elsewhere.stderr, /\n {2}next: Install it in the app first \(`npm install --save-dev breaking-migrations`\)/);
  t.same(readdirSync(app), ['package.json'], 'nothing written');
});

// The toolkit as a user gets it: `npm pack` of this checkout, installed with `npm install --save-dev`
// into a scratch app repository made here (package.json, prisma/schema.prisma, no access to this
// checkout's files), `npx breaking-migrations init`, then the runbook from the app's own Makefile:
// a new enum migration written into the app's migrations/, rehearsed, run, maintenance on and off,
// and its dump restored, on a real PostgreSQL. This checkout is left exactly as it was.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VERBS } from '../bin/breaking-migrations.js';
import { repo } from './helpers/cli.js';
import { enumLabels, query, tableChecksum, testDatabase, urlOf } from './helpers/database.js';

const sh = (cmd: string, args: string[], cwd: string, env: Record<string, string> = {}) => {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout: 300_000,
    // No NODE_PATH, no DATABASE_URL from the test's environment: only what an app's shell has.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, npm_config_loglevel: 'error', ...env },
  });
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', out: `${r.stdout}${r.stderr}` };
};
const gitState = () => sh('git', ['status', '--porcelain', '--untracked-files=all'], repo).stdout;

const before = gitState();
const work = mkdtempSync(join(tmpdir(), 'bm-package-'));

// --- the package ---------------------------------------------------------------------------------
const pack = sh('npm', ['pack', '--json', '--pack-destination', work], repo);
if (pack.code !== 0) throw new Error(`npm pack failed: ${pack.stderr}`);
const packed = JSON.parse(pack.stdout)[0] as { filename: string; size: number; files: { path: string }[] };
const tarball = join(work, packed.filename);
const install = (cwd: string) =>
  sh('npm', ['install', '--save-dev', '--prefer-offline', '--no-audit', '--no-fund', tarball], cwd);
const CHECKOUT_VERBS = VERBS.filter((v) => v.checkout).map((v) => v.verb);
const json = (value: object) => `${JSON.stringify(value, null, 2)}\n`;
const text = (path: string) => readFileSync(path, 'utf8');

t.test('the package holds the commands, the toolkit SQL and the app-side drop-ins, nothing else', async (t) => {
  const paths = packed.files.map((f) => f.path);
  t.comment(`${packed.filename}: ${(packed.size / 1024).toFixed(0)} kB packed, ${paths.length} files`);
  for (const must of [
    'bin/breaking-migrations.mjs',
    'bin/breaking-migrations.ts',
    'bin/init.ts',
    'breaking-migrations.mk',
    '.env.example',
    'sql/README.md',
    'db/toolkit/20250101000000_toolkit_enum_swap.sql',
    'nextjs/proxy.ts',
    'nextjs/middleware.ts',
    'nextjs/maintenance.ts',
    'verify/verify.ts',
  ])
    t.ok(paths.includes(must), `has ${must}`);
  for (const never of ['test/', 'bench/', 'e2e/', 'examples/', 'migrations/', 'db/baseline/', '.ci/'])
    t.notOk(
      paths.some((p) => p.startsWith(never)),
      `no ${never}`,
    );
  t.ok(packed.size < 400_000, `under 400 kB packed (${packed.size} bytes)`);
});

// --- the app's repository ------------------------------------------------------------------------
const app = join(work, 'pulse-work');
mkdirSync(join(app, 'prisma'), { recursive: true });
writeFileSync(
  join(app, 'package.json'),
  `${JSON.stringify({ name: 'pulse-work', private: true, dependencies: { next: '^15.5.2' } }, null, 2)}\n`,
);
const SCHEMA =
  'datasource db {\n  provider = "postgresql"\n}\n\n' + 'model Task {\n  id     String @id\n  status Status\n}\n\n';
writeFileSync(join(app, 'prisma/schema.prisma'), `${SCHEMA}enum Status {\n  OPEN\n  DONE\n}\n`);

t.test('npm install --save-dev of the tarball, then init', async (t) => {
  const installed = install(app);
  t.equal(installed.code, 0, installed.stderr);
  const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  t.match(pkg.devDependencies['breaking-migrations'], /\.tgz$/, 'a devDependency');

  const help = sh('npx', ['breaking-migrations', 'help'], app);
  t.equal(help.code, 0, help.stderr);
  t.match(help.stdout, /^usage: npx breaking-migrations <verb> \[arguments\]/, 'the usage of the package');
  t.match(help.stdout, /^ {2}migrate-NNNN +preflight, maintenance, dump/m, 'the verb table');
  for (const verb of CHECKOUT_VERBS) t.notMatch(help.stdout, new RegExp(`^ {2}${verb} `, 'm'), `no ${verb} listed`);
  const demo = sh('npx', ['breaking-migrations', 'bench'], app);
  t.equal(demo.code, 2, "a checkout's verb is refused");
  t.match(demo.stderr, /^breaking-migrations: bench belongs to a checkout of the breaking-migrations repository/);
  const usage = sh('npx', ['breaking-migrations', 'migrate-0002', '--help'], app);
  t.equal(usage.code, 0, usage.stderr);
  t.equal(
    usage.stdout.split('\n')[0],
    'usage: npx breaking-migrations migrate-NNNN   (make migrate-NNNN [STRATEGY=update|rewrite|rename] ' +
      '[AUTO_RESTORE=1] [LOCK_TIMEOUT=10s])',
    "a verb's usage: the command that works here, and its make verb",
  );

  const init = sh('npx', ['breaking-migrations', 'init'], app);
  t.equal(init.code, 0, init.out);
  t.match(init.stdout, /init: 6 file\(s\) written, 0 added to, 0 left as they were; next: cp \.env\.example \.env, /);
  const home = join(app, 'node_modules/breaking-migrations');
  t.equal(
    readFileSync(join(app, 'Makefile'), 'utf8').split('\n')[1],
    'include node_modules/breaking-migrations/breaking-migrations.mk',
  );
  t.equal(readFileSync(join(app, 'middleware.ts'), 'utf8'), readFileSync(join(home, 'nextjs/middleware.ts'), 'utf8'));
  t.notOk(existsSync(join(app, 'proxy.ts')), 'Next.js 15.5: middleware.ts, not proxy.ts');
  t.equal(
    readFileSync(join(app, 'lib/maintenance.ts'), 'utf8'),
    readFileSync(join(home, 'nextjs/maintenance.ts'), 'utf8'),
  );
  t.match(readFileSync(join(app, '.env.example'), 'utf8'), /^DATABASE_URL=postgresql:/m);
  t.ok(existsSync(join(app, 'migrations/README.md')));
  t.same(
    readFileSync(join(app, '.gitignore'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('/') || l === '.env'),
    ['.env', '/backups/', '/maintenance/'],
    'dumps, the lock and .env kept out of git',
  );

  const listed = sh('make', ['-s'], app);
  t.equal(listed.code, 0, listed.out);
  t.match(listed.stdout, /^ {2}restore +restore DUMP=/m, "`make` alone in init's Makefile: the verbs");
  t.notMatch(listed.stdout, /^ {2}demo /m);

  const again = sh('npx', ['breaking-migrations', 'init'], app);
  t.equal(again.code, 0, again.out);
  t.match(again.stdout, /init: 0 file\(s\) written, 0 added to, 6 left as they were/, 'a second init changes nothing');
  t.equal(readFileSync(join(app, 'Makefile'), 'utf8').match(/^include /gm)?.length, 1, 'one include');

  writeFileSync(join(app, 'middleware.ts'), '// the team’s own middleware\n');
  const env = join(app, '.env.example');
  writeFileSync(env, '# theirs\nDATABASE_URL=postgresql://me@db/app\n');
  const refused = sh('npx', ['breaking-migrations', 'init'], app);
  t.equal(refused.code, 2, refused.out);
  t.equal(refused.stdout, '');
  t.match(refused.stderr, /^init: middleware\.ts exist\(s\) with other content; nothing was written\.\n {2}next: /);
  t.equal(refused.stderr.split('\n').length, 3, 'two lines: the cause, then next:');
  t.equal(readFileSync(join(app, 'middleware.ts'), 'utf8'), '// the team’s own middleware\n', 'not overwritten');
  t.equal(readFileSync(env, 'utf8'), '# theirs\nDATABASE_URL=postgresql://me@db/app\n', 'nothing added either');
  writeFileSync(join(app, 'middleware.ts'), readFileSync(join(home, 'nextjs/middleware.ts'), 'utf8'));
  const merged = sh('npx', ['breaking-migrations', 'init'], app);
  t.equal(merged.code, 0, merged.out);
  t.match(merged.stdout, /^ {2}added to \.env\.example: MIGRATIONS_DIR, MAINTENANCE_DIR, BACKUP_DIR, /m);
  t.equal(readFileSync(env, 'utf8').match(/^DATABASE_URL=/gm)?.length, 1, 'their DATABASE_URL, not ours beside it');
});

t.test('Next 16 with src/, their own Makefile and .gitignore, in a folder with a space', async (t) => {
  const shop = join(work, 'my shop');
  const theirs = { Makefile: '.PHONY: build\nbuild:\n\t@echo built\n', '.gitignore': 'node_modules\n/.env\n' };
  mkdirSync(join(shop, 'src/app'), { recursive: true });
  writeFileSync(join(shop, 'src/app/page.tsx'), 'export default function Page() { return null; }\n');
  writeFileSync(join(shop, 'package.json'), json({ name: 'shop', private: true, dependencies: { next: '^16.1.0' } }));
  for (const [file, content] of Object.entries(theirs)) writeFileSync(join(shop, file), content);
  t.equal(install(shop).code, 0);
  const init = sh('npx', ['breaking-migrations', 'init'], shop);
  t.equal(init.code, 0, init.out);
  t.match(init.stdout, /^init: 4 file\(s\) written, 2 added to, 0 left as they were;/m);
  const home = join(shop, 'node_modules/breaking-migrations');
  t.equal(text(join(shop, 'src/proxy.ts')), text(join(home, 'nextjs/proxy.ts')), 'Next 16 in src/: src/proxy.ts');
  t.equal(text(join(shop, 'src/lib/maintenance.ts')), text(join(home, 'nextjs/maintenance.ts')));
  for (const never of ['proxy.ts', 'middleware.ts', 'lib', 'src/middleware.ts'])
    t.notOk(existsSync(join(shop, never)), `no ${never}`);
  const makefile =
    `${theirs.Makefile}\n# breaking-migrations: the runbook's verbs (\`npx breaking-migrations help\` lists them)\n` +
    'include node_modules/breaking-migrations/breaking-migrations.mk\n';
  t.equal(text(join(shop, 'Makefile')), makefile, 'their Makefile, then the include');
  const ours = '# breaking-migrations: secrets, dumps, the lock\n/backups/\n/maintenance/\n';
  const gitignore = `${theirs['.gitignore']}\n${ours}`;
  t.equal(text(join(shop, '.gitignore')), gitignore, 'their .gitignore, then the two lines it lacked (.env it has)');

  const again = sh('npx', ['breaking-migrations', 'init'], shop);
  t.equal(again.code, 0, again.out);
  t.match(again.stdout, /^init: 0 file\(s\) written, 0 added to, 6 left as they were;/m);
  t.equal(text(join(shop, 'Makefile')), makefile, 'the include once');
  t.equal(text(join(shop, '.gitignore')), gitignore, 'the lines once');

  t.same(sh('make', ['-s'], shop).stdout, 'built\n', '`make` alone: still their first target');
  const skeleton = sh('make', ['-s', 'new-migration', 'ID=0001', 'NAME=first'], shop);
  t.equal(skeleton.code, 0, skeleton.out);
  t.ok(existsSync(join(shop, 'migrations/0001/preflight.sql')), 'a verb ran through make, under the space');
});

t.test('npm workspaces: the package at the root, init in a package folder', async (t) => {
  const root = join(work, 'mono');
  const web = join(root, 'packages/web');
  mkdirSync(join(web, 'app'), { recursive: true });
  writeFileSync(join(root, 'package.json'), json({ name: 'mono', private: true, workspaces: ['packages/*'] }));
  writeFileSync(join(web, 'package.json'), json({ name: 'web', version: '1.0.0', dependencies: { next: '^16.1.0' } }));
  t.equal(install(root).code, 0);
  t.ok(existsSync(join(root, 'node_modules/breaking-migrations/package.json')), 'installed at the root');
  t.notOk(existsSync(join(web, 'node_modules/breaking-migrations')), 'not in the package');

  const init = sh('npx', ['breaking-migrations', 'init'], web);
  t.equal(init.code, 0, init.out);
  t.match(
    text(join(web, 'Makefile')),
    /^include \.\.\/\.\.\/node_modules\/breaking-migrations\/breaking-migrations\.mk$/m,
    'the include, relative to the package folder',
  );
  t.ok(existsSync(join(web, 'proxy.ts')), "the drop-in for the package's own Next.js");
  t.ok(existsSync(join(web, '.env.example')) && existsSync(join(web, 'migrations/README.md')));
  for (const never of ['Makefile', '.env.example', 'migrations', 'proxy.ts'])
    t.notOk(existsSync(join(root, never)), `nothing at the root: no ${never}`);

  t.equal(
    sh('make', ['-s', '-n', 'status'], web).stdout,
    'node ../../node_modules/breaking-migrations/bin/breaking-migrations.mjs status\n',
    "make runs the root's copy",
  );
  const listed = sh('make', ['-s'], web);
  t.equal(listed.code, 0, listed.out);
  t.match(listed.stdout, /^ {2}migrate-NNNN +preflight/m, '`make` alone: the verbs');
  const skeleton = sh('make', ['-s', 'new-migration', 'ID=0001', 'NAME=first'], web);
  t.equal(skeleton.code, 0, skeleton.out);
  t.ok(existsSync(join(web, 'migrations/0001/preflight.sql')), "written into the package's migrations/");
});

t.test("the next migration, from the app's repository, with make", async (t) => {
  const db = await testDatabase(t);
  await query(
    db,
    `CREATE TYPE "Status" AS ENUM ('OPEN', 'DONE');
     CREATE TABLE "Task" (id text PRIMARY KEY, status "Status" NOT NULL DEFAULT 'OPEN');
     INSERT INTO "Task"
       SELECT 't' || i, (ARRAY['OPEN', 'DONE'])[1 + i % 3 / 2]::"Status" FROM generate_series(1, 3000) i`,
  );
  const counts = async () =>
    Object.fromEntries(
      (
        await query<{ s: string; n: number }>(db, `SELECT status::text AS s, count(*)::int AS n FROM "Task" GROUP BY 1`)
      ).map((r) => [r.s, r.n]),
    );
  const start = await counts();
  const data = await tableChecksum(db, '"Task"');
  const ids = await tableChecksum(db, '(SELECT id FROM "Task")');
  const make = (args: string[], extra: Record<string, string> = {}) =>
    sh('make', ['-s', ...args], app, { DATABASE_URL: urlOf(db), ...extra });

  const gen = make([
    'new-enum-migration',
    'ID=0002',
    'TYPE=Status',
    'FROM=OPEN,DONE',
    'TO=TODO,DOING,DONE',
    'MAP=OPEN=TODO',
    'NAME=task_status',
  ]);
  t.equal(gen.code, 0, gen.out);
  t.match(gen.stdout, /wrote migrations\/0002\/mutation\.sql/);
  t.ok(readdirSync(join(app, 'migrations/0002/expand')).length === 1, "the app's migrations/0002/expand");
  t.ok(existsSync(join(app, 'migrations/0002/enum.json')));

  const rehearse = make(['rehearse-0002']);
  t.equal(rehearse.code, 0, rehearse.out);
  t.same(await enumLabels(db, '"Status"'), ['OPEN', 'DONE'], 'the rehearsal left the database as it was');

  const migrate = make(['migrate-0002']);
  t.equal(migrate.code, 0, migrate.out);
  t.same(await enumLabels(db, '"Status"'), ['TODO', 'DOING', 'DONE']);
  t.same(await counts(), { TODO: start.OPEN, DONE: start.DONE }, 'every OPEN row is TODO, DONE rows kept');
  t.equal(await tableChecksum(db, '(SELECT id FROM "Task")'), ids, 'the same rows');
  const status = make(['status']);
  t.equal(status.code, 0, status.out);
  t.match(status.stdout, /migration 0002\n/, "MIGRATION unset: the app's newest migration, 0002");
  t.match(status.stdout, /\[X\] \d{14}_task_status_contract\.sql/, 'its contract applied');
  const backups = join(app, 'backups');
  t.equal(statSync(backups).mode & 0o777, 0o700, "backups/ in the app's repository, 0700");
  const dump = readdirSync(backups).find((f) => f.endsWith('.dump'));
  t.ok(dump, 'the run made a dump');
  t.equal(statSync(join(backups, dump!)).mode & 0o777, 0o600, 'the dump is 0600');

  t.equal(make(['maintenance-on']).code, 0);
  t.ok(existsSync(join(app, 'maintenance/enabled.lock')), "the lock in the app's maintenance/");
  const restore = make(['restore', `DUMP=backups/${dump}`, 'YES=1']);
  t.equal(restore.code, 0, restore.out);
  t.same(await enumLabels(db, '"Status"'), ['OPEN', 'DONE'], 'restored: the type as it was');
  t.equal(await tableChecksum(db, '"Task"'), data, 'restored: every row as it was');
  const off = make(['maintenance-off']);
  t.equal(off.code, 0, off.out);
  t.notOk(existsSync(join(app, 'maintenance/enabled.lock')));
});

t.test('this checkout is unchanged', async (t) => {
  t.equal(gitState(), before, 'git status as before the test');
  t.notOk(existsSync(join(repo, 'migrations/0002')), 'no migration written here');
});

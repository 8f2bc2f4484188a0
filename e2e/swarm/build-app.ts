// Builds the app image's context in the folder given: `node` (this host's binary) and `app/`,
// a copy of examples/nextjs with the maintenance drop-in installed as a user would (as
// e2e/nextjs.test.ts does: lib/maintenance.ts, proxy.ts, the database probe through pg, which
// reports the labels of APP_ROLE_LABELS when the image sets it), then
// `npm ci` and `next build` in that copy. examples/ itself is never written.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const source = join(repo, 'examples/nextjs');
const context = process.argv[2];
if (!context || !existsSync(context)) throw new Error('usage: tsx e2e/swarm/build-app.ts CONTEXT_DIR');
const app = join(context, 'app');

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, {
    cwd: app,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    timeout: 900_000,
  });
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout.slice(-3000)}${r.stderr.slice(-3000)}`);
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
  }
}

// Left behind by `make test-e2e` in examples/nextjs: rewritten below, or rebuilt.
const generated = new Set(['node_modules', '.next', 'lib', 'proxy.ts', 'middleware.ts', 'next-env.d.ts']);
cpSync(source, app, { recursive: true, filter: (src) => !generated.has(relative(source, src).split('/')[0]) });

mkdirSync(join(app, 'lib'), { recursive: true });
copyFileSync(join(repo, 'nextjs/maintenance.ts'), join(app, 'lib/maintenance.ts'));
const proxy = readFileSync(join(repo, 'nextjs/proxy.ts'), 'utf8');
// The labels this build's client knows, read when the server starts: engine.sh tags the image as
// v1, v2 and v3 with APP_BUILD and APP_ROLE_LABELS. Without APP_ROLE_LABELS, no report.
const report = `
// The instance report (breaking_migrations.app_instances): the labels this build knows, if set.
const report = process.env.APP_ROLE_LABELS
  ? { enums: { Role: (process.env.APP_ROLE_LABELS ?? '').split(',').filter(Boolean) }, build: process.env.APP_BUILD }
  : undefined;
`;
const withProbe = proxy
  .replace(
    "import { maintenanceGuard } from './lib/maintenance';",
    "import { databaseProbe, maintenanceGuard } from './lib/maintenance';\nimport pg from 'pg';\n\n" +
      'const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 1 });\n' +
      report,
  )
  .replace(
    'const guard = maintenanceGuard({',
    'const guard = maintenanceGuard({\n  probe: databaseProbe(async (sql) => (await pool.query(sql)).rows, report),',
  );
if (withProbe === proxy || !withProbe.includes('databaseProbe(')) {
  throw new Error('nextjs/proxy.ts changed: the probe could not be added');
}
writeFileSync(join(app, 'proxy.ts'), withProbe);

if (existsSync(join(source, 'node_modules/next'))) {
  // verbatimSymlinks: node_modules/.bin links stay relative, into the copy (resolved, they pointed at
  // examples/ and next ran with a second React from there: useContext of null at prerender).
  cpSync(join(source, 'node_modules'), join(app, 'node_modules'), { recursive: true, verbatimSymlinks: true });
} else {
  console.log('swarm engine: npm ci in the copy (examples/nextjs has no node_modules)');
  run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
}
run(join(app, 'node_modules/.bin/next'), ['build']);
copyFileSync(realpathSync(process.execPath), join(context, 'node'));
console.log(`swarm engine: built ${relative(repo, source)} with the drop-in into ${app}`);

// Builds the app images' contexts in the folder given, from examples/nextjs (a Prisma 7 app) with
// the maintenance drop-in installed as a user would (lib/maintenance.ts, proxy.ts with `probe`
// from app/probe.ts: the labels its generated client knows, build = APP_BUILD), built three times,
// as three commits of the same app would be (`APP_VERSION=vN npm run build`: scripts/generate.mjs
// writes the client of that version's enum Role, then `next build`):
//   CONTEXT/base/   `node` (this host's binary) and `app/`: the copy with its node_modules and
//                   sources, the part the three builds share (image bm-swarm-app-base)
//   CONTEXT/vN/     that build's `.next` (without its cache) and `generated/` (images bm-swarm-app:vN)
// examples/ itself is never written.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const VERSIONS = ['v1', 'v2', 'v3'] as const;
const repo = fileURLToPath(new URL('../..', import.meta.url));
const source = join(repo, 'examples/nextjs');
const context = process.argv[2];
if (!context || !existsSync(context)) throw new Error('usage: tsx e2e/swarm/build-app.ts CONTEXT_DIR');
const app = join(context, 'base/app');

// Offline, `prisma generate` needs a schema engine binary only to exist (it never runs it here).
const engineStub = join(context, 'schema-engine-stub');
writeFileSync(engineStub, '#!/bin/sh\necho "schema engine stub (build-app.ts): not available offline" >&2\nexit 1\n');
chmodSync(engineStub, 0o755);

function run(cmd: string, args: string[], env: Record<string, string> = {}): number {
  const t0 = Date.now();
  const r = spawnSync(cmd, args, {
    cwd: app,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    env: {
      ...process.env,
      NEXT_TELEMETRY_DISABLED: '1',
      CHECKPOINT_DISABLE: '1',
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      PRISMA_SCHEMA_ENGINE_BINARY: engineStub,
      ...env,
    },
    timeout: 900_000,
  });
  if (r.status !== 0) {
    process.stderr.write(`${r.stdout.slice(-3000)}${r.stderr.slice(-3000)}`);
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status})`);
  }
  return (Date.now() - t0) / 1000;
}

// Left behind by `make test-e2e` or a build in examples/nextjs: rewritten below, or rebuilt.
const generated = new Set([
  'node_modules',
  '.next',
  'lib',
  'proxy.ts',
  'middleware.ts',
  'next-env.d.ts',
  'generated',
  'prisma-version',
]);
cpSync(source, app, { recursive: true, filter: (src) => !generated.has(relative(source, src).split('/')[0]) });

// The drop-in as the README installs it, with the app's own probe (app/probe.ts) as its first option.
mkdirSync(join(app, 'lib'), { recursive: true });
copyFileSync(join(repo, 'nextjs/maintenance.ts'), join(app, 'lib/maintenance.ts'));
const proxy = readFileSync(join(repo, 'nextjs/proxy.ts'), 'utf8');
const withProbe = proxy.replace(
  /^const guard = maintenanceGuard\(\{$/m,
  "import { probe } from './app/probe';\n\nconst guard = maintenanceGuard({\n  probe,",
);
if (withProbe === proxy) throw new Error('nextjs/proxy.ts changed: the probe could not be added');
writeFileSync(join(app, 'proxy.ts'), withProbe);

if (existsSync(join(source, 'node_modules/next'))) {
  // verbatimSymlinks: node_modules/.bin links stay relative, into the copy (resolved, they pointed at
  // examples/ and next ran with a second React from there: useContext of null at prerender).
  cpSync(join(source, 'node_modules'), join(app, 'node_modules'), { recursive: true, verbatimSymlinks: true });
} else {
  console.log('swarm engine: npm ci in the copy (examples/nextjs has no node_modules)');
  run('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error']);
}

// `npm run build` for each version (its two commands, run directly: npm adds nothing but noise).
for (const version of VERSIONS) {
  const gen = run(process.execPath, ['scripts/generate.mjs'], { APP_VERSION: version });
  const built = run(join(app, 'node_modules/.bin/next'), ['build']);
  const labels = (JSON.parse(readFileSync(join(app, 'generated/version.json'), 'utf8')) as { labels: string[] }).labels;
  const out = join(context, version);
  mkdirSync(out);
  rmSync(join(app, '.next/cache'), { recursive: true, force: true });
  renameSync(join(app, '.next'), join(out, '.next'));
  renameSync(join(app, 'generated'), join(out, 'generated'));
  console.log(
    `swarm engine: built ${version} (Role: ${labels.join(', ')}): generate ${gen.toFixed(0)} s, ` +
      `next build ${built.toFixed(0)} s`,
  );
}
rmSync(join(app, 'prisma-version'), { recursive: true, force: true });
rmSync(join(app, 'next-env.d.ts'), { force: true });
copyFileSync(realpathSync(process.execPath), join(context, 'base/node'));
rmSync(engineStub);
console.log(`swarm engine: built ${relative(repo, source)} with the drop-in, three times, into ${context}`);

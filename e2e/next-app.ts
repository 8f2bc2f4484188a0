// The example Next.js + Prisma 7 app (examples/nextjs) as its users set it up, for the end-to-end
// tests: the drop-in installed as the README says, a version built with `APP_VERSION=… npm run
// build` (offline: a stand-in schema engine), served by `next start`; the toolkit's make verbs
// run beside it without blocking the test process (its pollers keep going).
import type { Test } from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../bin/lib/dev/sandbox.js';
import { spawnTracked, type Command } from './prisma/apps.js';

export const repo = fileURLToPath(new URL('..', import.meta.url));
export const APP = join(repo, 'examples/nextjs');

export interface Variant {
  next: string; // the Next.js version, as a test names it
  dir: string; // the example folder whose node_modules pin that version
  dropIn: 'proxy.ts' | 'middleware.ts';
}

export const variants: Variant[] = [
  { next: '16', dir: join(repo, 'examples/nextjs'), dropIn: 'proxy.ts' },
  { next: '15.5', dir: join(repo, 'examples/nextjs15'), dropIn: 'middleware.ts' },
];

/** The app's own files (examples/nextjs/README.md): what a copy needs besides its package.json and node_modules. */
export const APP_FILES = ['app', 'public', 'prisma', 'scripts', 'next.config.mjs', 'prisma.config.ts', 'tsconfig.json'];

/**
 * What a user does (README, "The maintenance guard"): nextjs/maintenance.ts to lib/, the drop-in
 * beside app/, given the app's probe (app/probe.ts: the database's flag and the labels report).
 */
export function installDropIn(dir: string, dropIn: Variant['dropIn']): void {
  mkdirSync(join(dir, 'lib'), { recursive: true });
  cpSync(join(repo, 'nextjs/maintenance.ts'), join(dir, 'lib/maintenance.ts'));
  const original = readFileSync(join(repo, 'nextjs', dropIn), 'utf8');
  const anchor = "import { maintenanceGuard } from './lib/maintenance';";
  const call = 'const guard = maintenanceGuard({';
  if (!original.includes(anchor) || !original.includes(call)) throw new Error(`nextjs/${dropIn} changed its shape`);
  const source = original
    .replace(anchor, `${anchor}\nimport { probe } from './app/probe';`)
    .replace(
      call,
      `${call}\n  probe,\n  // the maintenance page's "is it back?" check, every second here (15 s by default)\n` +
        '  pollSeconds: Number(process.env.MAINTENANCE_POLL_SECONDS) || undefined,',
    );
  writeFileSync(join(dir, dropIn), source);
}

/** The app's files copied into `to` (examples/nextjs15 or a scratch folder); node_modules apart. */
export function copyAppFiles(to: string): void {
  for (const f of APP_FILES) cpSync(join(APP, f), join(to, f), { recursive: true });
}

/**
 * A scratch copy of the app with `variant`'s node_modules hard-linked (same file system: instant,
 * and real files, which Turbopack needs: it refuses symlinks that leave the project's root).
 */
export function scratchApp(t: Test, variant: Variant, name: string): string {
  const dir = join(mkdtempSync(join(tmpdir(), `bm-next-${name}-`)), 'app');
  mkdirSync(dir);
  copyAppFiles(dir);
  cpSync(join(variant.dir, 'package.json'), join(dir, 'package.json')); // the variant's Next.js
  const cp = spawnSync('cp', ['-al', join(variant.dir, 'node_modules'), join(dir, 'node_modules')], {
    encoding: 'utf8',
  });
  if (cp.status !== 0) throw new Error(`cp -al node_modules: ${cp.stderr}`);
  installDropIn(dir, variant.dropIn);
  t.teardown(() => spawnSync('rm', ['-rf', join(dir, '..')]));
  return dir;
}

let stub: string | undefined;
/** Prisma's schema engine is needed by `migrate`, not by `generate`: a stand-in, offline. */
export function schemaEngineStub(): string {
  if (stub) return stub;
  const file = join(mkdtempSync(join(tmpdir(), 'bm-schema-engine-')), 'schema-engine');
  writeFileSync(file, '#!/bin/sh\necho "schema engine stand-in: not available offline" >&2\nexit 1\n');
  chmodSync(file, 0o755);
  stub = file;
  return file;
}

/** `APP_VERSION=<version> npm run build` in `dir`: the version's client, then `next build`. */
export function buildApp(dir: string, version: 'v1' | 'v2' | 'v3'): { ok: boolean; output: string; seconds: number } {
  const t0 = performance.now();
  const r = spawnSync('npm', ['run', '--silent', 'build'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 600_000,
    env: {
      ...process.env,
      APP_VERSION: version,
      PRISMA_SCHEMA_ENGINE_BINARY: schemaEngineStub(),
      NEXT_TELEMETRY_DISABLED: '1',
    },
  });
  const output = `${r.stdout}\n${r.stderr}`.slice(-4000);
  return { ok: r.status === 0, output, seconds: (performance.now() - t0) / 1000 };
}

export async function waitFor(url: string, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${ms / 1000} s`);
}

/** `next start` of the build in `dir` on a free loopback port; stopped (its process group) at teardown. */
export async function startNext(t: Test, dir: string, env: Record<string, string>): Promise<string> {
  const port = await freePort();
  const server: ChildProcess = spawn(
    join(dir, 'node_modules/.bin/next'),
    ['start', '-p', String(port), '-H', '127.0.0.1'],
    {
      cwd: dir,
      stdio: 'ignore',
      detached: true,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env },
    },
  );
  t.teardown(() => {
    try {
      process.kill(-server.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/api/health`);
  return base;
}

/** `make -s <verb> …` from the repository, asynchronously: the app keeps serving meanwhile. */
export function make(t: Test, verb: string, env: Record<string, string>, args: string[] = []): Command {
  return spawnTracked(t, 'make', ['-s', verb, ...args], env);
}

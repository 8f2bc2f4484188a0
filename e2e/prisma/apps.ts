// The test's side of the scratch Prisma app: start a process of it (e2e/prisma/app.ts, its own pid
// and so its own instance row), read what it says, stop it; run the toolkit's commands without
// blocking the test process.
import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { urlOf } from '../../test/helpers/database.js';
import type { Target } from '../../bin/lib/connection/target.js';
import type { PrismaApp, Version } from './prepare.js';

export const repo = fileURLToPath(new URL('../..', import.meta.url));
const APP_SCRIPT = fileURLToPath(new URL('./app.ts', import.meta.url));

export interface AppEvent {
  at: number;
  ev: 'ready' | 'log' | 'probe' | 'read' | 'write';
  ok?: boolean;
  on?: boolean | null;
  kind?: string;
  message?: string;
  line?: string;
  email?: string;
  roles?: Record<string, number>;
  instance?: string;
  pid?: number;
  labels?: string[];
}

export interface AppProcess {
  version: Version;
  instance: string; // host:pid, as databaseProbe names it
  events: AppEvent[];
  of: (ev: AppEvent['ev']) => AppEvent[];
  alive: () => boolean;
  stderr: () => string;
  stop: () => Promise<void>;
}

/** Starts one process of the app with client `version`; resolves once it says it is ready. */
export async function startApp(
  t: Test,
  prisma: PrismaApp,
  db: Target,
  version: Version,
  opts: { pollMs?: number; reportMs?: number } = {},
): Promise<AppProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', APP_SCRIPT], {
    cwd: repo, // where `--import tsx` is resolved
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      APP_DIR: prisma.dir,
      CLIENT: prisma.client(version),
      DATABASE_URL: urlOf(db),
      APP_BUILD: version,
      REPORT_MS: String(opts.reportMs ?? 1000),
      POLL_MS: String(opts.pollMs ?? 0),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const events: AppEvent[] = [];
  let err = '';
  let rest = '';
  child.stderr?.on('data', (d) => (err += d));
  child.stdout?.on('data', (d) => {
    const lines = (rest + d).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines.filter(Boolean)) {
      try {
        events.push(JSON.parse(line) as AppEvent);
      } catch {
        err += `(not JSON) ${line}\n`;
      }
    }
  });
  const t0 = Date.now();
  while (!events.some((e) => e.ev === 'ready')) {
    if (child.exitCode !== null || Date.now() - t0 > 60_000)
      throw new Error(`the ${version} app did not start (exit ${child.exitCode}):\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const ready = events.find((e) => e.ev === 'ready')!;
  t.comment(`${version} app up: ${ready.instance}, its client knows ${ready.labels?.join(', ')}`);
  return {
    version,
    instance: ready.instance!,
    events,
    of: (ev) => events.filter((e) => e.ev === ev),
    alive: () => child.exitCode === null && child.signalCode === null,
    stderr: () => err,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

export interface Command {
  stdout: () => string;
  done: Promise<{ code: number | null; stdout: string; stderr: string; at: number }>;
}

/** A program in its own process from the repository, asynchronously (killed at teardown if still running). */
export function spawnTracked(t: Test, cmd: string, args: string[], env: Record<string, string>): Command {
  const child = spawn(cmd, args, {
    cwd: repo,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return {
    stdout: () => stdout,
    done: new Promise((res) => child.once('close', (code) => res({ code, stdout, stderr, at: Date.now() }))),
  };
}

/** `tsx bin/<script> …` in its own process, asynchronously: the apps keep running meanwhile. */
export function command(t: Test, script: string, args: string[], env: Record<string, string>): Command {
  return spawnTracked(t, `${repo}/node_modules/.bin/tsx`, [`${repo}/bin/${script}`, ...args], env);
}

/** Failures by kind ("P2039/25006": 3). */
export function kinds(events: AppEvent[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events.filter((e) => e.ok === false)) out[e.kind ?? '?'] = (out[e.kind ?? '?'] ?? 0) + 1;
  return out;
}

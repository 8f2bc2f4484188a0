// The thin adapter every command shares: --help, one-line refusals with the next step,
// exit codes, and step timing. Commands export plain functions; this file owns the process.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { loadDotEnv, repoPath } from '../connection/config.js';
import { describeLost, installLostServerGuard, isLostConnection, isUnreachable } from '../connection/lost-server.js';

import { Refusal } from '../connection/refusal.js';

export { Refusal };

export interface Command {
  name: string;
  usage: string; // first line of --help: `usage: breaking-migrations VERB …   (make VERB …)` (see usageLine)
  help: string; // the rest of --help
  run(argv: string[]): Promise<number | undefined> | Promise<void>; // an exit code, or none for 0
}

/** Turn a driver or tool error into one line a person can act on. */
export function explain(err: unknown): { message: string; next?: string; exitCode: number } {
  if (err instanceof Refusal) return { message: err.message, next: err.next, exitCode: err.exitCode };
  const e = err as { code?: string; message?: string; hint?: string; detail?: string; address?: string; port?: number };
  if (isUnreachable(err)) {
    return {
      message: `cannot reach the PostgreSQL server (${e.code}${e.address ? ` at ${e.address}:${e.port}` : ''}).`,
      next: 'Check DATABASE_URL (host, port) and that the server is running.',
      exitCode: 3,
    };
  }
  if (isLostConnection(err)) {
    return {
      message: `${describeLost(err)}.`,
      next: 'Check the server (its log, its disk), then run the same command again.',
      exitCode: 3,
    };
  }
  if (e?.code === '3D000')
    return {
      message: e.message ?? 'database does not exist',
      next: 'Check the database name in DATABASE_URL.',
      exitCode: 3,
    };
  if (e?.code === '28P01' || e?.code === '28000')
    return {
      message: e.message ?? 'authentication failed',
      next: 'Check the user and password in DATABASE_URL.',
      exitCode: 3,
    };
  const message = (e?.message ?? String(err)).split('\n')[0];
  if (e?.code === '42501' && !e.hint && /^permission denied for /.test(message))
    return {
      message,
      next:
        'The role in DATABASE_URL lacks that right: have the owner (or a superuser) GRANT it, or ALTER … ' +
        'OWNER TO that role, or run as the owner; then run it again.',
      exitCode: 1,
    };
  const next = e?.hint ?? undefined;
  return { message, next, exitCode: 1 };
}

/** A checkout of the breaking-migrations repository (its Makefile is there), not the installed npm package. */
export function inCheckout(): boolean {
  return existsSync(repoPath('Makefile'));
}

/**
 * A command's usage as it works where it runs. Written `usage: breaking-migrations VERB ARGS   (make VERB VARS)`:
 * in the installed package `usage: npx breaking-migrations VERB ARGS   (make VERB VARS)`, in this checkout (where
 * no breaking-migrations command is installed) `usage: make VERB VARS`. Any other form is printed as written.
 */
export function usageLine(usage: string, checkout = inCheckout()): string {
  const m = /^usage: breaking-migrations (.+?) {3}\((make .+)\)$/.exec(usage);
  if (!m) return usage;
  return checkout ? `usage: ${m[2]}` : `usage: npx breaking-migrations ${m[1]}   (${m[2]})`;
}

/** Run a command as a process: parse --help, map errors to exit codes, never print a stack. */
export async function main(cmd: Command, argv: string[] = process.argv.slice(2)): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usageLine(cmd.usage)}\n\n${cmd.help.trim()}\n`);
    return;
  }
  installLostServerGuard(cmd.name);
  let finished = false;
  // A command whose work is still pending when the event loop drains did not finish: never exit 0.
  process.once('beforeExit', () => {
    if (finished) return;
    process.stderr.write(
      `${cmd.name}: stopped before it finished (a database connection was lost mid-query); ` +
        'where it stands is unknown.\n  next: check the server, then run the same command again ' +
        '(`make history` shows what the journal holds).\n',
    );
    process.exitCode = 1;
  });
  try {
    loadDotEnv();
    const code = await cmd.run(argv);
    finished = true;
    process.exitCode = code ?? 0;
  } catch (err) {
    finished = true;
    const { message, next, exitCode } = explain(err);
    const prefixed = message.startsWith(cmd.name) ? message : `${cmd.name}: ${message}`;
    process.stderr.write(`${prefixed}${next ? `\n  next: ${next}` : ''}\n`);
    if (process.env.BM_DEBUG) console.error(err);
    process.exitCode = exitCode;
  }
}

/** Print a step's start and end with its duration; returns the step's value. */
export async function step<T>(
  label: string,
  fn: () => Promise<T>,
  log: (line: string) => void = console.log,
): Promise<T> {
  const t0 = performance.now();
  log(`→ ${label}…`);
  // Anything slower than a few seconds says it is still alive.
  const ticker = setInterval(() => log(`  … ${label}: ${seconds(t0)}`), 5000);
  try {
    const value = await fn();
    log(`✓ ${label} (${seconds(t0)})`);
    return value;
  } finally {
    clearInterval(ticker);
  }
}

export function seconds(t0: number): string {
  return `${((performance.now() - t0) / 1000).toFixed(2)} s`;
}

// pg_dump / pg_restore / psql on this host or inside the database's container: PG_CONTAINER by
// name, or PG_SERVICE's running task on this node, found afresh by each command.
// Connection settings travel as libpq environment variables (never argv): on the host they are
// the process's environment; into a container they are forwarded by name (`docker exec -e NAME`).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Refusal } from './refusal.js';
import { libpqEnv, type Target } from './target.js';
import { checkRunning, execPrefix, runningTasks } from './docker.js';
import type { Settings } from './config.js';

export type PgTool = 'pg_dump' | 'pg_restore' | 'psql';

/** Debian's layout: /usr/lib/postgresql/N/bin, newest version first. */
export function debianBinDirs(root = '/usr/lib/postgresql'): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
    .map((v) => join(root, v, 'bin'));
}

/** This host's binary: in $PG_BINDIR when set (and only there), else the newest
 *  /usr/lib/postgresql/N/bin, else whatever PATH finds. */
export function hostTool(tool: PgTool): string {
  if (process.env.PG_BINDIR) return join(process.env.PG_BINDIR, tool);
  return (
    debianBinDirs()
      .map((d) => join(d, tool))
      .find((p) => existsSync(p)) ?? tool
  );
}

/** Where the PostgreSQL programs run for one command. */
export interface PgPlace {
  container?: string; // undefined: on this host
  where: string; // for messages: "on this host", "in container X", "in task X of service Y"
  setting?: 'PG_CONTAINER' | 'PG_SERVICE';
}

/**
 * Resolved at the start of every command that runs a PostgreSQL program, never kept: after a
 * restart the service's task is another container. A refusal (exit 2) when nothing runs there.
 */
export async function pgPlace(s: Settings): Promise<PgPlace> {
  if (s.pgService) {
    const tasks = await runningTasks(s.pgService, 'PG_SERVICE');
    if (tasks.length > 1) {
      throw new Refusal(
        `PG_SERVICE: service ${s.pgService} has ${tasks.length} running tasks on this node; ` +
          'the toolkit needs the one PostgreSQL server.',
        'Set PG_CONTAINER to the task that serves DATABASE_URL.',
      );
    }
    return { container: tasks[0], where: `in task ${tasks[0]} of service ${s.pgService}`, setting: 'PG_SERVICE' };
  }
  if (s.pgContainer) {
    await checkRunning(s.pgContainer, 'PG_CONTAINER');
    return { container: s.pgContainer, where: `in container ${s.pgContainer}`, setting: 'PG_CONTAINER' };
  }
  return { where: 'on this host' };
}

export interface ToolCommand {
  argv: string[];
  env: NodeJS.ProcessEnv;
}

/**
 * The full command line and environment for a tool. Inside a container the tool connects over
 * the container's own socket (as the runbook's `docker exec … pg_dump -U postgres` does), so
 * host and port are not forwarded; user, password, database and options are.
 */
export function toolCommand(
  tool: PgTool,
  target: Target,
  args: string[],
  opts: { container?: string; stdin?: boolean; tty?: boolean; writable?: boolean; appName?: string } = {},
): ToolCommand {
  const pgEnv = libpqEnv(target, { writable: opts.writable, appName: opts.appName });
  if (opts.container) {
    delete pgEnv.PGHOST;
    delete pgEnv.PGPORT;
    const names = Object.keys(pgEnv);
    return {
      argv: [...execPrefix(opts.container, { stdin: opts.stdin, tty: opts.tty, env: names }), tool, ...args],
      env: { ...process.env, ...pgEnv },
    };
  }
  return { argv: [hostTool(tool), ...args], env: { ...process.env, ...pgEnv } };
}

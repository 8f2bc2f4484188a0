// pg_dump / pg_restore on this host or, with PG_CONTAINER, inside the database container.
// Connection settings travel as libpq environment variables (never argv): on the host they are
// the process's environment; into a container they are forwarded by name (`docker exec -e NAME`).
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { libpqEnv, type Target } from './target.js';
import { execPrefix } from './docker.js';

export type PgTool = 'pg_dump' | 'pg_restore' | 'psql';

/** Debian's layout: /usr/lib/postgresql/N/bin, newest version first. */
export function debianBinDirs(root = '/usr/lib/postgresql'): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)).map((v) => join(root, v, 'bin'));
}

/** This host's binary: in $PG_BINDIR when set (and only there), else the newest
 *  /usr/lib/postgresql/N/bin, else whatever PATH finds. */
export function hostTool(tool: PgTool): string {
  if (process.env.PG_BINDIR) return join(process.env.PG_BINDIR, tool);
  return debianBinDirs().map((d) => join(d, tool)).find((p) => existsSync(p)) ?? tool;
}

export interface ToolCommand { argv: string[]; env: NodeJS.ProcessEnv }

/**
 * The full command line and environment for a tool. Inside a container the tool connects over
 * the container's own socket (as the runbook's `docker exec … pg_dump -U postgres` does), so
 * host and port are not forwarded; user, password, database and options are.
 */
export function toolCommand(tool: PgTool, target: Target, args: string[],
  opts: { container?: string; stdin?: boolean; writable?: boolean; appName?: string } = {}): ToolCommand {
  const pgEnv = libpqEnv(target, { writable: opts.writable, appName: opts.appName });
  if (opts.container) {
    delete pgEnv.PGHOST;
    delete pgEnv.PGPORT;
    const names = Object.keys(pgEnv);
    return { argv: [...execPrefix(opts.container, { stdin: opts.stdin, env: names }), tool, ...args], env: { ...process.env, ...pgEnv } };
  }
  return { argv: [hostTool(tool), ...args], env: { ...process.env, ...pgEnv } };
}

#!/usr/bin/env tsx
// make psql: a psql session on DATABASE_URL that may write while the maintenance guard holds the
// database read-only (default_transaction_read_only=off), and that the guard spares when it ends
// other sessions (its application_name starts with breaking-migrations). For fixing what a failed
// run names (a trigger, a view, a row) during maintenance.
import { spawnSync } from 'node:child_process';
import { main, type Command } from './lib/cli/cli.js';
import { connectionTarget, settings } from './lib/connection/config.js';
import { pgPlace, toolCommand } from './lib/connection/pgtools.js';
import { describeTarget } from './lib/connection/target.js';
import { isMain } from './lib/cli/entry.js';

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(_args: string[]): Command {
  return {
    name: 'psql',
    usage: 'usage: breaking-migrations psql [psql arguments]   (make psql)',
    help: `
Opens psql on DATABASE_URL (credentials through the environment, never the command line), in a
session that may write while the maintenance guard holds the database read-only, and that the
guard spares. Arguments are passed to psql (e.g. -c "DROP VIEW …"). Reads standard input when it
is not a terminal. With PG_SERVICE or PG_CONTAINER, psql runs in the database's container.
Exit code: psql's.`,
    async run(argv) {
      const target = await connectionTarget('psql');
      const place = await pgPlace(settings());
      const cmd = toolCommand('psql', target, ['--no-psqlrc', ...argv], {
        writable: true,
        appName: 'breaking-migrations-psql',
        container: place.container,
        stdin: true,
        tty: process.stdin.isTTY,
      });
      console.error(
        `psql: ${describeTarget(target)} (psql ${place.where}), a session that may write during maintenance`,
      );
      const r = spawnSync(cmd.argv[0], cmd.argv.slice(1), { env: cmd.env, stdio: 'inherit' });
      return r.status ?? 1;
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

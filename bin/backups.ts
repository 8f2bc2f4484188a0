#!/usr/bin/env tsx
// List the dumps in BACKUP_DIR (newest first); KEEP=n deletes all but the newest n.
import { resolve } from 'node:path';
import { main, Refusal, type Command } from './lib/cli/cli.js';
import { settings } from './lib/connection/config.js';
import { mb } from './lib/connection/stream.js';
import { listBackups, pruneBackups } from './lib/backup/backups.js';
import { isMain } from './lib/cli/entry.js';

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(_args: string[]): Command {
  return {
    name: 'backups',
    usage: 'usage: breaking-migrations backups [--keep N]   (make backups [KEEP=n])',
    help: `
Lists the dumps in BACKUP_DIR (default ./backups), newest first: time, size, database, and
whether its checksum file is there. With KEEP=n (or --keep n), deletes all but the newest n,
each with its .sha256 and .manifest.json. Exit codes: 0 ok, 2 bad input.`,
    async run(argv) {
      const dir = resolve(settings().backupDir);
      const ki = argv.indexOf('--keep');
      const keepArg = ki >= 0 ? argv[ki + 1] : process.env.KEEP;
      if (keepArg !== undefined && keepArg !== '') {
        const keep = Number(keepArg);
        if (!Number.isInteger(keep) || keep < 1)
          throw new Refusal(
            `backups: KEEP must be a whole number of at least 1, got "${keepArg}".`,
            'Example: make backups KEEP=5.',
          );
        for (const b of pruneBackups(dir, keep)) console.log(`  deleted ${b.path}`);
      }
      const list = listBackups(dir);
      for (const b of list)
        console.log(
          `  ${b.createdAt}  ${mb(b.bytes).padStart(10)}  ${b.database.padEnd(16)} ` +
            `${b.checksum ? '' : '(no checksum) '}${b.path}`,
        );
      console.log(`backups: ${list.length} dump(s) in ${dir}, ${mb(list.reduce((a, b) => a + b.bytes, 0))}`);
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

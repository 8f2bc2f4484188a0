#!/usr/bin/env tsx
// make dump: a backup you can trust (the work: bin/lib/backup/dump.ts).
import { main, type Command } from './lib/cli/cli.js';
import { connectionTarget, settings } from './lib/connection/config.js';
import { dump } from './lib/backup/dump.js';
import { mb } from './lib/connection/stream.js';
import { isMain } from './lib/cli/entry.js';

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(_args: string[]): Command {
  return {
    name: 'dump',
    usage: 'usage: breaking-migrations dump   (make dump [BACKUP_DIR=backups])',
    help: `
pg_dump --format=custom of DATABASE_URL into BACKUP_DIR (default ./backups, made 0700) as
backup_<db>_YYYYmmdd_HHMMSS.dump (0600), plus <dump>.sha256 and <dump>.manifest.json (database,
server version, time, rows per table counted in pg_dump's own snapshot). Written under a
temporary name, renamed once complete and readable (pg_restore --list). The last line printed
is the dump's path. With PG_CONTAINER, pg_dump runs inside that container, with PG_SERVICE
inside that Swarm service's running task on this node (found afresh each time); the stream lands
on this host. Refuses: server unreachable, pg_dump missing or older than the server, less free
disk than the database's size.
Exit codes: 0 written, 1 failed (no file left), 2 refused, 3 unreachable.`,
    async run() {
      const r = await dump(await connectionTarget('dump'), settings());
      const total = Object.values(r.manifest.tables).reduce((a, b) => a + b, 0);
      console.log(
        `dump: ${mb(r.bytes)}, ${Object.keys(r.manifest.tables).length} tables, ${total} rows, ` +
          `sha256 ${r.sha256.slice(0, 12)}… (${r.seconds.toFixed(2)} s)`,
      );
      console.log(r.path);
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

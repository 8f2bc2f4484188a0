#!/usr/bin/env tsx
// make restore: put a dump back (the work: bin/lib/backup/restore.ts). Refuses anything it
// cannot trust (no file, a checksum that does not match, an archive pg_restore cannot read)
// before touching the database, asks first, and restores in ONE transaction: a restore that
// fails half way leaves the database exactly as it was.
import { createInterface } from 'node:readline/promises';
import { main, Refusal, type Command } from './lib/cli/cli.js';
import { connectionTarget, settings } from './lib/connection/config.js';
import { checkDump, discarded, NOT_COMPARED, restore } from './lib/backup/restore.js';
import { maintenanceStatus } from './lib/maintenance/mode.js';
import { describeTarget } from './lib/connection/target.js';
import { mb } from './lib/connection/stream.js';
import { isMain } from './lib/cli/entry.js';

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim().toLowerCase() === 'yes';
  } finally {
    rl.close();
  }
}

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(_args: string[]): Command {
  return {
    name: 'restore',
    usage: 'usage: breaking-migrations restore DUMP   (make restore DUMP=backups/….dump [YES=1] [LIVE=1])',
    help: `
Restores DUMP into DATABASE_URL in ONE transaction: pg_restore --clean --if-exists produces the
SQL, psql runs it between BEGIN and a COMMIT sent only when everything succeeded and every table
holds the rows the dump's manifest counted (checked in that transaction, sql/restore_check.sql).
Before touching the database it refuses: no DUMP, a missing file, a missing or wrong checksum
(<dump>.sha256), an archive pg_restore cannot read. It shows the target and the dump's manifest
and what the restore discards (the dump's age; per table, rows now against the dump and the writes
made since, from the statistics counters the manifest kept). It refuses while maintenance is OFF
(the site is live) unless LIVE=1. It asks to type "yes" on a terminal; YES=1 skips the question;
with no terminal and no YES=1 it refuses. The check leaves out breaking_migrations.app_instances:
the toolkit's live bookkeeping, into which the app's instances go on reporting (also during
maintenance and during the restore), not user data.
With PG_CONTAINER (or PG_SERVICE: its running task, found afresh), pg_restore and psql run inside
that container, fed from this host.
Exit codes: 0 restored and checked, 1 restore failed or its check did (rolled back: database
unchanged), 2 refused (nothing done), 3 unreachable.`,
    async run(argv) {
      const dumpPath = argv[0] || process.env.DUMP || undefined;
      const target = await connectionTarget('restore');
      const s = settings();
      const manifest = await checkDump(target, s, dumpPath);
      console.log(`target:  database ${target.database} on ${describeTarget(target)}`);
      if (manifest) {
        console.log(
          `dump:    ${dumpPath} — database ${manifest.database}, ${manifest.createdAt}, ` +
            `PostgreSQL ${manifest.serverVersion}, ${mb(manifest.bytes)}`,
        );
        for (const [t, n] of Object.entries(manifest.tables)) console.log(`         ${t}: ${n} rows`);
      } else console.log(`dump:    ${dumpPath} (no manifest: row counts cannot be checked afterwards)`);
      if (manifest) for (const line of await discarded(target, manifest)) console.log(line);
      // With the site live, the app's queries queue behind the restore's locks and every write
      // made since the dump is gone afterwards: only on purpose.
      if (process.env.LIVE !== '1' && !(await maintenanceStatus(s, target)).on) {
        throw new Refusal(
          'restore: maintenance is OFF: the site is live, and every write made since the dump ' +
            'would be lost; nothing done.',
          'Run `make maintenance-on` first, then the restore; or add LIVE=1 to restore with the site live.',
          2,
        );
      }
      if (process.env.YES !== '1') {
        if (!process.stdin.isTTY)
          throw new Refusal(
            'restore: not confirmed: no terminal to ask on.',
            'Run it on a terminal, or add YES=1 to confirm.',
          );
        if (!(await confirm(`Replace the data of database ${target.database} with this dump? Type yes: `)))
          throw new Refusal('restore: not confirmed; nothing done.', undefined, 2);
      }
      const r = await restore(target, s, dumpPath!, { checked: manifest });
      for (const t of r.tables) {
        const mark = t.compared ? 'ok  ' : 'skip'; // compared: checked before the COMMIT, or rolled back
        const why = t.compared ? '' : `; not compared: ${NOT_COMPARED[t.name]}`;
        console.log(`  ${mark} ${t.name}: ${t.actual ?? 'missing'} rows (dump: ${t.expected}${why})`);
      }
      const compared = r.tables.filter((t) => t.compared);
      const skipped = r.tables.filter((t) => !t.compared).map((t) => `; ${t.name} not compared (live bookkeeping)`);
      console.log(
        `restore: restored ${dumpPath} into ${r.database}` +
          `${r.countsMatch ? `; ${compared.length} tables match the manifest${skipped.join('')}` : ''} ` +
          `(${r.seconds.toFixed(2)} s)`,
      );
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

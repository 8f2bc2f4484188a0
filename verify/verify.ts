#!/usr/bin/env tsx
// make verify-NNNN: a migration's mutation and its invariants, alone, in one transaction
// (lock.sql → counts.sql → mutation.sql → counts.sql → invariants.sql → COMMIT or ROLLBACK).
// `make migrate-NNNN` runs the same as its mutate step; this runs it by hand, or as a dry run.
import { writeFileSync } from 'node:fs';
import { main, Refusal, type Command } from '../bin/lib/cli/cli.js';
import { connectionTarget } from '../bin/lib/connection/config.js';
import { withSql } from '../bin/lib/connection/db.js';
import { loadMigration } from '../bin/lib/runbook/migration.js';
import { totalUpdated, verify } from './verifier.js';
import { ensureToolkitSaying, toolkitHere } from '../bin/lib/runbook/toolkit.js';
import { isMain } from '../bin/lib/cli/entry.js';

export async function runVerifyCli(id: string, argv: string[]): Promise<void> {
  if (!/^\d{4}$/.test(id)) {
    throw new Refusal(`verify: a migration is four digits, got "${id}".`, 'Example: make verify-0001 DRY_RUN=1.');
  }
  const dryRun = argv.includes('--dry-run') || process.env.DRY_RUN === '1';
  const ri = argv.indexOf('--report');
  if (ri >= 0 && !argv[ri + 1]) {
    throw new Refusal(`verify ${id}: --report needs a file name.`, `Example: --report verify-${id}.json.`);
  }
  const m = loadMigration(id);
  const target = await connectionTarget(`verify ${id}`);
  const opts = { dryRun, lockTimeout: process.env.LOCK_TIMEOUT, log: (l: string) => console.log(l) };
  // Another release's toolkit functions, left by an upgrade, are replaced by this release's first;
  // a dry run, which changes nothing, loads this release's in its own transaction instead.
  const report = await withSql(target, async (sql) => {
    if (dryRun && (await toolkitHere(sql)) === 'other') {
      console.log("  the database holds another release's toolkit functions: the dry run uses this release's");
      return verify(sql, m, { ...opts, loadToolkit: true });
    }
    await ensureToolkitSaying(sql, console.log);
    return verify(sql, m, opts);
  }).catch((err: { code?: string; message?: string }) => {
    // The toolkit's functions come with the expand step (db/toolkit is applied with it).
    if (err.code === '42883' && err.message?.includes('breaking_migrations.')) {
      throw new Refusal(
        `verify ${id}: the toolkit's functions are not installed on this database ` +
          `(${err.message}); nothing changed.`,
        `Apply the expand step first: \`make expand MIGRATION=${id}\` (it installs them).`,
      );
    }
    throw err;
  });
  for (const c of report.checks) console.log(`  ok  ${c.check}: ${c.actual}`);
  if (ri >= 0) writeFileSync(argv[ri + 1], `${JSON.stringify(report, null, 2)}\n`, { mode: 0o600 });
  const updated = totalUpdated(report.updated);
  const ending = dryRun ? 'rolled back (dry run)' : 'committed';
  const rows = updated === null ? 'no row' : updated;
  console.log(`verify ${id}: ${rows} row(s) updated, ${report.checks.length} checks passed, ${ending}`);
}

export const VERIFY_HELP = `
In one transaction on DATABASE_URL, runs migration NNNN's files (MIGRATIONS_DIR/NNNN/): lock.sql (writers
wait; lock_timeout LOCK_TIMEOUT, default 10s), counts.sql, mutation.sql, counts.sql again, and
invariants.sql, whose every row is a check (expected = actual). A failed check rolls everything
back and exits 1 with the numbers. --dry-run (DRY_RUN=1) does everything, then rolls back.
--report FILE writes the JSON report (0600). The expand step must be applied first (make expand
MIGRATION=NNNN): it installs the toolkit's functions the SQL may call, and the labels or columns
the mutation writes. Toolkit functions another release left are replaced by this one's first
(a dry run uses this release's inside its transaction and replaces nothing).
Exit codes: 0 committed (or dry run passed), 1 check failed or error (rolled back), 2 bad input,
3 unreachable.`;

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(args: string[]): Command {
  const id = args[0] ?? '';
  return {
    name: `verify-${id}`,
    usage: 'usage: breaking-migrations verify-NNNN [--dry-run] [--report FILE]   (make verify-NNNN [DRY_RUN=1])',
    help: VERIFY_HELP,
    run: (argv) => runVerifyCli(id, argv.slice(1)),
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

#!/usr/bin/env tsx
// Where a database stands: dbmate's applied/pending list, the enum's labels, and rows per label
// in every column of the enum (any table, any schema; arrays per element).
import { main, Refusal, seconds, type Command } from './lib/cli/cli.js';
import { existsSync, readFileSync } from 'node:fs';
import { chosenMigration, connectionTarget, migrationPath } from './lib/connection/config.js';
import { describeTarget, type Target } from './lib/connection/target.js';
import { withSql } from './lib/connection/db.js';
import { dbmateStatus, dirs } from './lib/runbook/dbmate.js';
import { withToolkitRolledBack } from './lib/runbook/toolkit.js';
import { isMain } from './lib/cli/entry.js';

export interface StatusItem {
  item: string;
  detail: string;
}
export interface Status {
  migration: string;
  migrations: { version: string; applied: boolean }[];
  items: StatusItem[];
}

/** dbmate's list for the migration's files, and what its optional NNNN/status.sql reports. */
export async function status(target: Target, migration = '0001'): Promise<Status> {
  if (!/^\d{4}$/.test(migration))
    throw new Refusal(
      `status: MIGRATION must be four digits, got "${migration}".`,
      'Example: make status MIGRATION=0001.',
    );
  const migrations = (await dbmateStatus(target, dirs.all(migration))).map((f) => ({
    version: f.file,
    applied: f.applied,
  }));
  const file = migrationPath(migration, 'status.sql');
  const items = !existsSync(file)
    ? []
    : await withSql(target, (sql) =>
        withToolkitRolledBack(sql, async (tx) =>
          (await tx.unsafe(readFileSync(file, 'utf8'))).map((r) => ({
            item: String(r.item),
            detail: String(r.detail),
          })),
        ),
      );
  return { migration, migrations, items };
}

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(_args: string[]): Command {
  return {
    name: 'status',
    usage: 'usage: breaking-migrations status [--json]   (make status [MIGRATION=NNNN])',
    help: `
Shows, for DATABASE_URL and migration MIGRATION (default: the newest in MIGRATIONS_DIR): the
dbmate files (the toolkit's, then MIGRATIONS_DIR/NNNN/expand and NNNN/contract) as applied or
pending, then what the migration's optional NNNN/status.sql reports, one line per row (for 0001: the labels of "Role"
in order, and every column of "Role" or "Role"[] with its rows per label). Changes nothing.
--json prints the same as one JSON object. Exit codes: 0 ok, 2 bad input, 3 unreachable.`,
    async run(argv) {
      const target = await connectionTarget('status');
      const t0 = performance.now();
      const s = await status(target, chosenMigration('status'));
      if (argv.includes('--json')) {
        console.log(JSON.stringify(s));
        return;
      }
      console.log(`database ${describeTarget(target)}, migration ${s.migration}`);
      for (const m of s.migrations) console.log(`  [${m.applied ? 'X' : ' '}] ${m.version}`);
      const width = Math.max(0, ...s.items.map((i) => i.item.length));
      for (const i of s.items) console.log(`  ${i.item.padEnd(width)}  ${i.detail}`);
      const applied = s.migrations.filter((m) => m.applied).length;
      const first = s.items.length ? `; ${s.items[0].item}: ${s.items[0].detail}` : '';
      console.log(`status: ${applied}/${s.migrations.length} migration files applied${first} (${seconds(t0)})`);
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

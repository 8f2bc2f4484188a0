#!/usr/bin/env tsx
// Where a database stands: dbmate's applied/pending list, the enum's labels, and rows per label
// in every column of the enum (any table, any schema; arrays per element).
import { main, seconds } from './lib/cli.js';
import { readSql, connectionTarget } from './lib/config.js';
import { describeTarget, type Target } from './lib/target.js';
import { withSql } from './lib/db.js';
import { dbmateStatus, dirs } from './lib/dbmate.js';
import { withToolkitRolledBack } from './lib/runbook.js';

export interface LabelCount { position: number; label: string; rows: number } // rows: in all its columns
export interface ColumnCount { column: string; array: boolean; rows: Record<string, number> } // every label, in order
export interface Status { migrations: { version: string; applied: boolean }[]; labels: LabelCount[]; columns: ColumnCount[] }

type TableCounts = Record<string, { columns: Record<string, Record<string, number>>; holding: Record<string, unknown> }>;

export async function status(target: Target, migration = '0001'): Promise<Status> {
  const migrations = (await dbmateStatus(target, dirs.all(migration))).map((f) => ({ version: f.file, applied: f.applied }));
  const [row] = await withSql(target, (sql) => withToolkitRolledBack(sql, (tx) => tx.unsafe(readSql('status.sql'))));
  const names = (row.labels ?? []) as string[];
  const columns = Object.entries((row.tables ?? {}) as TableCounts).flatMap(([table, t]) => Object.entries(t.columns).map(([column, counts]) => ({
    column: `${table}.${column}`, array: column in t.holding, rows: Object.fromEntries(names.map((l) => [l, counts[l] ?? 0])),
  })));
  const labels = names.map((label, i) => ({ position: i + 1, label, rows: columns.reduce((a, c) => a + c.rows[label], 0) }));
  return { migrations, labels, columns };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main({
    name: 'status',
    usage: 'usage: tsx bin/status.ts [--json]',
    help: `
Shows, for DATABASE_URL: each migration file of 0001 (toolkit, expand, contract) as applied or
pending, the labels of enum "Role" in order, and for every column of "Role" or "Role"[] in any
table and schema, its rows per label (array columns: elements per label). Changes nothing.
--json prints the same as one JSON object. Exit codes: 0 ok, 2 bad input, 3 unreachable.`,
    async run(argv) {
      const target = await connectionTarget('status');
      const t0 = performance.now();
      const s = await status(target, process.env.MIGRATION ?? '0001');
      if (argv.includes('--json')) {
        console.log(JSON.stringify(s));
        return;
      }
      console.log(`database ${describeTarget(target)}`);
      for (const m of s.migrations) console.log(`  [${m.applied ? 'X' : ' '}] ${m.version}`);
      console.log(`  "Role" labels, in order: ${s.labels.map((l) => l.label).join(', ') || '(no "Role" type)'}`);
      const width = Math.max(0, ...s.columns.map((c) => c.column.length + (c.array ? 11 : 0)));
      for (const c of s.columns) {
        console.log(`    ${`${c.column}${c.array ? ' (elements)' : ''}`.padEnd(width)}  ${Object.entries(c.rows).map(([l, n]) => `${l}=${n}`).join('  ')}`);
      }
      const applied = s.migrations.filter((m) => m.applied).length;
      console.log(`status: ${applied}/${s.migrations.length} migrations applied; labels ${s.labels.map((l) => l.label).join(', ') || '(no "Role" type)'}; ${s.columns.length} column(s) of "Role" (${seconds(t0)})`);
    },
  });
}

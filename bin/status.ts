#!/usr/bin/env tsx
// Where a database stands: dbmate's applied/pending list, the enum's labels, rows per label.
import { main, seconds } from './lib/cli.js';
import { readSql, connectionTarget } from './lib/config.js';
import { describeTarget, type Target } from './lib/target.js';
import { withSql } from './lib/db.js';
import { dbmateStatus, dirs } from './lib/dbmate.js';

export interface LabelCount { position: number; label: string; rows: number }
export interface Status { migrations: { version: string; applied: boolean }[]; labels: LabelCount[] }

export async function status(target: Target, migration = '0001'): Promise<Status> {
  const migrations = (await dbmateStatus(target, dirs.all(migration))).map((f) => ({ version: f.file, applied: f.applied }));
  const labels = await withSql(target, async (sql) => {
    const rows = await sql.unsafe(readSql('status.sql'));
    return rows.map((r) => ({ position: Number(r.position), label: String(r.label), rows: Number(r.rows) }));
  });
  return { migrations, labels };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main({
    name: 'status',
    usage: 'usage: tsx bin/status.ts [--json]',
    help: `
Shows, for DATABASE_URL: each migration file of 0001 (toolkit, expand, contract) as applied or
pending, then the labels of enum "Role" in order with the number of "User" rows holding each.
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
      console.log('  "Role" labels (in order) and "User" rows:');
      for (const l of s.labels) console.log(`    ${l.label.padEnd(10)} ${l.rows}`);
      const applied = s.migrations.filter((m) => m.applied).length;
      console.log(`status: ${applied}/${s.migrations.length} migrations applied; labels ${s.labels.map((l) => l.label).join(', ') || '(no "Role" type)'}; ${s.labels.reduce((a, l) => a + l.rows, 0)} users (${seconds(t0)})`);
    },
  });
}

#!/usr/bin/env tsx
// make plan-NNNN: for the target database, each strategy's lock, whether it rewrites the table,
// and an estimated maintenance window from the table's size. Read-only (planner statistics, no
// scan; the toolkit's functions are loaded in a transaction that is rolled back).
import { main, Refusal } from './lib/cli.js';
import { readSql, connectionTarget } from './lib/config.js';
import { describeTarget, type Target } from './lib/target.js';
import { withSql } from './lib/db.js';
import { withToolkitRolledBack } from './lib/runbook.js';

// Seconds per million rows, measured by `make bench` on the reference machine (README).
export const RATES = { update: 14, rewrite: 5, count: 0.2, fixed: 1.0, renameFixed: 0.3, dumpMBps: 50 };

export interface PlanRow { strategy: string; lock: string; rewrites: string; seconds: number | null; note: string }

export function plan(tables: { bytes: number; rows: number; user_rows: number; pure_rename: boolean }[]): PlanRow[] {
  const rows = tables.reduce((a, t) => a + Number(t.rows), 0) / 1e6;
  const users = tables.reduce((a, t) => a + Number(t.user_rows), 0) / 1e6;
  const counts = 3 * RATES.count * rows; // verifier before + after, final checks
  const pure = tables.every((t) => t.pure_rename);
  return [
    { strategy: 'default', lock: 'EXCLUSIVE during the UPDATE, then ACCESS EXCLUSIVE for the swap', rewrites: 'yes: UPDATE + one rewrite',
      seconds: RATES.fixed + counts + RATES.update * users + RATES.rewrite * rows + RATES.count * rows, note: 'works from any state' },
    { strategy: 'rewrite', lock: 'ACCESS EXCLUSIVE for the swap', rewrites: 'yes: one rewrite, mapping included',
      seconds: RATES.fixed + counts + RATES.rewrite * rows + RATES.count * rows, note: 'reads are blocked during the rewrite too' },
    // No scan: its invariants are proved from the catalog, so the estimate does not grow with the table.
    { strategy: 'rename', lock: 'EXCLUSIVE on the table for milliseconds (catalog only, no scan)', rewrites: 'no',
      seconds: pure ? RATES.renameFixed : null, note: pure ? 'pure rename: available' : 'not available: "Role" is no longer exactly USER, ADMIN' },
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const id = process.argv[2] ?? '';
  await main({
    name: `plan-${id}`,
    usage: 'usage: tsx bin/plan.ts NNNN   (make plan-0001)',
    help: `
For DATABASE_URL, prints each strategy of migration NNNN (STRATEGY=default|rewrite|rename): the
lock it takes on the table, whether it rewrites it, and an estimated maintenance window (dump
excluded) from the planner's row estimates and rates measured by make bench. Changes nothing.`,
    async run() {
      const target = await connectionTarget(`plan-${id}`);
      if (id !== '0001') throw new Refusal(`plan-${id}: only migration 0001 has a plan (sql/0001/plan.sql).`, 'Add sql/NNNN/plan.sql for another migration.');
      type Table = { table_name: string; bytes: number; rows: number; user_rows: number; pure_rename: boolean };
      const tables = await withSql(target, (sql) => withToolkitRolledBack(sql, async (tx) => (await tx.unsafe(readSql('0001/plan.sql'))) as unknown as Table[]));
      console.log(`database ${describeTarget(target)}: ${tables.map((t) => `${t.table_name} ~${t.rows} rows (~${t.user_rows} USER), ${(Number(t.bytes) / 1048576).toFixed(0)} MB`).join('; ') || 'no table uses "Role"'}`);
      const dumpSeconds = tables.reduce((a, t) => a + Number(t.bytes), 0) / 1048576 / RATES.dumpMBps;
      for (const p of plan(tables)) {
        console.log(`  ${p.strategy.padEnd(8)} ${p.seconds === null ? '     —   ' : `~${p.seconds.toFixed(1).padStart(6)} s`}  rewrites: ${p.rewrites}; lock: ${p.lock}; ${p.note}`);
      }
      console.log(`plan-${id}: estimates exclude the dump (~${dumpSeconds.toFixed(1)} s at ${RATES.dumpMBps} MB/s); run STRATEGY=<name> make migrate-${id}`);
    },
  });
}

#!/usr/bin/env tsx
// make plan-NNNN: for the target database, each strategy's lock, whether it rewrites the table,
// and an estimated maintenance window from the table's size. Read-only (planner statistics, no
// scan; the toolkit's functions are loaded in a transaction that is rolled back).
import { main, Refusal, type Command } from './lib/cli/cli.js';
import { existsSync } from 'node:fs';
import { connectionTarget, migrationPath, shownPath } from './lib/connection/config.js';
import { loadMigration } from './lib/runbook/migration.js';
import { describeTarget } from './lib/connection/target.js';
import { withSql } from './lib/connection/db.js';
import { withToolkitRolledBack } from './lib/runbook/toolkit.js';
import { defaultChoice, defaultFacts } from './lib/runbook/strategy.js';
import { isMain } from './lib/cli/entry.js';

// Seconds per million rows, measured by `make bench` on the reference machine (docs/performance.md):
// fixed and renameFixed hold maintenance on (its drain, APP_LOCK_CACHE_MS 250 ms) and off; the
// dump reads the tables at about 200 MB/s there, 150 here to stay on the safe side.
export const RATES = { update: 14, rewrite: 5, count: 0.2, fixed: 1.0, renameFixed: 0.4, dumpMBps: 150 };

export interface PlanRow {
  strategy: string;
  lock: string;
  rewrites: string;
  seconds: number | null; // the maintenance window visitors wait, the dump included when it is taken inside
  dump: 'inside the window' | 'before the window, the app running';
  note: string;
}

/** plan.sql's row: one column of the enum, with its table's size and estimates. */
export interface PlanColumn {
  table_name?: string;
  column_name?: string;
  bytes: number;
  rows: number;
  rows_to_change: number;
  rename_available: boolean;
  estimated_by?: string;
}
/** Which strategies a migration offers: update always; the others when their file exists. */
export type Offered = { rewrite: boolean; rename: boolean };

/**
 * `dumpSeconds`: the dump's estimate, inside the window of every strategy that writes rows;
 * `observers`: what sees an UPDATE of the tables (update_observers.sql), which a rewrite skips.
 */
export function plan(
  columns: PlanColumn[],
  offered: Offered = { rewrite: true, rename: true },
  dumpSeconds = 0,
  observers: string[] = [],
): PlanRow[] {
  // A table is rewritten and counted once, whatever its number of enum columns.
  const tables = [...new Map(columns.map((c, i) => [c.table_name ?? String(i), c])).values()];
  const rows = tables.reduce((a, t) => a + Number(t.rows), 0) / 1e6;
  const users = columns.reduce((a, t) => a + Number(t.rows_to_change), 0) / 1e6;
  const counts = 3 * RATES.count * rows; // verifier before + after, final checks
  const pure = columns.every((t) => t.rename_available);
  const all: PlanRow[] = [
    {
      strategy: 'update',
      lock: 'EXCLUSIVE during the UPDATE, then ACCESS EXCLUSIVE for the swap',
      rewrites: 'yes: UPDATE + one rewrite',
      seconds: dumpSeconds + RATES.fixed + counts + RATES.update * users + RATES.rewrite * rows + RATES.count * rows,
      dump: 'inside the window',
      note: "the runbook's UPDATE, then the contract; works from any state",
    },
    {
      strategy: 'rewrite',
      lock: 'ACCESS EXCLUSIVE for the swap',
      rewrites: 'yes: one rewrite, mapping included',
      seconds: dumpSeconds + RATES.fixed + counts + RATES.rewrite * rows + RATES.count * rows,
      dump: 'inside the window',
      note: observers.length
        ? `fires nothing that sees an UPDATE: ${observers.join(', ')} would miss the change`
        : 'reads are blocked during the rewrite too',
    },
    // No scan: its invariants are proved from the catalog, so the estimate does not grow with the table.
    {
      strategy: 'rename',
      lock: 'EXCLUSIVE on the table for milliseconds (catalog only, no scan)',
      rewrites: 'no',
      seconds: pure ? RATES.renameFixed : null,
      // It writes no row: its way back is its inverse (make rollback), so the dump needs no window.
      dump: 'before the window, the app running',
      note: !pure
        ? 'not available: the labels are no longer those a pure rename starts from'
        : observers.length
          ? `pure rename: available, but it fires nothing that sees an UPDATE (${observers.join(', ')})`
          : 'pure rename: available',
    },
  ];
  return all.filter((p) => p.strategy === 'update' || offered[p.strategy as keyof Offered]);
}

/** The strategy to use, and why: the shortest window among those available and safe here. */
export function recommend(rows: PlanRow[], observers: string[] = []): { strategy: string; why: string } {
  // Neither a relabel nor a rewrite fires what sees an UPDATE (a trigger keeping a copy of the label, say).
  if (observers.length) return { strategy: 'update', why: `${observers.join(', ')} must see the UPDATE` };
  const rename = rows.find((r) => r.strategy === 'rename');
  if (rename?.seconds !== null && rename?.seconds !== undefined) {
    return {
      strategy: 'rename',
      why:
        'a pure rename: catalog only, no row written, its window does not grow with the tables, and its dump ' +
        'is taken before it; its way back is the relabel undone in the catalog (make rollback)',
    };
  }
  const [rewrite, update] = [rows.find((r) => r.strategy === 'rewrite'), rows.find((r) => r.strategy === 'update')!];
  return rewrite && (rewrite.seconds ?? Infinity) < (update.seconds ?? Infinity)
    ? {
        strategy: 'rewrite',
        why:
          'one table rewrite with the mapping folded in instead of an UPDATE and then a rewrite ' +
          `(~${rewrite.seconds?.toFixed(1)} s instead of ~${update.seconds!.toFixed(1)} s); ` +
          "the site is in maintenance either way, so the reads it blocks are not the site's",
      }
    : { strategy: 'update', why: "the runbook's own steps, from any state" };
}

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(args: string[]): Command {
  const id = args[0] ?? '';
  return {
    name: `plan-${id}`,
    usage: 'usage: breaking-migrations plan-NNNN   (make plan-NNNN)',
    help: `
For DATABASE_URL, prints each strategy migration NNNN offers (STRATEGY=update, and rewrite /
rename when NNNN/rewrite.sql / rename.sql exist): the lock it takes, whether it rewrites the
tables, the estimated maintenance window visitors wait (with the dump where that strategy takes
it: inside for update and rewrite, before the window for rename) from the rows NNNN/plan.sql reports
(planner statistics, or a sample of pages for a table never analysed) and rates measured by
make bench, the strategy it recommends, and the one a run takes with STRATEGY unset (rewrite unless
a trigger, rule, publication or logical slot sees an UPDATE of the tables, then update).
Needs MIGRATIONS_DIR/NNNN/plan.sql (see sql/README.md).
Changes nothing. Exit codes: 0 ok, 2 no plan.sql or bad input, 3 unreachable.`,
    async run() {
      const target = await connectionTarget(`plan-${id}`);
      const m = loadMigration(id); // refuses an unknown or incomplete migration, naming what is missing
      const file = (name: string) => migrationPath(id, `${name}.sql`);
      if (!m.plan) {
        throw new Refusal(
          `plan-${id}: migration ${id} has no ${shownPath(file('plan'))}, so nothing to estimate from.`,
          'Write one (its contract: sql/README.md, "plan.sql"), ' +
            `or run \`make rehearse-${id}\` to measure the real window on a copy.`,
        );
      }
      const [columns, facts] = await withSql(target, async (sql) => [
        await withToolkitRolledBack(sql, async (tx) => (await tx.unsafe(m.plan!)) as unknown as PlanColumn[]),
        await defaultFacts(sql, m),
      ]);
      const { observers } = facts;
      console.log(`database ${describeTarget(target)}${columns.length ? '' : ': no table uses "Role"'}`);
      for (const c of columns) {
        console.log(
          `  ${c.table_name}.${c.column_name} ~${c.rows} rows (~${c.rows_to_change} to change), ` +
            `${(Number(c.bytes) / 1048576).toFixed(0)} MB; estimated from ${c.estimated_by}`,
        );
      }
      const dumpSeconds =
        [...new Map(columns.map((c) => [c.table_name, Number(c.bytes)])).values()].reduce((a, b) => a + b, 0) /
        1048576 /
        RATES.dumpMBps;
      const offered = { rewrite: existsSync(file('rewrite')), rename: existsSync(file('rename')) };
      const rows = plan(columns, offered, dumpSeconds, observers);
      console.log(`  window: what visitors wait, maintenance on to off; dump ~${dumpSeconds.toFixed(1)} s`);
      for (const p of rows) {
        const est = p.seconds === null ? '     —   ' : `~${p.seconds.toFixed(1).padStart(6)} s`;
        console.log(
          `  ${p.strategy.padEnd(8)} ${est}  dump: ${p.dump}; rewrites: ${p.rewrites}; lock: ${p.lock}; ${p.note}`,
        );
      }
      const best = recommend(rows, observers);
      const dflt = defaultChoice(facts);
      console.log(`  STRATEGY unset: ${dflt.name}: ${dflt.why}`);
      console.log(`  recommended: ${best.strategy}: ${best.why}`);
      const chosen = rows.find((r) => r.strategy === best.strategy)!;
      console.log(
        `plan-${id}: recommended ${best.strategy} (window ~${chosen.seconds?.toFixed(1)} s, dump ${chosen.dump}); ` +
          `run STRATEGY=${best.strategy} make migrate-${id}`,
      );
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

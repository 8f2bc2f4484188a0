// The verifier: a migration's data mutation and its invariants in ONE transaction.
//   lock.sql → counts.sql → mutation.sql → counts.sql → invariants.sql → COMMIT or ROLLBACK
// Any failed check rolls everything back and says which check, with the numbers. The SQL files
// hold all the logic a DBA needs to review; this file only sequences them.
import type postgres from 'postgres';
import type { Sql, Tx } from '../bin/lib/connection/db.js';
import { paramsFor, toolkitUpSql, type Counts, type Migration } from '../bin/lib/runbook/migration.js';
import { describeFailed } from '../bin/lib/runbook/runbook.js';

/** counts.sql's row (bin/lib/runbook/migration.ts): scalar values as text, JSON values as they are. */
export type { Counts };
/** Rows a mutation updated: its row count, or per table and column when it reports them. */
export type Updated = number | Record<string, Record<string, number>>;
export interface Check {
  check: string;
  expected: string;
  actual: string;
  ok: boolean;
}
export interface VerifyReport {
  migration: string;
  committed: boolean; // false on --dry-run and on failure
  dryRun: boolean;
  before: Counts;
  after: Counts;
  updated: Updated | null; // rows the mutation updated; null for strategies that relabel without UPDATE
  checks: Check[];
  seconds: { lock: number; countBefore: number; mutation: number; countAfter: number; checks: number };
}

export class InvariantFailed extends Error {
  constructor(readonly report: VerifyReport) {
    super(`invariant failed, mutation rolled back: ${describeFailed(report.checks)}`);
  }
}

class DryRunRollback extends Error {}

const asText = (row: Record<string, unknown>): Counts =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v !== null && typeof v === 'object' ? v : String(v)]));

/**
 * A mutation that reports rows (table_name, column_name, updated), as 0001's does for every
 * column of the enum, gives its numbers per table and column; a plain UPDATE, its row count.
 */
function updatedRows(result: postgres.RowList<postgres.Row[]>): Updated {
  if (!result.columns?.some((c) => c.name === 'updated')) return result.count;
  const out: Record<string, Record<string, number>> = {};
  for (const r of result) {
    const table = String(r.table_name);
    out[table] ??= {};
    out[table][String(r.column_name)] = Number(r.updated);
  }
  return out;
}

/** All rows updated, whatever the form. */
export const totalUpdated = (u: Updated | null | undefined): number | null =>
  u === null || u === undefined
    ? null
    : typeof u === 'number'
      ? u
      : Object.values(u)
          .flatMap(Object.values)
          .reduce((a, b) => a + b, 0);

type TableCounts = Record<string, { columns?: Record<string, Record<string, number>> }>;

/**
 * The values whose label changed, from the two counts: what each label lost, summed over every
 * column of every table (array columns: elements). What a strategy without an UPDATE row count
 * (rewrite) reports as its rows changed; null when the counts are not per table and label.
 */
export function relabelled(before: Counts | undefined, after: Counts | undefined): number | null {
  const [b, a] = [before?.tables, after?.tables] as (TableCounts | undefined)[];
  if (!b || !a || typeof b !== 'object' || typeof a !== 'object') return null;
  let lost = 0;
  for (const [table, { columns = {} }] of Object.entries(b))
    for (const [column, labels] of Object.entries(columns))
      for (const [label, n] of Object.entries(labels))
        lost += Math.max(0, Number(n) - Number(a[table]?.columns?.[column]?.[label] ?? 0));
  return lost;
}

/** A counts row as one line per table for the log (0001's per-table JSON), or as it is. */
export function describeCounts(c: Counts): string[] {
  const tables = c.tables as
    | Record<string, { rows: number; columns: Record<string, Record<string, number>> }>
    | undefined;
  if (!tables || typeof tables !== 'object') return [JSON.stringify(c)];
  return Object.entries(tables).map(
    ([t, v]) =>
      `${t}: ${v.rows} rows; ` +
      Object.entries(v.columns ?? {})
        .map(
          ([col, labels]) =>
            `${col} ${
              Object.entries(labels)
                .map(([l, n]) => `${l || 'NULL'}=${n}`)
                .join(' ') || '(empty)'
            }`,
        )
        .join('; '),
  );
}

export interface VerifyOptions {
  dryRun?: boolean;
  lockTimeout?: string; // e.g. '10s'
  log?: (line: string) => void;
  /**
   * What runs between the two counts (default: mutation.sql), whether its row count is "rows
   * updated", and, for a strategy that writes no row, the SQL that stands in for counts.sql and
   * invariants.sql (STRATEGY=rename: the same checks proved from the catalog, no scan).
   */
  mutation?: { sql: string; updatesRows: boolean; counts?: string; invariants?: string };
  /** Load this release's toolkit functions first, in the transaction (a dry run on another release's). */
  loadToolkit?: boolean;
  /** Runs inside the transaction just before COMMIT: the journal's record commits with the data. */
  beforeCommit?: (tx: Tx, report: VerifyReport) => Promise<void>;
}

export async function verify(sql: Sql, m: Migration, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const log = opts.log ?? (() => {});
  let report: VerifyReport | undefined;
  const timed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
    const t0 = performance.now();
    const v = await fn();
    return [v, (performance.now() - t0) / 1000];
  };
  try {
    await sql.begin(async (tx) => {
      await tx`SELECT set_config('lock_timeout', ${opts.lockTimeout ?? '10s'}, true)`;
      // Abort at once when this client dies (kill -9) instead of finishing a long UPDATE for nobody.
      await tx`SELECT set_config('client_connection_check_interval', '1000', true)
        WHERE current_setting('server_version_num')::int >= 140000`;
      if (opts.loadToolkit) await tx.unsafe(toolkitUpSql());
      const change = opts.mutation ?? { sql: m.sql.mutation, updatesRows: true };
      const counts = change.counts ?? m.sql.counts;
      const [, lock] = await timed(() => tx.unsafe(m.sql.lock));
      const [[before], countBefore] = await timed(() => tx.unsafe(counts));
      for (const line of describeCounts(asText(before))) log(`  before: ${line}`);
      // Its progress is reported from outside, by whoever runs it (a second connection sees it write).
      const [result, mutation] = await timed(() => tx.unsafe(change.sql));
      const updated = change.updatesRows ? updatedRows(result) : null;
      const [[after], countAfter] = await timed(() => tx.unsafe(counts));
      for (const line of describeCounts(asText(after))) log(`  after:  ${line}`);
      const invariants = change.invariants ?? m.sql.invariants;
      const [rows, checks] = await timed(() => tx.unsafe(invariants, paramsFor(invariants, [before, after, updated])));
      report = {
        migration: m.id,
        committed: false,
        dryRun: Boolean(opts.dryRun),
        before: asText(before),
        after: asText(after),
        updated,
        checks: rows.map((r) => ({
          check: String(r.check),
          expected: String(r.expected),
          actual: String(r.actual),
          ok: String(r.expected) === String(r.actual),
        })),
        seconds: { lock, countBefore, mutation, countAfter, checks },
      };
      if (report.checks.some((c) => !c.ok)) throw new InvariantFailed(report);
      if (opts.dryRun) throw new DryRunRollback();
      await opts.beforeCommit?.(tx, report);
    });
    report!.committed = true;
    return report!;
  } catch (err) {
    if (err instanceof DryRunRollback) return report!;
    if ((err as { code?: string }).code === '55P03') {
      throw Object.assign(
        new Error(
          `could not lock the table within lock_timeout (${opts.lockTimeout ?? '10s'}): ` +
            'another transaction holds it; nothing changed',
        ),
        { code: '55P03' },
      );
    }
    throw err;
  }
}

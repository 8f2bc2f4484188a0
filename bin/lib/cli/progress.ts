// Progress with a percentage and the time left, from a measured source: what a step has done so
// far against what it will do in all (bytes read from a dump, bytes a rewrite has written). One
// line every few seconds on a pipe; a live line on a terminal; the caller prints the final one.
import { connect, type Sql } from '../connection/db.js';
import type { Target } from '../connection/target.js';
import { mb } from '../connection/stream.js';

export interface Measure {
  done: number;
  total?: number;
  unit: 'bytes' | 'rows';
}

/**
 * "42% (1.2 MB of 2.9 MB), ~12 s left" — or what is known without a total. The time left is the
 * rest at `rate` (units per second) when the caller measured one, else at the average so far.
 */
export function describeProgress(m: Measure, seconds: number, rate?: number): string {
  const fmt = (n: number) => (m.unit === 'bytes' ? mb(n) : `${Math.round(n)} rows`);
  if (!m.total || m.total <= 0) return `${fmt(m.done)}, ${seconds.toFixed(0)} s`;
  const f = Math.min(1, m.done / m.total);
  const left =
    rate !== undefined && rate > 0
      ? (m.total - Math.min(m.done, m.total)) / rate
      : f > 0.01
        ? (seconds * (1 - f)) / f
        : undefined;
  // Rounded, not rounded up: on a 3 s step, ceil's half second on average was a sixth of the step.
  const eta = left === undefined ? 'estimating' : `~${Math.max(1, Math.round(left))} s left`;
  return `${Math.floor(f * 100)}% (${fmt(m.done)} of ${fmt(m.total)}), ${eta}`;
}

/** Reports `measure()` every `everyMs` while the returned stop() is not called. */
export function reportProgress(
  label: string,
  measure: () => Promise<Measure | undefined> | Measure | undefined,
  log: (l: string) => void,
  opts: { everyMs?: number; live?: boolean } = {},
): () => void {
  const t0 = performance.now();
  const live = opts.live ?? (Boolean(process.stdout.isTTY) && log === console.log);
  let busy = false;
  // The rate counts from the first reading that saw work done: a step that first reads the
  // tables (the verifier's counts) writes nothing for a while, and that is not its pace.
  let first: { t: number; done: number } | undefined;
  const timer = setInterval(
    async () => {
      if (busy) return;
      busy = true;
      try {
        const m = await measure();
        if (!m) return;
        const now = performance.now();
        if (!first && m.done > 0) first = { t: now, done: m.done };
        const rate =
          first && now > first.t && m.done > first.done ? (m.done - first.done) / ((now - first.t) / 1000) : 0;
        const line = `  … ${label}: ${describeProgress(m, (now - t0) / 1000, rate || undefined)}`;
        if (live) process.stdout.write(`\r${line.padEnd(78)}`);
        else log(line);
      } catch {
        /* a measure that fails says nothing: the step itself reports its own errors */
      } finally {
        busy = false;
      }
    },
    opts.everyMs ?? (live ? 500 : 5000),
  );
  return () => {
    clearInterval(timer);
    if (live) process.stdout.write(`\r${' '.repeat(80)}\r`);
  };
}

/**
 * A rewrite's or an UPDATE's progress, seen from a second connection: the database grows by what
 * the running transaction writes (new row versions, new files), uncommitted as it is. `expected`
 * is what it will write in all (the tables' size, times the share of rows it changes).
 */
export async function growthMeasure(
  target: Target,
  expected: number | undefined,
): Promise<{ measure: () => Promise<Measure>; stop: () => Promise<void> }> {
  // One connection for the whole step, not one per reading.
  const sql = connect(target, { appName: 'breaking-migrations-progress' });
  const size = async () => Number((await sql`SELECT pg_database_size(current_database())::int8 AS b`)[0].b);
  const start = await size().catch(async (err) => {
    await sql.end({ timeout: 5 });
    throw err;
  });
  return {
    measure: async () => ({ done: Math.max(0, (await size()) - start), total: expected, unit: 'bytes' }),
    stop: () => sql.end({ timeout: 5 }),
  };
}

/**
 * What a migration's long steps will write, from its plan.sql when it has one (the tables' size,
 * rows, rows to change): an UPDATE writes new versions of the rows it changes, a rewrite the
 * whole tables. Undefined without plan.sql: progress then shows bytes and time, no percentage.
 */
export async function expectedWrites(
  sql: Sql,
  planSql: string | undefined,
): Promise<{ update: number; rewrite: number } | undefined> {
  if (!planSql) return undefined;
  const rows = await sql.unsafe(planSql).catch(() => undefined);
  if (!rows?.length) return undefined;
  // Each table's indexes, apart from its heap: the two steps write them differently.
  const names = [...new Set(rows.map((r) => String(r.table_name)))];
  const indexes = new Map(
    (
      await sql`SELECT t AS name, pg_indexes_size(to_regclass(t)) AS b FROM unnest(${names}::text[]) t`.catch(() => [])
    ).map((r) => [String(r.name), Number(r.b) || 0]),
  );
  const index = (r: (typeof rows)[number]) => indexes.get(String(r.table_name)) ?? 0;
  const heap = (r: (typeof rows)[number]) => Number(r.bytes) - index(r);
  const tables = [...new Map(rows.map((r) => [String(r.table_name), r])).values()];
  return {
    rewrite: tables.reduce((a, t) => a + heap(t) + WRITES.rewriteIndexes * index(t), 0),
    update: rows.reduce((a, r) => {
      const share = Number(r.rows) > 0 ? Math.min(1, Number(r.rows_to_change) / Number(r.rows)) : 0;
      return a + share * (heap(r) + WRITES.updateIndexes * index(r));
    }, 0),
  };
}

/**
 * What the long steps write into indexes, as a share of their size now, measured by `make bench`
 * (1M users, two text indexes): an UPDATE appends each changed row's new version to the heap,
 * but its new index entries mostly fill the room a randomly filled index has (0.17 per share of
 * rows changed); a rewrite builds every index anew, packed (0.66 of the worn ones).
 */
export const WRITES = { updateIndexes: 0.17, rewriteIndexes: 0.66 };

/** Runs fn while reporting the database's growth against `expected` (0: a step that writes nothing). */
export async function withGrowth<T>(
  target: Target,
  label: string,
  expected: number | undefined,
  log: (l: string) => void,
  fn: () => Promise<T>,
  opts: { everyMs?: number; live?: boolean } = {},
): Promise<T> {
  if (expected === 0) return fn();
  const growth = await growthMeasure(target, expected);
  const stop = reportProgress(label, growth.measure, log, opts);
  try {
    return await fn();
  } finally {
    stop();
    await growth.stop();
  }
}

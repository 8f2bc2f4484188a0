// The runbook's read-only pieces: preflight, where the database stands, final checks.
import type { Target } from '../connection/target.js';
import type { Sql } from '../connection/db.js';
import type { Counts, Migration } from './migration.js';
import { paramsFor } from './migration.js';
import { withToolkitRolledBack } from './toolkit.js';
import { dbmateStatus, dirs } from './dbmate.js';

/**
 * preflight.sql's problems (when `checkContract`), the error of `trySql` if it fails, and what
 * counts.sql sees now (what the mutation will start from, e.g. every column of the enum with
 * its rows per label). Changes nothing.
 */
export async function preflightProblems(
  sql: Sql,
  m: Migration,
  opts: { checkContract: boolean; trySql?: string },
): Promise<{ problems: string[]; counts?: Counts }> {
  return withToolkitRolledBack(sql, async (tx) => {
    const problems = opts.checkContract ? (await tx.unsafe(m.sql.preflight)).map((r) => String(r.problem)) : [];
    // Counted only where it can be: a problem above may be the very reason it cannot.
    const [counts] = problems.length ? [] : await tx.unsafe(m.sql.counts).catch(() => [] as Counts[]);
    if (opts.trySql) await tx.unsafe(opts.trySql).catch((err: Error) => problems.push(err.message));
    return { problems, counts };
  });
}

export interface DbState {
  expanded: boolean;
  contracted: boolean;
  pending: string[];
}

/** Which of the migration's dbmate files are applied (dbmate status). */
export async function dbState(target: Target, m: Migration): Promise<DbState> {
  const pending = (await dbmateStatus(target, dirs.all(m.id))).filter((f) => !f.applied).map((f) => f.version);
  return {
    expanded: m.expandVersions.every((v) => !pending.includes(v)),
    contracted: m.contractVersions.every((v) => !pending.includes(v)),
    pending,
  };
}

/**
 * A killed run leaves its children behind: dbmate (a Go process) finishes its transaction on
 * its own. Wait for such leftover toolkit sessions on this database before going on, so that a
 * resumed run never races the orphan of the run it resumes.
 */
export async function waitForOrphans(sql: Sql, log: (l: string) => void, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  for (let said = false; ; said = true) {
    const [{ n }] = await sql`SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE 'breaking-migrations%'
        AND application_name <> 'breaking-migrations-tools' AND state <> 'idle'`;
    if (n === 0) return;
    if (!said) log(`  waiting for ${n} session(s) of an earlier, interrupted run to finish…`);
    if (Date.now() - t0 > timeoutMs)
      throw new Error(
        `${n} session(s) of an earlier run are still busy after ${timeoutMs / 1000} s; check pg_stat_activity`,
      );
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface FinalCheck {
  check: string;
  kind: string;
  expected: string;
  actual: string;
  ok: boolean;
}

/** "check (expected x, got y); …" for the checks that failed. */
export function describeFailed(checks: { check: string; expected: string; actual: string; ok: boolean }[]): string {
  return checks
    .filter((c) => !c.ok)
    .map((c) => `${c.check} (expected ${c.expected}, got ${c.actual})`)
    .join('; ');
}

/**
 * final_checks.sql against the verifier's committed counts. Its data checks compare a fresh
 * count with them; without committed counts (a rename's proof holds catalog facts, a migration
 * run by hand has none) only the schema is checked, and the table is not scanned.
 */
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Counts now, each table in the measures the verifier committed: a journal written by an earlier
 * release holds fewer (no `identities`) than this release's counts.sql gives, and a migration's
 * final_checks.sql compares whole tables.
 */
export function asCommitted(now: Counts, committed: Counts): Counts {
  const [n, c] = [now.tables, committed.tables];
  if (!isObj(n) || !isObj(c)) return now;
  const trim = (t: string, v: unknown) => {
    const kept = c[t];
    return isObj(v) && isObj(kept) ? Object.fromEntries(Object.keys(kept).map((k) => [k, v[k]])) : v;
  };
  return { ...now, tables: Object.fromEntries(Object.entries(n).map(([t, v]) => [t, trim(t, v)])) };
}

export async function finalChecks(sql: Sql, m: Migration, committed: Counts | undefined): Promise<FinalCheck[]> {
  const [now] = committed ? await sql.unsafe(m.sql.counts) : [{}];
  const compared = committed ? asCommitted(now as Counts, committed) : now;
  const rows = await sql.unsafe(m.sql.final_checks, paramsFor(m.sql.final_checks, [committed ?? {}, compared]));
  return rows
    .map((r) => ({
      check: String(r.check),
      kind: String(r.kind),
      expected: String(r.expected),
      actual: String(r.actual),
      ok: String(r.expected) === String(r.actual),
    }))
    .filter((c) => committed || c.kind === 'schema');
}

// How a migration reaches its final state (STRATEGY=). Every strategy runs inside the verifier's
// transaction, between the same two counts, and passes the same invariants.
//   update   expand (dbmate) → mutation.sql (UPDATE) → contract (dbmate): the runbook, any state
//   rewrite  expand (dbmate) → rewrite.sql: the mapping folded into the type swap, one rewrite
//   rename   rename.sql: catalog only, no rewrite; only when the change is a pure rename. It
//            writes no row, so its invariants are proved from the catalog (rename_facts.sql,
//            rename_invariants.sql) instead of counted: the window does not grow with the table.
//            Its dump is taken before the window; its way back is rename_inverse.sql (inverse.ts).
// STRATEGY unset (or `default`) picks rewrite or update for the database at hand (chooseStrategy).
import { existsSync, readFileSync } from 'node:fs';
import { migrationPath, readSql, shownPath } from '../connection/config.js';
import type { Sql } from '../connection/db.js';
import type { Migration } from './migration.js';
import { Refusal } from '../connection/refusal.js';
import { q, readEnumSpec } from '../enum/enum-spec.js';

export const STRATEGY_NAMES = ['update', 'rewrite', 'rename'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

export interface Strategy {
  name: StrategyName;
  mutationSql: string; // runs between the verifier's counts
  updatesRows: boolean; // its row count is "rows updated" (NULL otherwise: see invariants.sql)
  expandStep: boolean; // run dbmate's expand as its own step
  contractStep: boolean; // run dbmate's contract as its own step
  versionsInMutation: string[]; // dbmate versions recorded in the verifier's transaction
  checkContract: boolean; // preflight.sql's contract check applies
  tryInPreflight: boolean; // run mutationSql in preflight's rolled-back transaction
  /**
   * Dump before maintenance-on, while the app still runs: for a strategy that writes no row,
   * whose way back inside the window is its verified inverse (inverse.ts), not the dump.
   */
  dumpBeforeWindow: boolean;
  /** Stand-ins for counts.sql and invariants.sql when no row is written (rename); none: count. */
  proof?: { counts: string; invariants: string };
}

export function strategy(name: string, m: Migration): Strategy {
  const n = name as StrategyName;
  const file = (f: string) => {
    const p = migrationPath(m.id, `${f}.sql`);
    if (!existsSync(p))
      throw new Refusal(
        `migrate-${m.id}: STRATEGY=${n} is not available for migration ${m.id} (no ${shownPath(p)}).`,
        `Leave STRATEGY unset for the default (\`make plan-${m.id}\` says which it is here).`,
      );
    return readFileSync(p, 'utf8');
  };
  switch (n) {
    case 'update':
      return {
        name: n,
        mutationSql: m.sql.mutation,
        updatesRows: true,
        expandStep: true,
        contractStep: true,
        versionsInMutation: [],
        checkContract: true,
        tryInPreflight: false,
        dumpBeforeWindow: false,
      };
    case 'rewrite':
      return {
        name: n,
        mutationSql: file('rewrite'),
        updatesRows: false,
        expandStep: true,
        contractStep: false,
        versionsInMutation: m.contractVersions,
        checkContract: true,
        tryInPreflight: false,
        dumpBeforeWindow: false,
      };
    case 'rename':
      return {
        name: n,
        mutationSql: file('rename'),
        updatesRows: false,
        expandStep: false,
        contractStep: false,
        versionsInMutation: [...m.expandVersions, ...m.contractVersions],
        checkContract: false,
        tryInPreflight: true,
        dumpBeforeWindow: true,
        proof: { counts: file('rename_facts'), invariants: file('rename_invariants') },
      };
    default:
      throw new Refusal(
        `migrate-${m.id}: unknown STRATEGY "${name}".`,
        `Use update, rewrite or rename, or leave it unset (\`make plan-${m.id}\` compares them).`,
      );
  }
}

/**
 * The default: the mapping folded into the contract's type swap (rewrite: one table rewrite
 * instead of an UPDATE and then a rewrite) when nothing can tell the two apart — no trigger, rule,
 * publication or logical slot sees that UPDATE — and the migration has rewrite.sql; the runbook's
 * UPDATE otherwise. Both pass the same invariants, which prove which rows hold each label.
 */
export function defaultChoice(hasRewrite: boolean, observers: string[]): { name: StrategyName; why: string } {
  if (!hasRewrite) return { name: 'update', why: 'the migration has no rewrite.sql' };
  if (observers.length) {
    const shown = observers.slice(0, 3).join(', ') + (observers.length > 3 ? ` and ${observers.length - 3} more` : '');
    return { name: 'update', why: `an UPDATE is seen by ${shown}, which a rewrite would skip` };
  }
  return {
    name: 'rewrite',
    why:
      'one table rewrite instead of an UPDATE and a rewrite; ' +
      'no trigger, rule, publication or logical slot sees the difference',
  };
}

/** update_observers.sql for the migration's enum: what would see its UPDATE (none when it is not an enum change). */
export async function updateObservers(sql: Sql, m: Migration): Promise<string[]> {
  const spec = readEnumSpec(m.id);
  if (!spec) return [];
  return (await sql.unsafe(readSql('update_observers.sql'), [q(spec.type)])).map((r) => String(r.observer));
}

/**
 * The strategy a run takes: STRATEGY's, else the one this run's committed mutation took (a
 * journal from an earlier release says `default`: the UPDATE), else defaultChoice's for this
 * database. `why` says it for the run's log when the run chose.
 */
export async function chooseStrategy(
  sql: Sql,
  requested: Strategy | undefined,
  m: Migration,
  committed?: string,
): Promise<{ strategy: Strategy; why?: string }> {
  if (requested) return { strategy: requested };
  if (committed)
    return {
      strategy: strategy(committed === 'default' ? 'update' : committed, m),
      why: 'as this run began: its mutation has committed',
    };
  const c = defaultChoice(existsSync(migrationPath(m.id, 'rewrite.sql')), await updateObservers(sql, m));
  return { strategy: strategy(c.name, m), why: c.why };
}

/** STRATEGY as given: a strategy, or undefined for the default (unset or `default`); an unknown name is refused. */
export const requestedStrategy = (name: string | undefined, m: Migration): Strategy | undefined =>
  name && name !== 'default' ? strategy(name, m) : undefined;

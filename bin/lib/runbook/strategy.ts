// How a migration reaches its final state (STRATEGY=). Every strategy runs inside the verifier's
// transaction, between the same two counts, and passes the same invariants.
//   default  expand (dbmate) → mutation.sql (UPDATE) → contract (dbmate): the runbook, any state
//   rewrite  expand (dbmate) → rewrite.sql: the mapping folded into the type swap, one rewrite
//   rename   rename.sql: catalog only, no rewrite; only when the change is a pure rename. It
//            writes no row, so its invariants are proved from the catalog (rename_facts.sql,
//            rename_invariants.sql) instead of counted: the window does not grow with the table.
//            Its dump is taken before the window; its way back is rename_inverse.sql (inverse.ts).
import { existsSync, readFileSync } from 'node:fs';
import { migrationPath, shownPath } from '../connection/config.js';
import type { Migration } from './migration.js';
import { Refusal } from '../connection/refusal.js';

export const STRATEGY_NAMES = ['default', 'rewrite', 'rename'] as const;
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

export function strategy(name: string | undefined, m: Migration): Strategy {
  const n = (name || 'default') as StrategyName;
  const file = (f: string) => {
    const p = migrationPath(m.id, `${f}.sql`);
    if (!existsSync(p))
      throw new Refusal(
        `migrate-${m.id}: STRATEGY=${n} is not available for migration ${m.id} (no ${shownPath(p)}).`,
        'Leave STRATEGY unset for the default expand / mutate / contract.',
      );
    return readFileSync(p, 'utf8');
  };
  switch (n) {
    case 'default':
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
        `Use default, rewrite or rename (\`make plan-${m.id}\` compares them).`,
      );
  }
}

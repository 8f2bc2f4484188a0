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
        'Leave STRATEGY unset for the default (the run says which strategy it takes, and why).',
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

/** What decides the default for a migration, read from its files and the database. */
export interface DefaultFacts {
  hasRewrite: boolean; // NNNN/rewrite.sql
  /** An enum migration (enum.json) whose invariants.sql proves which rows hold each label. */
  provesRows: boolean;
  observers: string[]; // update_observers.sql
}

/**
 * The default: the mapping folded into the contract's type swap (rewrite: one table rewrite
 * instead of an UPDATE and then a rewrite) when nothing can tell the two apart — no trigger, rule,
 * publication or logical slot sees that UPDATE — and the migration's invariants prove which rows
 * hold each label, the proof that stands in for the UPDATE's row count; the runbook's UPDATE otherwise.
 */
export function defaultChoice(f: DefaultFacts): { name: StrategyName; why: string } {
  if (!f.hasRewrite) return { name: 'update', why: 'the migration has no rewrite.sql' };
  if (!f.provesRows)
    return {
      name: 'update',
      why:
        'its invariants.sql does not prove which rows hold each label (a rewrite has no UPDATE row count; ' +
        '`make new-enum-migration` writes that proof)',
    };
  if (f.observers.length) {
    const o = f.observers;
    const shown = o.slice(0, 3).join(', ') + (o.length > 3 ? ` and ${o.length - 3} more` : '');
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

/** The facts defaultChoice decides on, for migration m on this database. */
export async function defaultFacts(sql: Sql, m: Migration): Promise<DefaultFacts> {
  return {
    hasRewrite: existsSync(migrationPath(m.id, 'rewrite.sql')),
    provesRows: Boolean(readEnumSpec(m.id)) && m.sql.invariants.includes("'identities'"),
    observers: await updateObservers(sql, m),
  };
}

/**
 * The strategy a mutation ran with, from its journal row: an earlier release wrote `default`, or
 * nothing, for the UPDATE. No row: undefined. A name this release does not know (a later
 * release's) is refused: guessing the UPDATE would finish another strategy's run.
 */
export function ranAs(mutate: Record<string, unknown> | undefined, id: string): StrategyName | undefined {
  if (!mutate) return undefined;
  const name = mutate.strategy ?? 'default';
  if (name === 'default') return 'update';
  const known = STRATEGY_NAMES.find((n) => n === name);
  if (known) return known;
  throw new Refusal(
    `migrate-${id}: the journal says its mutation ran as strategy ${String(name)}, which this release of the ` +
      'toolkit does not know; nothing changed.',
    `Upgrade breaking-migrations to the release that began it, then run \`make migrate-${id}\` again.`,
  );
}

/** An open run's journal: what its steps kept (journal_open_run.sql). */
type Done = Record<string, Record<string, unknown> | undefined>;

/**
 * The strategy a run takes: STRATEGY's, else the one this open run began with, else
 * defaultChoice's for this database. A run began with a strategy once its mutation committed (an
 * earlier release's journal says `default`, or nothing: the UPDATE) or once it dumped before the
 * window (rename); another STRATEGY cannot finish it and is refused, nothing changed. `why` says
 * it for the run's log when the run chose; `note`, what an explicit rewrite or rename skips.
 */
export async function chooseStrategy(
  sql: Sql,
  requested: Strategy | undefined,
  m: Migration,
  done: Done = {},
): Promise<{ strategy: Strategy; why?: string; note?: string }> {
  const began = done.mutate ? ranAs(done.mutate, m.id) : done.dump?.beforeWindow ? 'rename' : undefined;
  const since = done.mutate ? 'its mutation has committed' : 'its dump was taken before the window';
  if (requested && began && requested.name !== began)
    throw new Refusal(
      `migrate-${m.id}: the open run began as STRATEGY=${began} (${since}); STRATEGY=${requested.name} ` +
        'cannot finish it; nothing changed.',
      `Run \`make migrate-${m.id}\` with STRATEGY unset (or STRATEGY=${began}): it resumes the run.`,
    );
  if (requested) {
    const seen = requested.name === 'update' ? [] : await updateObservers(sql, m);
    const note = seen.length
      ? `STRATEGY=${requested.name} writes no UPDATE: ${seen.join(', ')} will not see the change`
      : undefined;
    return { strategy: requested, note };
  }
  if (began) return { strategy: strategy(began, m), why: `as this run began: ${since}` };
  const c = defaultChoice(await defaultFacts(sql, m));
  return { strategy: strategy(c.name, m), why: c.why };
}

/** STRATEGY as given: a strategy, or undefined for the default (unset or `default`); an unknown name is refused. */
export const requestedStrategy = (name: string | undefined, m: Migration): Strategy | undefined =>
  name && name !== 'default' ? strategy(name, m) : undefined;

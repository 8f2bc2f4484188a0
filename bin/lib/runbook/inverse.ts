// The way back from STRATEGY=rename: its relabel undone in the catalog (NNNN/rename_inverse.sql),
// proved from the catalog like the forward step (rename_facts.sql before and after,
// rename_inverse_invariants.sql), in its own transaction with dbmate's versions and the journal.
// A rename's dump is taken before the window, while the app still writes; this way back keeps
// every write, the dump does not.
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { migrationPath } from '../connection/config.js';
import { tableExists, type Sql, type Tx } from '../connection/db.js';
import { Refusal } from '../connection/refusal.js';
import { hasJournal, openRun, record } from './journal.js';
import type { Migration } from './migration.js';
import { verify, type VerifyReport } from '../../../verify/verifier.js';
import { readEnumSpec } from '../enum/enum-spec.js';
import { renamedAndNew } from '../enum/enum-migration.js';
import type { writesSince } from '../backup/manifest.js';

/** The run whose relabel is the latest thing done to migration `id`, when it was a rename; else none. */
export async function renameToUndo(sql: Sql, m: Migration): Promise<string | undefined> {
  if (!existsSync(migrationPath(m.id, 'rename_inverse.sql')) || !(await hasJournal(sql))) return undefined;
  const [last] = await sql`
    SELECT run_id, step, detail ->> 'strategy' AS strategy FROM breaking_migrations.journal
    WHERE migration = ${m.id} AND step IN ('mutate', 'rollback') AND event = 'done'
    ORDER BY id DESC LIMIT 1`;
  return last?.step === 'mutate' && last.strategy === 'rename' ? String(last.run_id) : undefined;
}

/** What the way back did to Prisma's history: the row a run's Prisma step added, and its folder. */
export interface PrismaUndone {
  folder: string; // the migration folder the step wrote in the app's prisma/migrations (left there)
  removedRow: boolean; // its _prisma_migrations row, added by the toolkit, removed with the relabel
}

/**
 * The _prisma_migrations row that a Prisma step added after run `runId`'s relabel (the journal
 * keeps its folder and checksum), deleted in the inverse's transaction: the history says again
 * what the database is. A row the toolkit did not add, or that changed since, stays.
 */
async function forgetPrismaRow(tx: Tx, m: Migration, runId: string): Promise<PrismaUndone | undefined> {
  const [p] = await tx`
    SELECT detail FROM breaking_migrations.journal
    WHERE migration = ${m.id} AND step IN ('prisma-row', 'prisma') AND event = 'done'
      AND id > (SELECT max(id) FROM breaking_migrations.journal
                WHERE run_id = ${runId} AND step = 'mutate' AND event = 'done')
    ORDER BY (detail ->> 'addedRow')::boolean DESC NULLS LAST, id DESC LIMIT 1`;
  const d = p?.detail as { folder?: string; checksum?: string; addedRow?: boolean } | undefined;
  if (!d?.folder) return undefined;
  if (!d.addedRow || !(await tableExists(tx, '_prisma_migrations'))) return { folder: d.folder, removedRow: false };
  const gone = await tx`DELETE FROM _prisma_migrations WHERE migration_name = ${basename(d.folder)}
                        AND checksum = ${d.checksum ?? ''} AND rolled_back_at IS NULL`;
  return { folder: d.folder, removedRow: gone.count > 0 };
}

/**
 * Undo run `runId`'s relabel. Refuses (exit 2, nothing changed) when the labels are not those the
 * rename left, or when rows hold a label the old type has no name for (MANAGER), naming them.
 */
export async function undoRename(
  sql: Sql,
  m: Migration,
  runId: string,
  opts: { lockTimeout?: string; log?: (l: string) => void } = {},
): Promise<VerifyReport & { prisma?: PrismaUndone }> {
  const file = (f: string) => readFileSync(migrationPath(m.id, `${f}.sql`), 'utf8');
  const open = await openRun(sql, m.id);
  let prisma: PrismaUndone | undefined;
  try {
    const report = await verify(sql, m, {
      lockTimeout: opts.lockTimeout,
      log: opts.log,
      mutation: {
        sql: file('rename_inverse'),
        updatesRows: false,
        counts: file('rename_facts'),
        invariants: file('rename_inverse_invariants'),
      },
      beforeCommit: async (tx, r) => {
        const versions = [...m.expandVersions, ...m.contractVersions];
        await tx`DELETE FROM breaking_migrations.schema_migrations WHERE version IN ${tx(versions)}`;
        prisma = await forgetPrismaRow(tx, m, runId);
        const detail = {
          strategy: 'rename',
          proof: 'catalog',
          undoes: runId,
          before: r.before,
          after: r.after,
          prisma,
        };
        await record(tx, { runId, migration: m.id, step: 'rollback', event: 'done', detail });
        // A failed run that is still open is over: the next `make migrate-NNNN` starts afresh.
        if (open?.runId === runId)
          await record(tx, { runId, migration: m.id, step: 'finish', event: 'failed', detail: { rolledBack: true } });
      },
    });
    return { ...report, prisma };
  } catch (err) {
    const e = err as { code?: string; message: string; hint?: string };
    // The inverse's own refusals (RAISE in rename_inverse.sql) come before any change.
    if (e.code === 'P0001') throw new Refusal(`${e.message}.`, e.hint ?? `Check \`make status MIGRATION=${m.id}\`.`);
    throw err;
  }
}

/** What the inverse does, from the migration's spec: "EMPLOYEE → USER; MANAGER stays, unused". */
export function describeInverse(id: string): string {
  const spec = readEnumSpec(id);
  if (!spec) return 'rename_inverse.sql';
  const { mapped, newOnes } = renamedAndNew(spec);
  return [
    Object.entries(mapped)
      .map(([a, b]) => `${b} → ${a}`)
      .join(', '),
    ...(newOnes.length ? [`${newOnes.join(', ')} kept in the type, unused`] : []),
  ].join('; ');
}

/** The line about a dump taken before the window: what restoring it would lose, and the way back that keeps it. */
export function describeWritesSince(w: ReturnType<typeof writesSince>, id: string): string {
  const top = Object.entries(w.tables)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([t, n]) => `${t} ${n}`);
  const unmeasured = w.unmeasured.length ? `; not measured: ${w.unmeasured.join(', ')}` : '';
  const lost = w.total
    ? `restoring it would lose the ${w.total} row writes made since (${top.join(', ')})`
    : 'no row written since, so far'; // statistics may still be on their way: see below
  return (
    `dump taken before the window, while the app ran: ${lost}${unmeasured} (pg_stat_user_tables; a ` +
    `session's last second may count late); the way back that keeps every write: ` +
    `\`make rollback MIGRATION=${id}\``
  );
}

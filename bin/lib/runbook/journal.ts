// Access to the runbook's journal (sql/journal*.sql), a table in the target database.
import { readSql } from '../connection/config.js';
import { tableExists, type Sql, type Tx } from '../connection/db.js';

export interface OpenRun {
  runId: string;
  done: Record<string, Record<string, unknown>>;
}

export async function ensureJournal(sql: Sql): Promise<void> {
  await sql.unsafe(readSql('journal.sql'));
}

export const hasJournal = (sql: Sql) => tableExists(sql, 'breaking_migrations.journal');

/** The unfinished run of this migration, if any (read-only; no journal table → none). */
export async function openRun(sql: Sql, migration: string): Promise<OpenRun | undefined> {
  if (!(await hasJournal(sql))) return undefined;
  const [row] = await sql.unsafe(readSql('journal_open_run.sql'), [migration]);
  return row ? { runId: String(row.run_id), done: row.done as OpenRun['done'] } : undefined;
}

/** The detail of a step in the latest finished run (for checks after the fact). */
export async function lastFinished(
  sql: Sql,
  migration: string,
  step: string,
): Promise<Record<string, unknown> | undefined> {
  if (!(await hasJournal(sql))) return undefined;
  const [row] = await sql`
    SELECT detail FROM breaking_migrations.journal
    WHERE migration = ${migration} AND step = ${step} AND event = 'done'
      AND run_id IN (SELECT run_id FROM breaking_migrations.journal
                     WHERE migration = ${migration} AND step = 'finish' AND event = 'done')
    ORDER BY id DESC LIMIT 1`;
  return row?.detail as Record<string, unknown> | undefined;
}

/**
 * Records a step done by hand after a run (`make prisma-NNNN` alone) in the latest run that
 * mutated the migration's data, finished or not: a finished run stays finished, an open one (its
 * own prisma step failed) has that step done when it resumes, and that run's way back (`make
 * rollback`) finds it. No journal or no such run: nothing recorded, false.
 */
export async function recordInLatestRun(
  tx: Sql | Tx,
  e: { migration: string; step: string; detail: unknown },
): Promise<boolean> {
  if (!(await tableExists(tx, 'breaking_migrations.journal'))) return false;
  const [run] = await tx`SELECT run_id FROM breaking_migrations.journal
                         WHERE migration = ${e.migration} AND step = 'mutate' AND event = 'done'
                         ORDER BY id DESC LIMIT 1`;
  if (!run) return false;
  await record(tx, {
    runId: String(run.run_id),
    migration: e.migration,
    step: e.step,
    event: 'done',
    detail: e.detail,
  });
  return true;
}

export async function record(
  sql: Sql | Tx,
  e: {
    runId: string;
    migration: string;
    step: string;
    event: 'start' | 'done' | 'failed';
    seconds?: number;
    detail?: unknown;
  },
): Promise<void> {
  await sql`INSERT INTO breaking_migrations.journal (run_id, migration, step, event, seconds, detail)
            VALUES (${e.runId}, ${e.migration}, ${e.step}, ${e.event}, ${e.seconds ?? null},
                    ${sql.json((e.detail ?? {}) as never)})`;
}

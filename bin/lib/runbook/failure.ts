// What a failed run says: the step, the cause, the state, and the way back (or AUTO_RESTORE).
import type { Target } from '../connection/target.js';
import type { Settings } from '../connection/config.js';
import type { Sql } from '../connection/db.js';
import { openRun, record } from './journal.js';
import type { Migration } from './migration.js';
import { Refusal } from '../connection/refusal.js';
import { describeLost, isLostConnection } from '../connection/lost-server.js';
import { dbState } from './runbook.js';
import { failedItsCheck, restore } from '../backup/restore.js';
import { maintenanceStatus, onSince } from '../maintenance/mode.js';

export class RunFailed extends Refusal {}

export interface FailureContext {
  sql: Sql;
  target: Target;
  m: Migration;
  s: Settings;
  runId: string;
  step: string;
  dumpPath?: string;
  autoRestore?: boolean;
  log: (l: string) => void;
  resumed?: boolean; // the run was open before this attempt: it may already have changed data
  /** The strategy's verified inverse (STRATEGY=rename): the way back instead of its pre-window dump. */
  inverse?: () => Promise<void>;
}

/** Stop, keep maintenance ON, say where the database stands and how to go back. Always throws. */
export async function failed(err: unknown, c: FailureContext): Promise<never> {
  const cause = isLostConnection(err) ? describeLost(err) : ((err as Error).message?.split('\n')[0] ?? String(err));
  await record(c.sql, { runId: c.runId, migration: c.m.id, step: c.step, event: 'failed', detail: { cause } }).catch(
    () => {},
  );
  if (c.step === 'preflight') {
    if (c.resumed) {
      // A resumed run may have changed data already: it stays open with its dump, so that the
      // next attempt resumes it and the way back (its first dump) is never lost.
      const back = c.dumpPath ? `; its way back stays ${c.dumpPath}` : '';
      throw new Refusal(
        `${(err as Error).message.replace(/\.$/, '')} (run ${c.runId} stays open${back}).`,
        `${(err as Refusal).next ? `${(err as Refusal).next} ` : ''}Then \`make migrate-${c.m.id}\` resumes it.`,
        (err as Refusal).exitCode ?? 2,
      );
    }
    // Refused before any change: the run is over, and the next one starts afresh (not "resuming").
    await record(c.sql, {
      runId: c.runId,
      migration: c.m.id,
      step: 'finish',
      event: 'failed',
      detail: { refused: cause },
    }).catch(() => {});
    throw err;
  }
  const where = async () => {
    const st = await dbState(c.target, c.m).catch(() => undefined);
    const open = await openRun(c.sql, c.m.id).catch(() => undefined);
    const mutated = Boolean(open?.done.mutate);
    return {
      st,
      mutated,
      text: !st
        ? 'unknown (the server did not answer)'
        : st.contracted
          ? 'contracted'
          : mutated
            ? 'mutated (expanded, data changed, not contracted)'
            : st.expanded
              ? 'expanded (schema only, data unchanged)'
              : 'untouched',
    };
  };
  const sinceText = (since?: string) =>
    since
      ? ` (since ${since.slice(11, 19)} UTC: the site has been in maintenance ` +
        `${Math.round((Date.now() - Date.parse(since)) / 1000)} s)`
      : '';
  // Read back, never assumed: a step that failed before the lock was written left nothing ON.
  const maintenance = async () => {
    const m = await maintenanceStatus(c.s, c.target).catch(() => undefined);
    if (!m) {
      // The server may be restarting: the lock file can still be read without it.
      const locks = await maintenanceStatus({ ...c.s, dbGuard: false }).catch(() => undefined);
      if (!locks) return 'maintenance: unknown (the lock and the guard could not be read back)';
      return locks.on
        ? `maintenance stays ON for visitors (the lock${sinceText(onSince(locks))}); ` +
            'the database guard could not be read back (the server did not answer)'
        : 'maintenance: the lock is OFF; the database guard could not be read back (the server did not answer)';
    }
    if (m.on) return `maintenance stays ON${sinceText(onSince(m))}`;
    return m.partial
      ? 'maintenance is PARTIAL (`make maintenance-status` says which part is ON)'
      : 'maintenance is OFF; nothing needs undoing';
  };
  const before = await where();
  const lines: string[] = [];
  const changed = before.mutated || before.st?.contracted;
  // A rename's way back is its inverse (every write kept): its dump, taken while the app still
  // ran, would lose the writes made since.
  const inverse = changed ? c.inverse : undefined;
  const reopen =
    'check the data, then `make maintenance-off` to reopen the site; ' +
    `or fix the cause and \`make migrate-${c.m.id}\`: it starts afresh`;
  if (inverse && c.autoRestore) {
    c.log('  AUTO_RESTORE=1: undoing the relabel in the catalog (rename_inverse.sql), every write kept');
    await inverse();
    const after = await where();
    lines.push(
      `state after the way back: ${after.text}; the relabel is undone, proved, no row written; ` +
        `${await maintenance()}`,
      reopen,
    );
  } else if (c.dumpPath && c.autoRestore && changed) {
    c.log(`  AUTO_RESTORE=1: restoring ${c.dumpPath}`);
    const r = await restore(c.target, c.s, c.dumpPath, { log: c.log }).catch((e: Error) => e);
    if (r instanceof Error) {
      // Rolled back (or refused): the database is still as the failed step left it.
      lines.push(
        `state: ${before.text}; AUTO_RESTORE=1 did not restore: ${r.message}; ${await maintenance()}`,
        // the dump itself is at fault when its data is not what its manifest counted
        failedItsCheck(r.message)
          ? 'back to the data before this run: not from this dump; an earlier one (`make backups`) loses writes'
          : `back to the data before this run, once that is fixed: make restore DUMP=${c.dumpPath}`,
        `or fix the cause and run \`make migrate-${c.m.id}\` again: it resumes`,
      );
    } else {
      // The restore brought back the journal as dumped too: this run is closed, the next starts afresh.
      await record(c.sql, {
        runId: c.runId,
        migration: c.m.id,
        step: 'finish',
        event: 'failed',
        detail: { restored: c.dumpPath },
      }).catch(() => {});
      const after = await where();
      lines.push(
        `state after the restore: ${after.text}; restored ${c.dumpPath} ` +
          `(${r.countsMatch ? 'row counts match the dump' : 'no manifest to check its row counts'}); ` +
          `${await maintenance()}`,
        reopen,
      );
    }
  } else {
    lines.push(`state: ${before.text}; ${await maintenance()}`);
    if (inverse) {
      const pre = c.dumpPath ? `; ${c.dumpPath} was taken before the window and would lose the writes made since` : '';
      lines.push(`back to the data before this run, every write kept: make rollback MIGRATION=${c.m.id}${pre}`);
    } else if (c.dumpPath) lines.push(`back to the data before this run: make restore DUMP=${c.dumpPath}`);
    lines.push(`or fix the cause and run \`make migrate-${c.m.id}\` again: it resumes`);
  }
  lines.push('a session that may write while the guard holds the database read-only: `make psql`');
  throw new RunFailed(`migrate-${c.m.id}: step ${c.step} failed: ${cause}`, lines.join('\n  '), 1);
}

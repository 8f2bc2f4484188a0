// The database side of the lock file, for replicas that cannot see the lock folder (other Swarm
// nodes): a row in breaking_migrations.maintenance while ON (sql/maintenance_flag.sql).
import { readSql } from '../connection/config.js';
import { tableExists, withSql } from '../connection/db.js';
import type { LockContent } from './lockfile.js';
import type { Target } from '../connection/target.js';

const FLAG_TABLE = 'breaking_migrations.maintenance';

/** Records maintenance ON (keeping the first `since`), committed before the caller's guard goes on. */
export async function setFlag(target: Target, lock: LockContent & { message?: string }): Promise<void> {
  await withSql(target, async (sql) => {
    await sql.unsafe(readSql('maintenance_flag.sql'));
    await sql`INSERT INTO breaking_migrations.maintenance (since, retry_after, message, reason, by_whom)
              VALUES (${lock.since}, ${lock.retryAfter}, ${lock.message ?? null}, ${lock.reason}, ${lock.by})
              ON CONFLICT (id) DO UPDATE SET retry_after = EXCLUDED.retry_after, message = EXCLUDED.message,
                                             reason = EXCLUDED.reason, by_whom = EXCLUDED.by_whom`;
  });
}

/** Clears it (after the guard is lifted). */
export async function clearFlag(target: Target): Promise<boolean> {
  return withSql(target, async (sql) => {
    if (!(await tableExists(sql, FLAG_TABLE))) return false;
    return (await sql`DELETE FROM breaking_migrations.maintenance`).count > 0;
  });
}

export async function flagState(target: Target): Promise<boolean> {
  return withSql(target, async (sql) => {
    if (!(await tableExists(sql, FLAG_TABLE))) return false;
    return (await sql`SELECT 1 FROM breaking_migrations.maintenance`).length > 0;
  });
}

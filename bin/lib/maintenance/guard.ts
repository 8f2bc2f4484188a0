// The database side of maintenance mode (sql/guard_*.sql): ordinary sessions become read-only.
import { readSql } from '../connection/config.js';
import { withSql } from '../connection/db.js';
import type { Target } from '../connection/target.js';

export interface GuardState {
  database: string;
  readOnly: boolean;
}

export async function guardState(target: Target): Promise<GuardState> {
  return withSql(target, async (sql) => {
    const [r] = await sql.unsafe(readSql('guard_state.sql'));
    return { database: String(r.database), readOnly: Boolean(r.read_only) };
  });
}

/** Turns the guard on or off and ends the other sessions; returns how many were ended. */
export async function setGuard(target: Target, on: boolean): Promise<{ database: string; ended: number }> {
  return withSql(target, async (sql) => {
    await sql.unsafe(readSql(on ? 'guard_on.sql' : 'guard_off.sql'));
    const [r] = await sql.unsafe(readSql('end_other_sessions.sql'));
    const [{ database }] = await sql`SELECT current_database() AS database`;
    return { database: String(database), ended: Number(r.ended) };
  });
}

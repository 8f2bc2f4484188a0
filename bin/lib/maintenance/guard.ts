// The database side of maintenance mode (sql/guard_*.sql): ordinary sessions become read-only.
import { readSql } from '../connection/config.js';
import { withSql, type Sql } from '../connection/db.js';
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

/** Sessions of a role the guard's role may not end (sql/end_other_sessions.sql's not_ended). */
export interface NotEnded {
  role: string;
  superuser: boolean;
  sessions: number;
}

export interface GuardSet {
  database: string;
  me: string; // the role the guard ran as
  ended: number;
  notEnded: NotEnded[];
}

/** The other sessions the guard would end, ended when `end`; those it may not end, per role. */
export async function endOtherSessions(sql: Sql, end: boolean): Promise<{ ended: number; notEnded: NotEnded[] }> {
  const [r] = await sql.unsafe(readSql('end_other_sessions.sql'), [end]);
  return { ended: Number(r.ended), notEnded: r.not_ended as NotEnded[] };
}

/** Turns the guard on or off and ends the other sessions it may; returns how many, and those left. */
export async function setGuard(target: Target, on: boolean): Promise<GuardSet> {
  return withSql(target, async (sql) => {
    await sql.unsafe(readSql(on ? 'guard_on.sql' : 'guard_off.sql'));
    const sessions = await endOtherSessions(sql, true);
    const [{ database, me }] = await sql`SELECT current_database() AS database, current_user AS me`;
    return { database: String(database), me: String(me), ...sessions };
  });
}

/**
 * Why the guard cannot hold: another role's sessions it may not end would keep their read-write
 * default through the window. A superuser's sessions are the DBA's, not the app's: noted, not fatal.
 */
export function unendable(notEnded: NotEnded[], me: string): { problem?: string; note?: string } {
  const each = (l: NotEnded[]) => l.map((n) => `${n.sessions} of role ${n.role}`).join(', ');
  const app = notEnded.filter((n) => !n.superuser);
  const sup = notEnded.filter((n) => n.superuser);
  return {
    ...(app.length && {
      problem:
        `role ${me} may not end the database's other sessions (${each(app)}), which the write guard ends so ` +
        `that they reconnect read-only: GRANT pg_signal_backend TO ${me} (as a superuser), or set DB_GUARD=0`,
    }),
    ...(sup.length && {
      note:
        `a superuser's sessions left open (${each(sup)}): role ${me} may not end them, ` +
        'and the guard does not hold them',
    }),
  };
}

/** Before maintenance-on writes anything: whether the guard could end every session it must. */
export async function guardPrecheck(target: Target): Promise<{ problem?: string; note?: string }> {
  return withSql(target, async (sql) => {
    const [{ me }] = await sql`SELECT current_user AS me`;
    return unendable((await endOtherSessions(sql, false)).notEnded, String(me));
  });
}

/** After the guard is off: sessions it may not end keep a read-only default opened in the window. */
export function leftReadOnly(notEnded: NotEnded[], me: string): string | undefined {
  const app = notEnded.filter((n) => !n.superuser);
  if (!app.length) return undefined;
  return (
    `${app.map((n) => `${n.sessions} session(s) of role ${n.role}`).join(', ')} not ended: role ${me} may not ` +
    `end them; any opened during maintenance stays read-only until it reconnects (GRANT pg_signal_backend TO ${me})`
  );
}

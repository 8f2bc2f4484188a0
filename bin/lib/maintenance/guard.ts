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
  wasOn: boolean; // the guard was ON already (an earlier attempt): sessions opened since are read-only
  ended: number;
  notEnded: NotEnded[];
}

/** The other sessions the guard would end, ended when `end`; those it may not end, per role; its role. */
export async function endOtherSessions(
  sql: Sql,
  end: boolean,
): Promise<{ me: string; ended: number; notEnded: NotEnded[] }> {
  const [r] = await sql.unsafe(readSql('end_other_sessions.sql'), [end]);
  return { me: String(r.me), ended: Number(r.ended), notEnded: r.not_ended as NotEnded[] };
}

/** Turns the guard on or off and ends the other sessions it may; returns how many, and those left. */
export async function setGuard(target: Target, on: boolean): Promise<GuardSet> {
  return withSql(target, async (sql) => {
    const [{ database, read_only: wasOn }] = await sql.unsafe(readSql('guard_state.sql'));
    await sql.unsafe(readSql(on ? 'guard_on.sql' : 'guard_off.sql'));
    return { database: String(database), wasOn: Boolean(wasOn), ...(await endOtherSessions(sql, true)) };
  });
}

/** A role's name as SQL writes it: quoted unless it is a plain lower-case identifier. */
export const ident = (name: string) => (/^[a-z_][a-z0-9_$]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);

/** "1 of role app, 2 of role x" */
export const describeNotEnded = (l: NotEnded[]) => l.map((n) => `${n.sessions} of role ${ident(n.role)}`).join(', ');

/** The statement that lets `me` end another role's sessions. */
export const signalGrant = (me: string) => `GRANT pg_signal_backend TO ${ident(me)}`;

/**
 * Why the guard cannot hold: another role's sessions it may not end would keep their read-write
 * default through the window. A superuser's sessions (a DBA's, or a superuser's background
 * workers, which a role without pg_read_all_stats cannot tell from sessions) are noted, not fatal.
 */
export function unendable(notEnded: NotEnded[], me: string): { problem?: string; note?: string } {
  const app = notEnded.filter((n) => !n.superuser);
  const sup = notEnded.filter((n) => n.superuser);
  return {
    ...(app.length && {
      problem:
        `role ${ident(me)} may not end the database's other sessions (${describeNotEnded(app)}), which the ` +
        `write guard ends so that they reconnect read-only: ${signalGrant(me)} (as a superuser), or set DB_GUARD=0`,
    }),
    ...(sup.length && {
      note:
        `a superuser's sessions left open (${describeNotEnded(sup)}): role ${ident(me)} may not end them, ` +
        'and the guard does not hold them',
    }),
  };
}

/**
 * Whether the guard could end every session it must, before anything is written. Even with the
 * guard ON already: a role that may not end a session cannot see whether it opened read-only.
 */
export async function sessionsPrecheck(sql: Sql): Promise<{ problem?: string; note?: string }> {
  const { me, notEnded } = await endOtherSessions(sql, false);
  return unendable(notEnded, me);
}

/** After the guard is off: sessions it may not end keep a read-only default opened in the window. */
export function leftReadOnly(notEnded: NotEnded[], me: string): string | undefined {
  if (!notEnded.length) return undefined;
  return (
    `${describeNotEnded(notEnded)} not ended: role ${ident(me)} may not end them; any opened during ` +
    `maintenance stays read-only until it reconnects (${signalGrant(me)}, as a superuser)`
  );
}

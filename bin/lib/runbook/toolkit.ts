// The toolkit's functions (db/toolkit/) are this package's code, kept in the database. dbmate
// records their files once, so a database that got them from an earlier release keeps that
// release's functions after an upgrade: an older swap_enum, or a signature that changed beside
// the new one, which makes the new preflight's calls ambiguous. Before a step uses them, the
// ones in the database are compared with this release's and, when they differ, replaced.
import type { Sql, Tx } from '../connection/db.js';
import { readSql } from '../connection/config.js';
import { toolkitUpSql } from './migration.js';
import { Refusal } from '../connection/refusal.js';

class Rollback extends Error {}

/** Runs fn with this release's toolkit functions loaded, in a transaction that is always rolled back. */
export async function withToolkitRolledBack<T>(sql: Sql, fn: (tx: Tx) => Promise<T>): Promise<T> {
  let value: T | undefined;
  await sql
    .begin(async (tx) => {
      await loadToolkit(tx);
      value = await fn(tx);
      throw new Rollback();
    })
    .catch((err) => (err instanceof Rollback ? undefined : refuseNotOwner(sql, err)));
  return value as T;
}

/**
 * This release's definitions, in the caller's transaction. Its DROPs wait for sessions using the
 * view or the functions; a bounded wait (a resumed run may replace them with maintenance ON).
 */
async function loadToolkit(tx: Tx): Promise<void> {
  await tx`SELECT set_config('lock_timeout', '10s', true)`;
  await tx.unsafe(toolkitUpSql());
}

type Fingerprint = { fingerprint: string | null; installed: boolean };

const fingerprint = async (sql: Sql | Tx): Promise<Fingerprint> =>
  ((await sql.unsafe(readSql('toolkit_fingerprint.sql'))) as unknown as Fingerprint[])[0];

/** The toolkit's functions here: none, this release's, or another release's. */
export async function toolkitHere(sql: Sql): Promise<'absent' | 'current' | 'other'> {
  const here = await fingerprint(sql);
  if (here.fingerprint === (await withToolkitRolledBack(sql, fingerprint)).fingerprint) return 'current';
  return here.installed ? 'other' : 'absent';
}

/** What ensureToolkit did: nothing (this release's were there), installed them, or replaced another release's. */
export type ToolkitState = 'current' | 'installed' | 'replaced' | 'absent';

/**
 * Makes the database's toolkit functions this release's, in one transaction; changes nothing when
 * they are. With install: false, only replaces them (a database without them stays without).
 */
export async function ensureToolkit(sql: Sql, opts: { install?: boolean } = {}): Promise<ToolkitState> {
  const here = await toolkitHere(sql);
  if (here === 'current' || (here === 'absent' && opts.install === false)) return here;
  await sql.begin(loadToolkit).catch((err) => refuseNotOwner(sql, err));
  return here === 'other' ? 'replaced' : 'installed';
}

/** Another role's functions (an earlier run as a superuser, say): their owner or the schema's may replace them. */
async function refuseNotOwner(sql: Sql, err: { code?: string; message?: string }): Promise<never> {
  if (err.code !== '42501' || !/must be owner of/.test(err.message ?? '')) throw err;
  const [o] = await sql`
    SELECT pg_get_userbyid(p.proowner) AS owner, current_user AS me FROM pg_proc p
    WHERE p.pronamespace = to_regnamespace('breaking_migrations')
      AND NOT pg_has_role(current_user, p.proowner, 'USAGE')
      AND NOT pg_has_role(current_user, (SELECT nspowner FROM pg_namespace WHERE nspname = 'breaking_migrations'),
                          'USAGE') LIMIT 1`;
  if (!o) throw err;
  throw new Refusal(
    `toolkit: the toolkit's functions here are owned by role ${o.owner}, which role ${o.me} may not ` +
      `replace, nor load this release's over them (${err.message}); nothing changed.`,
    `As a superuser (or the schema's owner): ALTER SCHEMA breaking_migrations OWNER TO ${o.me}; then run it again.`,
  );
}

/**
 * ensureToolkit for a step about to use the functions, saying on `log` when it replaced another
 * release's. Without `install`, a database that has none is left to dbmate (expand installs them).
 */
export async function ensureToolkitSaying(
  sql: Sql,
  log: (line: string) => void,
  opts: { install?: boolean } = {},
): Promise<void> {
  if ((await ensureToolkit(sql, { install: opts.install ?? false })) === 'replaced')
    log("  Replaced: another release's toolkit functions (schema breaking_migrations), by this release's");
}

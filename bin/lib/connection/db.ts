// postgres.js connections for the toolkit's own sessions. They opt in to writing, so the
// maintenance guard (database default read-only) does not stop the migration itself.
import postgres from 'postgres';
import { postgresOptions, type Target } from './target.js';
import { track } from './lost-server.js';

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;

export function connect(target: Target, opts: { max?: number; appName?: string } = {}): Sql {
  const base = postgresOptions(target, opts.appName ?? 'breaking-migrations');
  return track(
    postgres({
      ...base,
      max: opts.max ?? 1,
      onnotice: () => {},
      connection: {
        ...base.connection,
        // A string on purpose: postgres.js drops falsy startup parameters, so `false` would
        // silently send nothing and the session would start read-only under the guard.
        default_transaction_read_only: 'off' as unknown as boolean,
      },
    }),
  );
}

/** Does this table exist (as the session's search_path resolves its name)? */
export async function tableExists(sql: Sql | Tx, name: string): Promise<boolean> {
  const [r] = await sql`SELECT to_regclass(${name}) IS NOT NULL AS present`;
  return Boolean(r.present);
}

/** Run fn with a connection and always close it. */
export async function withSql<T>(
  target: Target,
  fn: (sql: Sql) => Promise<T>,
  opts?: { appName?: string },
): Promise<T> {
  const sql = connect(target, opts);
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

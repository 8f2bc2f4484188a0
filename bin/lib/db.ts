// postgres.js connections for the toolkit's own sessions. They opt in to writing, so the
// maintenance guard (database default read-only) does not stop the migration itself.
import postgres from 'postgres';

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;

export function connect(url: string, opts: { max?: number; appName?: string } = {}): Sql {
  return postgres(url, {
    max: opts.max ?? 1,
    onnotice: () => {},
    connect_timeout: 10,
    connection: {
      application_name: opts.appName ?? 'breaking-migrations',
      // A string on purpose: postgres.js drops falsy startup parameters, so `false` would
      // silently send nothing and the session would start read-only under the guard.
      default_transaction_read_only: 'off' as unknown as boolean,
    },
  });
}

/** Run fn with a connection and always close it. */
export async function withSql<T>(url: string, fn: (sql: Sql) => Promise<T>, opts?: { appName?: string }): Promise<T> {
  const sql = connect(url, opts);
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

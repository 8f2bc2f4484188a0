// One configuration story: environment variables, plus a `.env` file in the working directory
// (the same file dbmate reads). Real environment variables win over the file. Only commands
// read .env (see loadDotEnv): the tests never pick up a .env aimed at production.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Refusal } from './refusal.js';

export function loadDotEnv(): void {
  if (existsSync('.env')) process.loadEnvFile('.env');
}

/** The target database, or a one-line refusal naming the fix. */
export function databaseUrl(command: string): string {
  const url = process.env.DATABASE_URL;
  if (!url) {
    throw new Refusal(
      `${command}: DATABASE_URL is not set.`,
      'Put DATABASE_URL=postgres://user@host:5432/db?sslmode=disable in .env or the environment.',
    );
  }
  try {
    const parsed = new URL(url);
    if (!/^postgres(ql)?:$/.test(parsed.protocol)) throw new Error('scheme');
  } catch {
    throw new Refusal(
      `${command}: DATABASE_URL is not a postgres:// URL (${redact(url)}).`,
      'Write it as postgres://user:password@host:5432/database?sslmode=disable.',
    );
  }
  return url;
}

/** The URL with its password masked: the only form of a URL we ever print. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '*****';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

/** The database name a URL points at. */
export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.replace(/^\//, '')) || 'postgres';
}

/** The same server, another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = '/' + encodeURIComponent(database);
  return u.toString();
}

/**
 * The toolkit's own sessions opt back in to writing while the maintenance guard holds the
 * database read-only (`default_transaction_read_only = on`). dbmate (lib/pq) sends unknown URL
 * parameters to the server as run-time settings, so the opt-in rides on the URL.
 */
export function writableUrl(url: string): string {
  const u = new URL(url);
  u.searchParams.set('default_transaction_read_only', 'off');
  // The guard ends every other session but the toolkit's own, known by this name.
  u.searchParams.set('application_name', 'breaking-migrations-dbmate');
  return u.toString();
}

/**
 * libpq environment for pg_dump / pg_restore / psql: credentials travel in the environment,
 * never on a command line where `ps` would show them.
 */
export function libpqEnv(url: string, opts: { writable?: boolean } = {}): Record<string, string> {
  const u = new URL(url);
  const env: Record<string, string> = {
    PGHOST: decodeURIComponent(u.hostname.replace(/^\[|\]$/g, '')) || 'localhost',
    PGPORT: u.port || '5432',
    PGDATABASE: databaseName(url),
  };
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  const host = u.searchParams.get('host');
  if (host) env.PGHOST = host;
  const sslmode = u.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  if (opts.writable) env.PGOPTIONS = '-c default_transaction_read_only=off';
  env.PGAPPNAME = 'breaking-migrations-tools'; // spared by the guard (sql/end_other_sessions.sql)
  return env;
}

/** A path inside the repository, whatever the working directory. */
export function repoPath(...parts: string[]): string {
  return join(fileURLToPath(new URL('../..', import.meta.url)), ...parts);
}

/** The text of a file under sql/. */
export function readSql(name: string): string {
  return readFileSync(repoPath('sql', name), 'utf8');
}

/** Settings beyond DATABASE_URL, read once per command (see the README's table). */
export interface Settings {
  maintenanceDir: string; // where enabled.lock lives (inside the app container when one is named)
  backupDir: string;
  appContainer?: string;
  appService?: string;
  pgContainer?: string;
  dbGuard: boolean;
  dumpCompress: number; // pg_dump -Z: 1 is ~30% faster than the default 6 for ~10% more bytes (make bench)
}

export function settings(env: NodeJS.ProcessEnv = process.env): Settings {
  const inContainer = Boolean(env.APP_CONTAINER || env.APP_SERVICE);
  return {
    maintenanceDir: env.MAINTENANCE_DIR || (inContainer ? '/app/maintenance' : 'maintenance'),
    backupDir: env.BACKUP_DIR || 'backups',
    appContainer: env.APP_CONTAINER || undefined,
    appService: env.APP_SERVICE || undefined,
    pgContainer: env.PG_CONTAINER || undefined,
    dbGuard: Boolean(env.DATABASE_URL) && env.DB_GUARD !== '0',
    dumpCompress: /^[0-9]$/.test(env.DUMP_COMPRESS ?? '') ? Number(env.DUMP_COMPRESS) : 1,
  };
}

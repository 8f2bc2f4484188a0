// One configuration story: environment variables, plus a `.env` file in the working directory
// (the same file dbmate reads). Real environment variables win over the file. Only commands
// read .env (see loadDotEnv): the tests never pick up a .env aimed at production.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Refusal } from './refusal.js';
import { resolveTarget, type Target } from './target.js';

export function loadDotEnv(): void {
  if (existsSync('.env')) process.loadEnvFile('.env');
}

/** DATABASE_URL as a typed Target with its TLS decision made, or a one-line refusal naming the fix. */
export async function connectionTarget(command: string, env: NodeJS.ProcessEnv = process.env): Promise<Target> {
  const url = env.DATABASE_URL;
  if (!url) {
    throw new Refusal(
      `${command}: DATABASE_URL is not set.`,
      "Put DATABASE_URL=postgresql://user:password@host:5432/db in .env or the environment (the app's own URL works).",
    );
  }
  try {
    return await resolveTarget(url);
  } catch (err) {
    if (err instanceof Refusal && !err.message.startsWith(command))
      throw new Refusal(`${command}: ${err.message}`, err.next, err.exitCode);
    throw err;
  }
}

/** A path inside the repository, whatever the working directory. */
export function repoPath(...parts: string[]): string {
  return join(fileURLToPath(new URL('../../..', import.meta.url)), ...parts);
}

/**
 * MIGRATIONS_DIR (default `migrations`, from the working directory): the app's own migrations, one
 * folder per migration (NNNN/expand/, NNNN/contract/ for dbmate, NNNN/*.sql). The toolkit's own SQL
 * (sql/, db/toolkit/) stays in the package; repoPath finds it.
 */
export function migrationsDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.MIGRATIONS_DIR || 'migrations');
}

/** A path inside migration `id`'s folder. */
export function migrationPath(id: string, ...parts: string[]): string {
  return join(migrationsDir(), id, ...parts);
}

/** MIGRATION, or the newest migration of MIGRATIONS_DIR: what the one-step verbs work on. */
export function chosenMigration(command: string, env: NodeJS.ProcessEnv = process.env): string {
  if (env.MIGRATION !== undefined && env.MIGRATION !== '') {
    if (!/^\d{4}$/.test(env.MIGRATION))
      throw new Refusal(
        `${command}: MIGRATION must be four digits, got "${env.MIGRATION}".`,
        'Example: MIGRATION=0002.',
      );
    return env.MIGRATION;
  }
  const dir = migrationsDir(env);
  const ids = existsSync(dir) ? readdirSync(dir).filter((f) => /^\d{4}$/.test(f)) : [];
  if (!ids.length) {
    throw new Refusal(
      `${command}: no migration in ${shownPath(dir)} (MIGRATIONS_DIR), and MIGRATION is not set.`,
      'Write one (make new-enum-migration ID=NNNN …), or run from the repository that holds migrations/.',
    );
  }
  return ids.sort().at(-1) as string;
}

/** A path as messages show it: relative to the working directory when it is inside it. */
export function shownPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
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
  appUser?: string; // the user the app runs as, for the lock's writes (default: the container's own)
  pgContainer?: string;
  pgService?: string; // a Swarm service: the PostgreSQL programs run in its task on this node
  dbGuard: boolean; // DB_GUARD=0 turns it off; it applies where a command has a database target
  appSeenS: number; // APP_SEEN_S: an app instance that reported in the last this many seconds is up
  appCheck: 'warn' | 'require'; // APP_CHECK=require: refuse when no app instance reports its labels
  appCacheMs: number; // APP_LOCK_CACHE_MS: how long the app trusts its last read of the lock (250, the core's)
  appImage?: string; // APP_IMAGE: with APP_SERVICE, the final app's image, shipped inside the window
  appDeployTimeoutS: number; // APP_DEPLOY_TIMEOUT: how long the new image may take to run everywhere (300)
  dumpCompress: number; // pg_dump -Z: 1 is ~30% faster than the default 6 for ~10% more bytes (make bench)
}

export function settings(env: NodeJS.ProcessEnv = process.env): Settings {
  const inContainer = Boolean(env.APP_CONTAINER || env.APP_SERVICE);
  return {
    maintenanceDir: env.MAINTENANCE_DIR || (inContainer ? '/app/maintenance' : 'maintenance'),
    backupDir: env.BACKUP_DIR || 'backups',
    appContainer: env.APP_CONTAINER || undefined,
    appService: env.APP_SERVICE || undefined,
    appUser: env.APP_USER || undefined,
    pgContainer: env.PG_CONTAINER || undefined,
    pgService: env.PG_SERVICE || undefined,
    dbGuard: env.DB_GUARD !== '0',
    appSeenS: /^\d+$/.test(env.APP_SEEN_S ?? '') ? Number(env.APP_SEEN_S) : 60,
    appCheck: env.APP_CHECK === 'require' ? 'require' : 'warn',
    appCacheMs: /^\d+$/.test(env.APP_LOCK_CACHE_MS ?? '') ? Number(env.APP_LOCK_CACHE_MS) : 250,
    appImage: env.APP_IMAGE || undefined,
    appDeployTimeoutS: /^\d+$/.test(env.APP_DEPLOY_TIMEOUT ?? '') ? Number(env.APP_DEPLOY_TIMEOUT) : 300,
    dumpCompress: /^[0-9]$/.test(env.DUMP_COMPRESS ?? '') ? Number(env.DUMP_COMPRESS) : 1,
  };
}

// dbmate owns the SQL migrations. We call its Go binary directly (the npm wrapper exits 0 when
// the binary is killed), hand it the URL through the environment (never argv, so no password in
// `ps`), and keep its bookkeeping table in our own schema so Prisma never sees it.
import { resolveBinary } from 'dbmate';
import { $ } from 'zx';
import { PROGRAM_OPTIONS } from '../connection/programs.js';
import { migrationPath, repoPath } from '../connection/config.js';
import { dbmateUrl, type Target } from '../connection/target.js';

export const MIGRATIONS_TABLE = 'breaking_migrations.schema_migrations';

/** Migration directories, in the order dbmate should see them. */
export const dirs = {
  baseline: [repoPath('db/baseline')],
  toolkit: [repoPath('db/toolkit')],
  expand: (id: string) => [repoPath('db/toolkit'), migrationPath(id, 'expand')],
  all: (id: string) => [...dirs.expand(id), migrationPath(id, 'contract')],
  // Only the migration's own folders: a rollback never reaches the toolkit (or another migration).
  own: (id: string) => [migrationPath(id, 'expand'), migrationPath(id, 'contract')],
};

export interface DbmateResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The exact argv we run (tested on its own). */
export function dbmateArgs(migrationDirs: string[], command: string, extra: string[] = []): string[] {
  return [
    '--no-dump-schema',
    '--migrations-table',
    MIGRATIONS_TABLE,
    ...migrationDirs.flatMap((d) => ['--migrations-dir', d]),
    command,
    ...extra,
  ];
}

export async function dbmate(
  target: Target,
  migrationDirs: string[],
  command: string,
  extra: string[] = [],
): Promise<DbmateResult> {
  const out = await $({
    ...PROGRAM_OPTIONS,
    env: { ...process.env, DATABASE_URL: dbmateUrl(target) },
  })`${resolveBinary()} ${dbmateArgs(migrationDirs, command, extra)}`;
  const result = { exitCode: out.exitCode ?? 1, stdout: out.stdout, stderr: out.stderr };
  if (result.exitCode !== 0) throwIfUnreachable(result.stderr);
  return result;
}

/** dbmate's own error lines (or its last line), without their prefixes and SQLSTATE suffix. */
export function dbmateError(stderr: string): string {
  const lines = stderr.trim().split('\n').filter(Boolean);
  const errors = lines.filter((l) => /^Error: /.test(l));
  const kept = errors.length ? errors : lines.slice(-1);
  return (
    kept.map((l) => l.replace(/^Error: (pq: )?/, '').replace(/ \([0-9A-Z]{5}\)$/, '')).join(' / ') || 'dbmate failed'
  );
}

export interface MigrationFile {
  file: string;
  version: string;
  applied: boolean;
}

/** `dbmate status` for these directories: each migration file, applied or pending. */
export async function dbmateStatus(target: Target, migrationDirs: string[]): Promise<MigrationFile[]> {
  const out = await dbmate(target, migrationDirs, 'status');
  // --exit-code is not used: dbmate exits 0 and lists the files, pending ones as "[ ]".
  if (out.exitCode !== 0) throw new Error(dbmateError(out.stderr));
  return out.stdout
    .split('\n')
    .filter((l) => /^\[[ X]\] /.test(l))
    .map((l) => ({ file: l.slice(4).trim(), version: l.slice(4).split('_')[0], applied: l[1] === 'X' }));
}

/** dbmate's connection failures, as the same coded errors the drivers throw (see cli.explain). */
function throwIfUnreachable(stderr: string): void {
  const codes: [RegExp, string][] = [
    [/connection refused|no such host|i\/o timeout|network is unreachable|no route to host/i, 'ECONNREFUSED'],
    [/password authentication failed|no pg_hba.conf entry/i, '28P01'],
    [/database "[^"]*" does not exist/i, '3D000'],
  ];
  for (const [pattern, code] of codes) {
    if (pattern.test(stderr)) {
      throw Object.assign(new Error(dbmateError(stderr)), { code });
    }
  }
}

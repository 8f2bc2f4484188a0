// A migration is one folder of MIGRATIONS_DIR: NNNN/expand and NNNN/contract (dbmate) and
// NNNN/*.sql (plain SQL the verifier and the runner read). 0002 is only new files.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Refusal } from '../connection/refusal.js';
import { migrationPath, migrationsDir, repoPath, shownPath } from '../connection/config.js';

/** What counts.sql returns: one row of named numbers (per label, per table), compared before and after. */
export type Counts = Record<string, unknown>;
export const SQL_FILES = ['preflight', 'lock', 'counts', 'mutation', 'invariants', 'final_checks'] as const;
export type SqlFile = (typeof SQL_FILES)[number];

export interface Migration {
  id: string; // "0001"
  sql: Record<SqlFile, string>;
  expandVersions: string[];
  contractVersions: string[];
  plan?: string; // NNNN/plan.sql, when the migration has one
}

const versions = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((f) => f.split('_')[0])
    .sort();

export function loadMigration(id: string): Migration {
  if (!/^\d{4}$/.test(id))
    throw new Refusal(`migrate: a migration is four digits, got "${id}".`, 'Example: make migrate-0001.');
  const missing = [
    ...['expand', 'contract'].map((d) => migrationPath(id, d)).filter((p) => !existsSync(p)),
    ...SQL_FILES.map((f) => migrationPath(id, `${f}.sql`)).filter((p) => !existsSync(p)),
  ];
  if (!existsSync(migrationPath(id))) {
    throw new Refusal(
      `migrate: there is no migration ${id} in ${shownPath(migrationsDir())} (MIGRATIONS_DIR).`,
      `Run from the app's repository, set MIGRATIONS_DIR, or write it: make new-enum-migration ID=${id} …`,
    );
  }
  if (missing.length) {
    throw new Refusal(
      `migrate: migration ${id} is incomplete: missing ${missing.map(shownPath).join(', ')}.`,
      `A migration needs ${shownPath(migrationPath(id))}/{expand,contract}/ and {${SQL_FILES.join(',')}}.sql ` +
        '(the README, "Another migration").',
    );
  }
  const sql = Object.fromEntries(
    SQL_FILES.map((f) => [f, readFileSync(migrationPath(id, `${f}.sql`), 'utf8')]),
  ) as Record<SqlFile, string>;
  const plan = migrationPath(id, 'plan.sql');
  return {
    id,
    sql,
    expandVersions: versions(migrationPath(id, 'expand')),
    contractVersions: versions(migrationPath(id, 'contract')),
    plan: existsSync(plan) ? readFileSync(plan, 'utf8') : undefined,
  };
}

/**
 * The parameters a migration's SQL file takes, of those the runner offers: $1 … $n as far as the
 * file uses them (a file that compares nothing may use none; PostgreSQL refuses extra ones).
 */
export function paramsFor(text: string, offered: unknown[]): never[] {
  const used = Math.max(0, ...[...text.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  return offered.slice(0, used) as never[];
}

/** Every dbmate file: the toolkit's and the baseline's (db/), and every migration's expand and contract. */
export function dbmateFiles(): string[] {
  const under = (dir: string): string[] =>
    existsSync(dir)
      ? readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory() ? under(join(dir, e.name)) : [join(dir, e.name)],
        )
      : [];
  const own = existsSync(migrationsDir())
    ? readdirSync(migrationsDir()).flatMap((id) => [
        ...under(migrationPath(id, 'expand')),
        ...under(migrationPath(id, 'contract')),
      ])
    : [];
  return [...under(repoPath('db')), ...own].filter((f) => f.endsWith('.sql'));
}

/** A dbmate file's `-- migrate:up` or `-- migrate:down` section. */
export function migrationSection(text: string, section: 'up' | 'down'): string {
  const up = text.indexOf('-- migrate:up');
  const down = text.indexOf('-- migrate:down');
  if (section === 'down') return down < 0 ? '' : text.slice(down);
  return text.slice(up, down < 0 ? undefined : down);
}

/** The `-- migrate:up` part of the toolkit's migrations, to load its functions in a rolled-back transaction. */
export function toolkitUpSql(): string {
  const dir = repoPath('db', 'toolkit');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => migrationSection(readFileSync(join(dir, f), 'utf8'), 'up'))
    .join('\n');
}

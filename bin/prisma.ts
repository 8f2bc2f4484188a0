#!/usr/bin/env tsx
// make prisma-NNNN: tell Prisma's migration history about an enum migration the toolkit applied,
// the way `prisma migrate dev` + `prisma migrate resolve --applied` would have: a migration folder
// whose migration.sql does the same change on databases built from the earlier migrations, the
// row `resolve --applied` writes in _prisma_migrations, and schema.prisma's enum block.
// Idempotent: never two folders or two rows; a run that stopped half way is finished by another.
import { createHash, randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { main, Refusal, type Command } from './lib/cli/cli.js';
import { connectionTarget, readSql } from './lib/connection/config.js';
import { tableExists, withSql, type Sql, type Tx } from './lib/connection/db.js';
import { loadEnumSpec, type EnumSpec } from './lib/enum/enum-spec.js';
import { prismaMigrationSql, type EnumColumn } from './lib/enum/prisma-migration.js';
import { patchSchemaPrisma, type SchemaPatch } from './lib/enum/prisma-schema.js';
import { withToolkitRolledBack } from './lib/runbook/toolkit.js';
import { record, recordInLatestRun } from './lib/runbook/journal.js';
import type { Target } from './lib/connection/target.js';
import { isMain } from './lib/cli/entry.js';

export interface PrismaInputs {
  spec: EnumSpec;
  dir: string;
  schemaFile: string;
  migrationsDir: string;
  before: string;
  patch: SchemaPatch;
}
export interface PrismaResult {
  folder: string;
  createdFolder: boolean;
  addedRow: boolean;
  checksum: string;
  schema: 'patched' | 'already';
  diff: string;
}

/**
 * Everything that can be checked before the database changes: the folder, schema.prisma's enum
 * block (before or after state), and that the database is a Prisma Migrate one. Refuses (exit 2,
 * nothing written) otherwise.
 */
export async function prismaPreflight(sql: Sql, id: string, prismaDir: string, command: string): Promise<PrismaInputs> {
  const spec = loadEnumSpec(id, command);
  const dir = resolve(prismaDir);
  const schemaFile = join(dir, 'schema.prisma');
  const migrationsDir = join(dir, 'migrations');
  for (const [path, what] of [
    [schemaFile, 'schema.prisma'],
    [migrationsDir, 'migrations/'],
  ] as const) {
    if (!existsSync(path)) {
      throw new Refusal(
        `${command}: PRISMA_DIR=${prismaDir} has no ${what} (${path}).`,
        "Set PRISMA_DIR to the app's prisma/ folder, the one holding schema.prisma and migrations/.",
      );
    }
  }
  const before = readFileSync(schemaFile, 'utf8');
  const patch = patchSchemaPrisma(before, spec);
  if (patch.state === 'refused') {
    throw new Refusal(
      `${command}: ${patch.why}; nothing was written.`,
      `Bring schema.prisma's enum ${spec.type} to ${spec.from.join(', ')} (or ${spec.to.join(', ')}), then run again.`,
    );
  }
  if (!(await tableExists(sql, '_prisma_migrations'))) {
    throw new Refusal(
      `${command}: this database has no _prisma_migrations table: ` +
        'it is not managed by Prisma Migrate; nothing was written.',
      'Check DATABASE_URL (and its ?schema=), or unset PRISMA_DIR for a database Prisma Migrate does not manage.',
    );
  }
  return { spec, dir, schemaFile, migrationsDir, before, patch };
}

/** Prisma's checksum: lowercase hex SHA-256 of the script, CRLF read as LF (see checksumOf's note). */
export function checksumOf(script: string): string {
  // prisma-engines, schema-engine/connectors/schema-connector/src/checksum.rs: render_checksum()
  // is the SHA-256 of the script as hex ({:02x} per byte); script_matches_checksum() also accepts
  // the script with CRLF replaced by LF (and LF by CRLF), "because git messes with line endings".
  return createHash('sha256').update(script.replace(/\r\n/g, '\n')).digest('hex');
}

const utcStamp = (d: Date) => d.toISOString().replace(/\D/g, '').slice(0, 14);

export async function prismaHistory(
  target: Target,
  id: string,
  prismaDir: string,
  opts: { runId?: string; command?: string } = {},
): Promise<PrismaResult> {
  const command = opts.command ?? `prisma-${id}`;
  return withSql(
    target,
    async (sql) => {
      const inputs = await prismaPreflight(sql, id, prismaDir, command);
      const { spec, migrationsDir } = inputs;
      const [{ labels }] = await sql`SELECT (SELECT array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum
                                           WHERE enumtypid = to_regtype(${`"${spec.type}"`})) AS labels`;
      if ((labels ?? []).join(',') !== spec.to.join(',')) {
        const has = (labels ?? []).join(', ') || '(none)';
        throw new Refusal(
          `${command}: "${spec.type}" has labels ${has} in this database, ` +
            `not ${spec.to.join(', ')}: migration ${id} is not applied here; nothing was written.`,
          `Run \`make migrate-${id}\` first (with PRISMA_DIR set it ends with this step).`,
        );
      }

      // The folder: the one an earlier run made, or a new one (written aside, then renamed).
      const suffix = `_${spec.name}`;
      let folder = readdirSync(migrationsDir).find(
        (f) => /^\d{14}_/.test(f) && f.endsWith(suffix) && existsSync(join(migrationsDir, f, 'migration.sql')),
      );
      const createdFolder = !folder;
      if (!folder) {
        const query = (tx: Tx) => tx.unsafe(readSql('prisma_enum_columns.sql'), [`"${spec.type}"`]);
        const columns = (await withToolkitRolledBack(sql, query)) as unknown as EnumColumn[];
        const text = prismaMigrationSql(spec, columns, target.schema ?? 'public', { migration: id, runId: opts.runId });
        folder = `${utcStamp(new Date())}${suffix}`;
        const tmp = mkdtempSync(join(migrationsDir, '.breaking-migrations-'));
        writeFileSync(join(tmp, 'migration.sql'), text);
        renameSync(tmp, join(migrationsDir, folder));
      }
      const checksum = checksumOf(readFileSync(join(migrationsDir, folder, 'migration.sql'), 'utf8'));

      // The row `prisma migrate resolve --applied` writes, once.
      const addedRow = await sql.begin(async (tx) => {
        await tx`LOCK TABLE _prisma_migrations IN SHARE ROW EXCLUSIVE MODE`;
        const [row] = await tx`SELECT 1 FROM _prisma_migrations
                             WHERE migration_name = ${folder!} AND rolled_back_at IS NULL`;
        if (row) return false;
        await tx`INSERT INTO _prisma_migrations
                 (id, checksum, migration_name, logs, rolled_back_at, started_at, finished_at, applied_steps_count)
               VALUES (${randomUUID()}, ${checksum}, ${folder!}, NULL, NULL, now(), now(), 1)`;
        // Journaled with the row, in the run's transaction that adds it (before schema.prisma is
        // written, which may fail): undoing the run (a rename's rollback) removes the row it finds
        // here. Alone: in the run that applied the migration, `by` naming this later command.
        const detail = { folder: join(migrationsDir, folder!), checksum, addedRow: true };
        if (opts.runId)
          await record(tx, { runId: opts.runId, migration: id, step: 'prisma-row', event: 'done', detail });
        else await recordInLatestRun(tx, { migration: id, step: 'prisma-row', detail: { ...detail, by: command } });
        return true;
      });

      let diff = '';
      if (inputs.patch.state === 'patched') {
        const tmp = `${inputs.schemaFile}.breaking-migrations.tmp`;
        writeFileSync(tmp, inputs.patch.text);
        const labels = ['--label', 'a/schema.prisma', '--label', 'b/schema.prisma'];
        const d = spawnSync('diff', ['-u', ...labels, inputs.schemaFile, tmp], { encoding: 'utf8' });
        diff = d.stdout;
        renameSync(tmp, inputs.schemaFile);
      }
      const schema = inputs.patch.state === 'patched' ? 'patched' : 'already';
      // Alone, once done: the run that applied the migration has its prisma step done (an open one
      // whose own step failed then resumes past it). A run's own step is journaled by the run.
      if (!opts.runId && (addedRow || schema === 'patched')) {
        const detail = { folder: join(migrationsDir, folder), checksum, addedRow, by: command };
        await recordInLatestRun(sql, { migration: id, step: 'prisma', detail });
      }
      return { folder: join(migrationsDir, folder), createdFolder, addedRow, checksum, schema, diff };
    },
    { appName: 'breaking-migrations-prisma' },
  );
}

/** One line for a run's output. */
export const describePrisma = (r: PrismaResult) =>
  [
    `${r.createdFolder ? 'wrote' : 'kept'} ${r.folder}/migration.sql`,
    `${r.addedRow ? 'recorded it as applied in' : 'already in'} _prisma_migrations`,
    `schema.prisma ${r.schema === 'patched' ? 'updated' : 'already up to date'}`,
  ].join('; ');

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(args: string[]): Command {
  const id = args[0] ?? '';
  return {
    name: `prisma-${id}`,
    usage: 'usage: breaking-migrations prisma-NNNN   (make prisma-NNNN PRISMA_DIR=prisma)',
    help: `
After migration NNNN is applied (make migrate-NNNN), tells the app's Prisma about it, with
PRISMA_DIR = the app's prisma/ folder (schema.prisma and migrations/):
  - migrations/<UTC yyyymmddHHMMSS>_<name>/migration.sql: the same change, data mapping included,
    for databases built from the earlier migrations (prisma migrate deploy runs it there);
  - the row \`prisma migrate resolve --applied\` writes in _prisma_migrations of DATABASE_URL
    (checksum: SHA-256 of migration.sql, as Prisma computes it), so production never runs it;
  - schema.prisma: the enum block gets the new labels in order, @default(…) follows the mapping;
    the diff is printed; nothing else changes.
Idempotent: a second run adds nothing; a run that stopped half way is finished by another.
Refuses, writing nothing: no schema.prisma or migrations/ in PRISMA_DIR, an enum block in neither
the before nor the after state, no _prisma_migrations table, the migration not applied yet.
Exit codes: 0 done (or nothing to do), 1 failed, 2 refused, 3 unreachable.`,
    async run() {
      const prismaDir = process.env.PRISMA_DIR;
      if (!prismaDir) {
        throw new Refusal(
          `prisma-${id}: PRISMA_DIR is not set.`,
          `Run it as \`make prisma-${id} PRISMA_DIR=path/to/app/prisma\`.`,
        );
      }
      const r = await prismaHistory(await connectionTarget(`prisma-${id}`), id, prismaDir);
      if (r.diff) process.stdout.write(r.diff);
      const commit = r.createdFolder || r.schema === 'patched' ? 'the folder and schema.prisma' : 'nothing new';
      console.log(`prisma-${id}: ${describePrisma(r)}; commit ${commit}`);
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

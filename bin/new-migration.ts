#!/usr/bin/env tsx
// Start a new migration:
//   make new-migration ID=0002 NAME=username     a commented skeleton of every file; each TODO
//                                                refuses to run, so a skeleton can never pass
//   make new-enum-migration ID=0003 TYPE=Plan FROM=FREE,BASIC,PRO TO=FREE,STARTER,PRO MAP=BASIC=STARTER
//                                                a complete enum migration, plain SQL to review
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { main, Refusal, type Command } from './lib/cli/cli.js';
import { migrationPath, migrationsDir, shownPath } from './lib/connection/config.js';
import { enumMigrationFiles, isPureRename } from './lib/enum/enum-migration.js';
import type { EnumSpec } from './lib/enum/enum-spec.js';
import { dbmateFiles, SQL_FILES } from './lib/runbook/migration.js';
import { isMain } from './lib/cli/entry.js';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const bad = (what: string, next: string) => new Refusal(`new-migration: ${what}; nothing was written.`, next, 2);

/** Two dbmate versions from now (UTC), one second apart, that no migration file uses yet. */
function versions(now = new Date()): [string, string] {
  const v = (d: Date) => d.toISOString().replace(/\D/g, '').slice(0, 14);
  const used = new Set(dbmateFiles().map((f) => basename(f).split('_')[0]));
  for (let t = now.getTime(); ; t += 2000) {
    const pair: [string, string] = [v(new Date(t)), v(new Date(t + 1000))];
    if (!used.has(pair[0]) && !used.has(pair[1])) return pair;
  }
}

function checkId(id: string | undefined): string {
  if (!id || !/^\d{4}$/.test(id)) {
    throw bad(`ID must be four digits, got "${id ?? ''}"`, 'Example: make new-migration ID=0002 NAME=username.');
  }
  if (existsSync(migrationPath(id))) {
    throw bad(
      `migration ${id} exists already (${shownPath(migrationPath(id))})`,
      `Pick the next free ID (\`ls ${shownPath(migrationsDir())}\`).`,
    );
  }
  return id;
}

/** Parses and checks an enum change given as TYPE, FROM, TO, MAP (a=x,b=y). */
export function enumSpec(env: Record<string, string | undefined>, stamp = versions()): EnumSpec {
  const type = env.TYPE ?? '';
  if (!IDENT.test(type)) {
    throw bad(
      `TYPE "${type}" is not a valid enum name`,
      'Example: TYPE=Role (letters, digits, _; as in schema.prisma).',
    );
  }
  const list = (name: string) => {
    const labels = (env[name] ?? '')
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean);
    if (!labels.length) throw bad(`${name} is empty`, `Example: ${name}=USER,ADMIN (the labels, in order).`);
    const invalid = labels.find((l) => !IDENT.test(l));
    if (invalid) {
      throw bad(`${name} has "${invalid}", not a valid label`, 'Labels are letters, digits and _, as Prisma allows.');
    }
    const twice = labels.find((l, i) => labels.indexOf(l) !== i);
    if (twice) throw bad(`${name} has ${twice} twice`, `List each label of ${name} once.`);
    return labels;
  };
  const from = list('FROM');
  const to = list('TO');
  const map: Record<string, string> = {};
  for (const pair of (env.MAP ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [a, b, ...rest] = pair.split('=');
    if (!a || !b || rest.length) {
      throw bad(`MAP has "${pair}", not label=label`, 'Example: MAP=USER=EMPLOYEE,GUEST=EMPLOYEE.');
    }
    if (!from.includes(a)) {
      throw bad(
        `MAP maps ${a}, which is not in FROM (${from.join(', ')})`,
        'A mapping moves the rows of a label of FROM.',
      );
    }
    if (!to.includes(b)) {
      throw bad(
        `MAP maps ${a} to ${b}, which is not in TO (${to.join(', ')})`,
        'A mapping moves rows to a label of TO.',
      );
    }
    if (map[a]) throw bad(`MAP maps ${a} twice`, `Map ${a} to one label.`);
    map[a] = b;
  }
  if (from.join(',') === to.join(',') && !Object.keys(map).length) {
    throw bad('FROM and TO are the same and nothing is mapped', 'There is nothing to migrate.');
  }
  const name =
    env.NAME && IDENT.test(env.NAME)
      ? env.NAME.toLowerCase()
      : `${type.toLowerCase()}_${to.join('_').toLowerCase()}`.slice(0, 60);
  return { type, from, to, map, name, expand: `${stamp[0]}_${name}_expand`, contract: `${stamp[1]}_${name}_contract` };
}

/** Writes files (paths relative to the migration's folder), refusing to overwrite any; returns them as shown. */
function write(id: string, files: Record<string, string>): string[] {
  const there = Object.keys(files).find((path) => existsSync(migrationPath(id, path)));
  if (there) throw bad(`${shownPath(migrationPath(id, there))} exists already`, 'Pick another ID.');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(migrationPath(id, path)), { recursive: true });
    writeFileSync(migrationPath(id, path), text);
  }
  return Object.keys(files)
    .sort()
    .map((path) => shownPath(migrationPath(id, path)));
}

export function newEnumMigration(id: string, spec: EnumSpec): string[] {
  checkId(id);
  return write(id, { ...enumMigrationFiles(id, spec), 'enum.json': `${JSON.stringify(spec, null, 2)}\n` });
}

export function newSkeleton(id: string, name: string): string[] {
  checkId(id);
  if (!IDENT.test(name)) {
    throw bad(`NAME "${name}" is not a usable name`, 'Example: NAME=username (letters, digits, _).');
  }
  const [v1, v2] = versions();
  const todo = (file: string, what: string) => `-- TODO(${id}): ${what}
-- Its contract (when it runs, in which transaction, what it receives and returns): breaking-migrations'
-- sql/README.md.
-- Until it is written, this skeleton refuses to run, so a migration left half done never passes.
DO $$ BEGIN
  RAISE EXCEPTION 'migration ${id}: ${file} is still the skeleton''s'
    USING HINT = 'Write ${file} (see sql/README.md of breaking-migrations), then run again.';
END $$;
`;
  const dbmate = (step: string, what: string) => {
    const dir = shownPath(migrationPath(id, step));
    return `-- Migration ${id} ${step}: ${what}
-- migrate:up
${todo(dir, `the ${step} step, run by dbmate in one transaction.`)}
-- migrate:down
${todo(`${dir} (down)`, `undo the ${step} step, refusing (changing nothing) when data forbids it.`)}`;
  };
  const sqlWhat: Record<(typeof SQL_FILES)[number], string> = {
    preflight: 'one row (column "problem") per reason the run would fail later; no row means go.',
    lock: 'lock the tables the mutation changes (e.g. LOCK TABLE "User" IN EXCLUSIVE MODE).',
    counts: 'one row describing the data the invariants compare, read twice (before and after).',
    mutation: 'the data change itself (an UPDATE, or a SELECT that reports rows updated).',
    invariants: 'one row per check: check, expected, actual; $1 counts before, $2 after, $3 rows updated.',
    final_checks: 'one row per check after the contract: check, kind (schema|data), expected, actual.',
  };
  const files: Record<string, string> = {
    [`expand/${v1}_${name}_expand.sql`]: dbmate('expand', 'additive schema change (old code keeps working).'),
    [`contract/${v2}_${name}_contract.sql`]: dbmate('contract', 'removing schema change (after the mutation).'),
  };
  for (const f of SQL_FILES) {
    // preflight.sql returns problems rather than raising: the run is refused, cleanly, in preflight.
    files[`${f}.sql`] =
      f === 'preflight'
        ? `-- TODO(${id}): ${sqlWhat[f]}\n` +
          "-- Its contract: breaking-migrations' sql/README.md. Until it is written, the run is refused here,\n" +
          '-- before any change.\n' +
          `SELECT '${shownPath(migrationPath(id, 'preflight.sql'))} is still the skeleton''s: ` +
          `write every file of migration ${id} first ` +
          "(see sql/README.md of breaking-migrations)' AS problem;\n"
        : todo(shownPath(migrationPath(id, `${f}.sql`)), sqlWhat[f]);
  }
  return write(id, files);
}

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(args: string[]): Command {
  const mode = args[0];
  return {
    name: mode === 'enum' ? 'new-enum-migration' : 'new-migration',
    usage:
      'usage: breaking-migrations new-migration|new-enum-migration (ID=, NAME=, TYPE=, … in the environment)   ' +
      '(make new-migration ID=NNNN NAME=… | make new-enum-migration ID=NNNN TYPE=… FROM=… TO=… MAP=…)',
    help: `
skeleton  ID=NNNN NAME=name: MIGRATIONS_DIR/NNNN/ with expand/, contract/ and {preflight,lock,counts,
          mutation,invariants,final_checks}.sql, commented, each TODO refusing to run until written.
enum      ID=NNNN TYPE=Enum FROM=a,b,c TO=x,y,z MAP=a=x,b=y [NAME=name]: a complete migration for
          any enum change: labels added (in TO's order), removed (their rows moved by MAP; a
          removed label without a mapping is refused by preflight while rows hold it), renamed;
          every column of the type or its array, in every schema, mapped and checked per column;
          the contract through breaking_migrations.swap_enum; rewrite.sql; rename.sql and its
          proofs when the change is a pure rename; plan.sql; status.sql; enum.json.
Refuses, writing nothing: an ID in use, an invalid name or label, a label twice, a MAP label
not in FROM or not in TO. FROM is checked against the database by the migration's preflight.
Exit codes: 0 written, 2 refused.`,
    async run() {
      const id = process.env.ID ?? '';
      const spec = mode === 'enum' ? enumSpec(process.env) : undefined;
      const written = spec
        ? newEnumMigration(id, spec)
        : mode === 'skeleton'
          ? newSkeleton(id, process.env.NAME ?? '')
          : undefined;
      if (!written) throw new Refusal(`new-migration: unknown mode "${mode ?? ''}".`, 'Use skeleton or enum.');
      for (const f of written) console.log(`  wrote ${f}`);
      const strategies = !spec ? 'update' : isPureRename(spec) ? 'update, rewrite, rename' : 'update, rewrite';
      console.log(
        `new-migration: ${written.length} files for migration ${id} (strategies: ${strategies}); ` +
          `review them, then \`make rehearse-${id}\``,
      );
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

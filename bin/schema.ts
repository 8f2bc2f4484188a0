#!/usr/bin/env tsx
// Schema steps through dbmate: baseline (sandbox only), expand, contract, rollback.
import { main, Refusal, seconds, type Command } from './lib/cli/cli.js';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { chosenMigration, connectionTarget } from './lib/connection/config.js';
import { describeTarget, type Target } from './lib/connection/target.js';
import { dbmate, dbmateError, dbmateStatus, dirs, type DbmateResult } from './lib/runbook/dbmate.js';
import { withSql } from './lib/connection/db.js';
import { dbmateFiles, loadMigration, migrationSection } from './lib/runbook/migration.js';
import { describeInverse, renameToUndo, undoRename } from './lib/runbook/inverse.js';
import { ensureToolkitSaying } from './lib/runbook/toolkit.js';
import { isMain } from './lib/cli/entry.js';

export type SchemaStep = 'baseline' | 'toolkit' | 'expand' | 'contract' | 'rollback';

/** What to do when a step fails and the migration's SQL gave no HINT of its own. */
const NEXT: Record<SchemaStep, (id: string) => string> = {
  baseline: () => 'The baseline is only for empty sandbox databases.',
  toolkit: (id) => `Check the state with \`make status MIGRATION=${id}\`.`,
  expand: (id) => `Check the state with \`make status MIGRATION=${id}\`.`,
  contract: (id) => `Fix what is listed, then \`make contract MIGRATION=${id}\` again.`,
  rollback: (id) => `Check the state with \`make status MIGRATION=${id}\`.`,
};

/** Run one schema step; returns what dbmate applied or rolled back. */
export async function schema(target: Target, stepName: SchemaStep, migration = '0001'): Promise<string[]> {
  let migrationDirs: string[];
  let command = 'migrate';
  switch (stepName) {
    case 'baseline':
      migrationDirs = dirs.baseline;
      command = 'up'; // creates the sandbox database when missing
      break;
    case 'toolkit':
      migrationDirs = dirs.toolkit;
      break;
    case 'expand':
      migrationDirs = dirs.expand(migration);
      break;
    case 'contract': {
      migrationDirs = dirs.all(migration);
      const notYet = (await dbmateStatus(target, dirs.expand(migration))).filter((f) => !f.applied).map((f) => f.file);
      if (notYet.length > 0) {
        throw new Refusal(
          `contract: expand ${migration} is not applied yet (${notYet.join(', ')}).`,
          'Run `make expand` first.',
        );
      }
      break;
    }
    case 'rollback':
      migrationDirs = dirs.own(migration);
      command = 'rollback';
      break;
  }
  const out = await dbmate(target, migrationDirs, command);
  if (out.exitCode !== 0) {
    if (command === 'rollback' && /no migrations have been applied/.test(out.stderr)) {
      throw new Refusal(
        `rollback: nothing of ${migration} left to roll back (neither its contract nor its expand is applied).`,
        `\`make status MIGRATION=${migration}\` shows where the database stands.`,
      );
    }
    const hint = await migrationHint(target, out, command === 'rollback' ? 'down' : 'up');
    throw new Refusal(dbmateError(out.stderr), hint ?? NEXT[stepName](migration), 1);
  }
  return out.stdout
    .split('\n')
    .filter((l) => /^(Applied|Rolled back): /.test(l))
    .map((l) => l.replace(/ in [\d.]+\S*$/, ''));
}

/**
 * dbmate prints a failed migration's message but drops PostgreSQL's HINT. When the failure is
 * the migration's own refusal (RAISE: SQLSTATE P0001, which by convention comes before any
 * change), the hint is fetched by running that section again in a transaction that is rolled
 * back, so the `next:` line is the migration's own words.
 */
async function migrationHint(target: Target, out: DbmateResult, section: 'up' | 'down'): Promise<string | undefined> {
  if (!/\(P0001\)\s*$/.test(out.stderr)) return undefined;
  const file = out.stdout
    .split('\n')
    .filter((l) => /^(Applying|Rolling back): /.test(l))
    .pop()
    ?.replace(/^[^:]+: /, '')
    .trim();
  const path = file ? dbmateFiles().find((p) => basename(p) === file) : undefined;
  if (!path) return undefined;
  const body = migrationSection(readFileSync(path, 'utf8'), section);
  return withSql(target, (sql) =>
    sql
      .begin(async (tx) => {
        await tx.unsafe(body);
        throw new Error('no refusal the second time');
      })
      .then(
        () => undefined,
        (err: { hint?: string }) => err.hint,
      ),
  );
}

/** `make rollback` after a rename run: undo its relabel (bin/lib/runbook/inverse.ts); undefined otherwise. */
async function undoRenameRun(target: Target, id: string): Promise<string | undefined> {
  const m = loadMigration(id);
  return withSql(target, async (sql) => {
    const runId = await renameToUndo(sql, m);
    if (!runId) return undefined;
    console.log(`  run ${runId} relabelled in the catalog (STRATEGY=rename): undoing it, every row kept as it is`);
    const r = await undoRename(sql, m, runId, { lockTimeout: process.env.LOCK_TIMEOUT });
    for (const c of r.checks) console.log(`  ok   ${c.check}`);
    // The folder and schema.prisma are the app's files, in its repository: its history, not ours to rewrite.
    if (r.prisma) {
      const row = r.prisma.removedRow ? 'its _prisma_migrations row removed' : '_prisma_migrations left as it was';
      console.log(
        `  prisma: ${row}; ${r.prisma.folder} and schema.prisma's enum block are still in the app's prisma/ ` +
          'folder: delete that folder and revert the enum block (git) before the app is built again',
      );
    }
    return `relabel of run ${runId} undone in the catalog (${describeInverse(m.id)}); no row written; proved`;
  });
}

const STEPS: SchemaStep[] = ['baseline', 'toolkit', 'expand', 'contract', 'rollback'];

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(args: string[]): Command {
  return {
    name: STEPS.includes(args[0] as SchemaStep) ? args[0] : 'schema',
    usage:
      args[0] === 'baseline'
        ? 'usage: make baseline'
        : 'usage: breaking-migrations expand|contract|rollback [--migration NNNN]   ' +
          '(make expand|contract|rollback [MIGRATION=NNNN])',
    help: `
Applies one schema step of migration MIGRATION (default: the newest in MIGRATIONS_DIR; or --migration NNNN) with dbmate,
against DATABASE_URL.
  baseline   the sandbox's "before" schema (enum "Role" USER, ADMIN; table "User"); refuses
             when "User" or "Role" already exists
  toolkit    installs the toolkit's helper functions (schema breaking_migrations); expand does too.
             Functions another release left are replaced by this one's (toolkit, expand, contract)
  expand     MIGRATIONS_DIR/NNNN/expand (additive)
  contract   MIGRATIONS_DIR/NNNN/contract; refuses, changing nothing, while data or objects forbid it
  rollback   undoes the migration's latest applied step: its contract, then its expand, then
             refuses (nothing left); never the toolkit. A refusal's next: line is the HINT the
             migration's own SQL gives. After a STRATEGY=rename run: that relabel undone in the
             catalog instead (NNNN/rename_inverse.sql, proved, one transaction, no row written);
             refused, naming them, while rows hold a label the old type lacks
Exit codes: 0 done, 1 refused by the database (nothing changed), 2 bad input, 3 unreachable.`,
    async run(argv) {
      const stepName = argv[0] as SchemaStep;
      if (!STEPS.includes(stepName))
        throw new Refusal(`schema: unknown step "${argv[0] ?? ''}".`, `Use one of: ${STEPS.join(', ')}.`);
      const mi = argv.indexOf('--migration');
      // baseline (and the toolkit) belong to no migration: 0001 only fills the parameter.
      const own = stepName === 'expand' || stepName === 'contract' || stepName === 'rollback';
      const migration = mi >= 0 ? argv[mi + 1] : own ? chosenMigration(stepName) : '0001';
      if (!/^\d{4}$/.test(migration ?? ''))
        throw new Refusal(`schema: migration must be four digits, got "${migration}".`, 'Example: --migration 0001.');
      const target = await connectionTarget(stepName);
      const t0 = performance.now();
      console.log(`→ ${stepName} ${stepName === 'baseline' ? '' : `${migration} `}on ${describeTarget(target)}`);
      // dbmate installs the toolkit's functions once: after an upgrade the database may hold
      // another release's, which the contract and a rename's way back would call. Replaced first.
      if (stepName !== 'baseline') await withSql(target, (sql) => ensureToolkitSaying(sql, console.log));
      if (stepName === 'rollback') {
        // After a rename run, its way back is the relabel undone in the catalog (keeps every write).
        const undone = await undoRenameRun(target, migration);
        if (undone) return void console.log(`rollback: ${undone} (${seconds(t0)})`);
      }
      const done = await schema(target, stepName, migration);
      for (const line of done) console.log(`  ${line}`);
      const verb = stepName === 'rollback' ? 'rolled back' : 'applied';
      const outcome = done.length ? `${done.length} migration(s) ${verb}` : 'nothing to do, already applied';
      console.log(`${stepName}: ${outcome} (${seconds(t0)})`);
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

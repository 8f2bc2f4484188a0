#!/usr/bin/env tsx
// Schema steps through dbmate: baseline (sandbox only), expand, contract, rollback.
import { main, Refusal, seconds } from './lib/cli.js';
import { connectionTarget } from './lib/config.js';
import { describeTarget, type Target } from './lib/target.js';
import { dbmate, dbmateError, dbmateStatus, dirs } from './lib/dbmate.js';

export type SchemaStep = 'baseline' | 'toolkit' | 'expand' | 'contract' | 'rollback';

const NEXT: Record<SchemaStep, string> = {
  baseline: 'The baseline is only for empty sandbox databases.',
  toolkit: 'Check the state with `make status`.',
  expand: 'Check the state with `make status`.',
  contract:
    'Fix each object listed. Rows still holding an old label: run the mutation first (`make migrate-0001` does). Then `make contract` again.',
  rollback: 'Check the state with `make status`; rows holding a label the older type lacks must be changed back first.',
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
        throw new Refusal(`contract: expand ${migration} is not applied yet (${notYet.join(', ')}).`, 'Run `make expand` first.');
      }
      break;
    }
    case 'rollback':
      migrationDirs = dirs.all(migration);
      command = 'rollback';
      break;
  }
  const out = await dbmate(target, migrationDirs, command);
  if (out.exitCode !== 0) throw new Refusal(dbmateError(out.stderr), NEXT[stepName], 1);
  return out.stdout
    .split('\n')
    .filter((l) => /^(Applied|Rolled back): /.test(l))
    .map((l) => l.replace(/ in [\d.]+\S*$/, ''));
}

const STEPS: SchemaStep[] = ['baseline', 'toolkit', 'expand', 'contract', 'rollback'];

if (import.meta.url === `file://${process.argv[1]}`) {
  await main({
    name: STEPS.includes(process.argv[2] as SchemaStep) ? process.argv[2] : 'schema',
    usage: 'usage: tsx bin/schema.ts baseline|toolkit|expand|contract|rollback [--migration NNNN]',
    help: `
Applies one schema step of a migration with dbmate, against DATABASE_URL.
  baseline   the "before" schema (enum "Role" USER, ADMIN; table "User"); sandbox only,
             refuses when "User" or "Role" already exists
  toolkit    installs the toolkit's helper functions (schema breaking_migrations); expand does too
  expand     adds the new labels (0001: USER, EMPLOYEE, MANAGER, ADMIN); idempotent
  contract   swaps the type for the final labels (0001: EMPLOYEE, MANAGER, ADMIN); refuses,
             changing nothing, when rows or objects would break the swap
  rollback   undoes the most recent step (contract, then expand); refuses when rows hold a
             label the older type lacks
Exit codes: 0 done, 1 refused by the database (nothing changed), 2 bad input, 3 unreachable.`,
    async run(argv) {
      const stepName = argv[0] as SchemaStep;
      if (!STEPS.includes(stepName)) throw new Refusal(`schema: unknown step "${argv[0] ?? ''}".`, `Use one of: ${STEPS.join(', ')}.`);
      const mi = argv.indexOf('--migration');
      const migration = mi >= 0 ? argv[mi + 1] : (process.env.MIGRATION ?? '0001');
      if (!/^\d{4}$/.test(migration ?? '')) throw new Refusal(`schema: migration must be four digits, got "${migration}".`, 'Example: --migration 0001.');
      const target = await connectionTarget(stepName);
      const t0 = performance.now();
      console.log(`→ ${stepName} ${stepName === 'baseline' ? '' : migration + ' '}on ${describeTarget(target)}`);
      const done = await schema(target, stepName, migration);
      for (const line of done) console.log(`  ${line}`);
      console.log(`${stepName}: ${done.length ? done.length + ' migration(s) ' + (stepName === 'rollback' ? 'rolled back' : 'applied') : 'nothing to do, already applied'} (${seconds(t0)})`);
    },
  });
}

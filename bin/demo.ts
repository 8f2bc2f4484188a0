#!/usr/bin/env tsx
// The whole story on a throwaway PostgreSQL: the "before" schema, ROWS users, then the real
// `make migrate-0001` (maintenance, dump, expand, verifier, contract, checks), before/after
// counts and the summary. Leaves nothing behind.
import { join } from 'node:path';
import { main, Refusal, seconds, step, type Command } from './lib/cli/cli.js';
import { settings } from './lib/connection/config.js';
import { withDatabase } from './lib/connection/target.js';
import { startSandbox } from './lib/dev/sandbox.js';
import { migrate, stepLine, type RunResult } from './migrate.js';
import { schema } from './schema.js';
import { seed } from './seed.js';
import { status, type Status } from './status.js';
import { isMain } from './lib/cli/entry.js';

const show = (title: string, s: Status) => {
  for (const i of s.items) console.log(`  ${title}: ${i.item}: ${i.detail}`);
};
/** Rows of "User".role holding a label, from status.sql's line "public."User".role  USER=9  ADMIN=1". */
const count = (s: Status, label: string) =>
  Number(
    new RegExp(`\\b${label}=(\\d+)`).exec(s.items.find((i) => i.item === 'public."User".role')?.detail ?? '')?.[1] ?? 0,
  );

export async function demo(rows: number): Promise<{ before: Status; after: Status; run: RunResult }> {
  const sandbox = await step('start a throwaway PostgreSQL', () => startSandbox());
  try {
    const target = withDatabase(sandbox.target, 'demo');
    await step('create the "before" schema (Prisma\'s User and Role)', () => schema(target, 'baseline'));
    await step(`seed ${rows} users`, () => seed(target, rows));
    const before = await status(target);
    show('before', before);
    const s = settings({ MAINTENANCE_DIR: join(sandbox.dir, 'maintenance'), BACKUP_DIR: join(sandbox.dir, 'backups') });
    console.log('→ make migrate-0001');
    const run = await migrate(target, '0001', s, { log: (l) => console.log(`  | ${l}`) });
    const after = await status(target);
    show('after ', after);
    return { before, after, run };
  } finally {
    sandbox.stop();
  }
}

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(_args: string[]): Command {
  return {
    name: 'demo',
    usage: 'usage: make demo [ROWS=100000]',
    help: `
Starts a throwaway PostgreSQL (needs Debian's postgresql package), creates the "before" schema,
adds ROWS users (default 100000), runs the real migrate-0001 (maintenance mode, dump, expand,
verifier, contract, final checks) and prints the labels and row counts before and after. The
server, the dump and the lock file live in a temp folder deleted at the end, also on Ctrl-C.`,
    async run(argv) {
      const rows = Number(argv[0] ?? 100000);
      if (!Number.isInteger(rows) || rows < 0)
        throw new Refusal(`demo: ROWS must be a whole number, got "${argv[0]}".`, 'Example: make demo ROWS=100000.');
      const t0 = performance.now();
      const { before, after, run } = await demo(rows);
      for (const st of run.steps) console.log(stepLine(st));
      console.log(
        `demo: ${count(before, 'USER')} USER became ${count(after, 'EMPLOYEE')} EMPLOYEE, ` +
          `${count(after, 'ADMIN')} ADMIN kept; labels now ${after.items[0]?.detail}; ` +
          `maintenance window ${run.windowSeconds?.toFixed(1)} s (${seconds(t0)})`,
      );
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

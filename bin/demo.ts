#!/usr/bin/env tsx
// The whole story on a throwaway PostgreSQL: the "before" schema, ROWS users, migration 0001
// (expand, mutation, contract), and the state before and after. Leaves nothing behind.
import { main, Refusal, seconds, step } from './lib/cli.js';
import { withSql } from './lib/db.js';
import { startSandbox } from './lib/sandbox.js';
import { schema } from './schema.js';
import { seed } from './seed.js';
import { status, type Status } from './status.js';

function show(title: string, s: Status): void {
  console.log(`  ${title}: ${s.labels.map((l) => `${l.label}=${l.rows}`).join('  ')}`);
}

export async function demo(rows: number): Promise<{ before: Status; after: Status }> {
  const sandbox = await step('start a throwaway PostgreSQL', () => startSandbox());
  try {
    const url = sandbox.url.replace('/postgres?', '/demo?');
    await step('create the "before" schema (Prisma\'s User and Role)', () => schema(url, 'baseline'));
    await step(`seed ${rows} users`, () => seed(url, rows));
    const before = await status(url);
    show('before', before);
    await step('expand: add EMPLOYEE and MANAGER', () => schema(url, 'expand'));
    await step('mutate: USER → EMPLOYEE', () =>
      withSql(url, (sql) => sql`UPDATE "User" SET role = 'EMPLOYEE' WHERE role = 'USER'`));
    await step('contract: drop USER from "Role"', () => schema(url, 'contract'));
    const after = await status(url);
    show('after ', after);
    return { before, after };
  } finally {
    sandbox.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await main({
    name: 'demo',
    usage: 'usage: tsx bin/demo.ts [ROWS]',
    help: `
Starts a throwaway PostgreSQL (needs Debian's postgresql package), creates the "before" schema,
adds ROWS users (default 100000), runs migration 0001 and prints the labels and row counts
before and after. The server and its files are deleted at the end, also on Ctrl-C.`,
    async run(argv) {
      const rows = Number(argv[0] ?? 100000);
      if (!Number.isInteger(rows) || rows < 0) throw new Refusal(`demo: ROWS must be a whole number, got "${argv[0]}".`, 'Example: make demo ROWS=100000.');
      const t0 = performance.now();
      const { before, after } = await demo(rows);
      const count = (s: Status, l: string) => s.labels.find((x) => x.label === l)?.rows ?? 0;
      console.log(`demo: ${count(before, 'USER')} USER became ${count(after, 'EMPLOYEE')} EMPLOYEE, ${count(after, 'ADMIN')} ADMIN kept; labels now ${after.labels.map((l) => l.label).join(', ')} (${seconds(t0)})`);
    },
  });
}

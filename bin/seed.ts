#!/usr/bin/env tsx
// Fill "User" with realistic fake rows (sql/seed.sql). Never on an application database.
import { main, Refusal, seconds, type Command } from './lib/cli/cli.js';
import { readSql, connectionTarget } from './lib/connection/config.js';
import { describeTarget, type Target } from './lib/connection/target.js';
import { withSql, type Sql } from './lib/connection/db.js';
import { isMain } from './lib/cli/entry.js';

/** Adds `rows` users; refuses on a database made by Prisma Migrate (a real application's). */
export async function seed(target: Target, rows: number): Promise<{ added: number; total: number }> {
  return withSql(target, async (sql: Sql) => {
    const [probe] = await sql`SELECT to_regclass('"User"') IS NOT NULL AS has_user,
      to_regclass('_prisma_migrations') IS NOT NULL AS prisma`;
    if (probe.prisma) {
      throw new Refusal(
        'seed: this database has _prisma_migrations: it is an application database, not a sandbox.',
        'Seed only sandbox or test databases.',
      );
    }
    if (!probe.has_user)
      throw new Refusal('seed: table "User" does not exist.', 'Create the baseline schema first: `make baseline`.');
    const result = await sql.unsafe(readSql('seed.sql'), [rows]);
    const [{ total }] = await sql`SELECT count(*)::int8 AS total FROM "User"`;
    return { added: result.count, total: Number(total) };
  });
}

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(_args: string[]): Command {
  return {
    name: 'seed',
    usage: 'usage: make seed [ROWS=100000]',
    help: `
Adds ROWS fake users to "User" of DATABASE_URL (about 90% USER, 10% ADMIN, unique e-mails),
with one set-based INSERT. Refuses on a database that has _prisma_migrations.`,
    async run(argv) {
      const rows = Number(argv[0] ?? process.env.ROWS ?? 1000);
      if (!Number.isInteger(rows) || rows < 0)
        throw new Refusal(`seed: ROWS must be a whole number, got "${argv[0]}".`, 'Example: make seed ROWS=100000.');
      const target = await connectionTarget('seed');
      const t0 = performance.now();
      console.log(`→ seeding ${rows} users into ${describeTarget(target)}`);
      const r = await seed(target, rows);
      console.log(`seed: added ${r.added} users, ${r.total} in all (${seconds(t0)})`);
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

#!/usr/bin/env tsx
// The one entry point: `breaking-migrations <verb> [arguments]`. Every make verb goes through this
// table; each row names what the verb does, what it changes and its exit codes (the README's verb
// table is kept in step with it by a test), and where its command lives. A command module is
// loaded only when its verb runs.
import { inCheckout, main, type Command } from './lib/cli/cli.js';
import { isMain } from './lib/cli/entry.js';

type Module = { command(args: string[]): Command };

export interface Verb {
  verb: string; // as typed: `migrate-NNNN` stands for any four digits
  does: string;
  changes: string; // what it may change, in a few words
  exits: string; // its exit codes
  load: () => Promise<Module>;
  args: (id: string) => string[]; // the module's own first arguments (id: the NNNN of the verb)
  checkout?: true; // this repository's own verbs (the demo, the bench, …): not in the npm package's make fragment
}

const none = () => [];
const EXITS = '0 done, 1 failed, 2 refused, 3 unreachable';
const SCHEMA_EXITS = '0 done, 1 refused by the database (nothing changed), 2 bad input, 3 unreachable';

export const VERBS: Verb[] = [
  {
    verb: 'init',
    does: "in the app's repository: migrations/, .env.example, the Makefile's include, the Next.js drop-in",
    changes: 'new files; lines .env.example, Makefile, .gitignore lack (refuses, writing none, if a drop-in differs)',
    exits: '0 done, 2 refused',
    load: () => import('./init.js'),
    args: none,
  },
  {
    verb: 'maintenance-on',
    does: 'lock file + database flag ON, database read-only for other sessions',
    changes: 'lock file, flag row, database default',
    exits: EXITS,
    load: () => import('./maintenance.js'),
    args: () => ['on'],
  },
  {
    verb: 'maintenance-off',
    does: 'database writable again, flag and lock file OFF',
    changes: 'lock file, flag row, database default',
    exits: EXITS,
    load: () => import('./maintenance.js'),
    args: () => ['off'],
  },
  {
    verb: 'maintenance-status',
    does: 'ON / OFF / PARTIAL, with reason and age',
    changes: 'nothing',
    exits: '0; with --exit-code 0 OFF, 1 ON, 4 PARTIAL',
    load: () => import('./maintenance.js'),
    args: () => ['status'],
  },
  {
    verb: 'dump',
    does: 'pg_dump into BACKUP_DIR (0600 file, checksum, manifest); prints the path last',
    changes: 'a new file in BACKUP_DIR',
    exits: EXITS,
    load: () => import('./dump.js'),
    args: none,
  },
  {
    verb: 'restore',
    does: 'restore DUMP=… in one transaction, says what it discards first',
    changes: 'the whole database (or nothing)',
    exits: '0 restored and checked, 1 failed (unchanged), 2 refused, 3 unreachable',
    load: () => import('./restore.js'),
    args: none,
  },
  {
    verb: 'backups',
    does: 'list dumps, newest first; KEEP=n deletes older ones',
    changes: 'with KEEP: old dumps',
    exits: '0 done, 2 refused',
    load: () => import('./backups.js'),
    args: none,
  },
  {
    verb: 'history',
    does: 'every run of every migration on this database, newest first',
    changes: 'nothing',
    exits: '0, 2 refused, 3 unreachable',
    load: () => import('./history.js'),
    args: none,
  },
  {
    verb: 'psql',
    does: 'a psql session that may write while the guard holds the database read-only',
    changes: 'what you type',
    exits: "psql's",
    load: () => import('./psql.js'),
    args: none,
  },
  {
    verb: 'app-status',
    does: "the app's instances seen recently, and whether each can read the migration's labels",
    changes: "nothing (creates the instances' table when missing)",
    exits: '0; with --exit-code 0 all can, 1 one cannot, 2 none report',
    load: () => import('./app-status.js'),
    args: none,
  },
  {
    verb: 'status',
    does: "applied/pending files of the migration, and its status.sql's report",
    changes: 'nothing',
    exits: '0, 2 refused, 3 unreachable',
    load: () => import('./status.js'),
    args: none,
  },
  {
    verb: 'expand',
    does: "the migration's expand step (additive)",
    changes: 'schema (additive)',
    exits: SCHEMA_EXITS,
    load: () => import('./schema.js'),
    args: () => ['expand'],
  },
  {
    verb: 'contract',
    does: "the migration's contract step; refuses while data or objects forbid it",
    changes: 'schema (removes the old)',
    exits: SCHEMA_EXITS,
    load: () => import('./schema.js'),
    args: () => ['contract'],
  },
  {
    verb: 'rollback',
    does: "undo the migration's latest step: contract, then expand (a rename run: its relabel); never the toolkit",
    changes: 'schema',
    exits: SCHEMA_EXITS,
    load: () => import('./schema.js'),
    args: () => ['rollback'],
  },
  {
    verb: 'plan-NNNN',
    does: "each strategy's lock, rewrite and window with its dump, and a recommendation",
    changes: 'nothing',
    exits: '0, 2 no plan.sql or refused, 3 unreachable',
    load: () => import('./plan.js'),
    args: (id) => [id],
  },
  {
    verb: 'rehearse-NNNN',
    does: 'the whole runbook on a scratch copy (same server, or REHEARSE_IN=sandbox)',
    changes: 'a new dump; a scratch database, dropped',
    exits: '0 passed, 1 failed (production untouched), 2 refused, 3 unreachable',
    load: () => import('./rehearse.js'),
    args: (id) => [id],
  },
  {
    verb: 'migrate-NNNN',
    does: 'preflight, maintenance, dump, expand, verified mutation, contract, checks, maintenance off',
    changes: 'schema and data, journaled; a new dump',
    exits: EXITS,
    load: () => import('./migrate.js'),
    args: (id) => [id],
  },
  {
    verb: 'verify-NNNN',
    does: 'the mutation and its invariants alone, in one transaction (DRY_RUN=1: rolled back)',
    changes: 'data (or nothing)',
    exits: '0 committed or dry run passed, 1 failed (rolled back), 2 refused, 3 unreachable',
    load: () => import('../verify/verify.js'),
    args: (id) => [id],
  },
  {
    verb: 'prisma-NNNN',
    does: "tell Prisma: migration folder, _prisma_migrations row, schema.prisma's enum",
    changes: "PRISMA_DIR's files, _prisma_migrations",
    exits: EXITS,
    load: () => import('./prisma.js'),
    args: (id) => [id],
  },
  {
    verb: 'new-migration',
    does: 'ID=NNNN NAME=…: a skeleton of every file of a migration; its TODOs refuse to run',
    changes: 'new files in MIGRATIONS_DIR/NNNN/',
    exits: '0 written, 2 refused',
    load: () => import('./new-migration.js'),
    args: () => ['skeleton'],
  },
  {
    verb: 'new-enum-migration',
    does: 'ID=NNNN TYPE=… FROM=… TO=… MAP=…: a complete migration for an enum change',
    changes: 'new files in MIGRATIONS_DIR/NNNN/',
    exits: '0 written, 2 refused',
    load: () => import('./new-migration.js'),
    args: () => ['enum'],
  },
  {
    verb: 'baseline',
    does: 'the "before" schema (Prisma\'s User/Role); refuses when "User" exists',
    changes: 'schema',
    exits: SCHEMA_EXITS,
    load: () => import('./schema.js'),
    args: () => ['baseline'],
    checkout: true,
  },
  {
    verb: 'seed',
    does: 'add ROWS fake users to the baseline\'s "User"; refuses on an app database',
    changes: 'data',
    exits: EXITS,
    load: () => import('./seed.js'),
    args: none,
    checkout: true,
  },
  {
    verb: 'demo',
    does: 'the whole story on a throwaway PostgreSQL: baseline, ROWS users, migration 0001',
    changes: 'nothing outside its sandbox',
    exits: '0 done, 1 failed',
    load: () => import('./demo.js'),
    args: none,
    checkout: true,
  },
  {
    verb: 'bench',
    does: 'toolkit vs the bare SQL floor on a sandbox; table, ratios and JSON',
    changes: 'a JSON file in bench/results',
    exits: '0 done, 1 failed',
    load: () => import('../bench/bench.js'),
    args: none,
    checkout: true,
  },
  {
    verb: 'setup',
    does: "installs what the tests need when missing (Debian's postgresql)",
    changes: 'system packages',
    exits: '0 present or installed, 1 install failed, 2 not installable here',
    load: () => import('./setup.js'),
    args: none,
    checkout: true,
  },
];

/** The verb's row and its NNNN, or undefined. */
export function findVerb(typed: string): { verb: Verb; id: string } | undefined {
  for (const verb of VERBS) {
    if (verb.verb === typed) return { verb, id: '' };
    const prefix = verb.verb.endsWith('-NNNN') ? verb.verb.slice(0, -4) : undefined;
    if (prefix && typed.startsWith(prefix) && /^\d{4}$/.test(typed.slice(prefix.length))) {
      return { verb, id: typed.slice(prefix.length) };
    }
  }
  return undefined;
}

/** The verbs that run here: all of them in this checkout, the package's own in the installed package. */
export function verbTable(checkout = inCheckout()): string {
  const verbs = VERBS.filter((v) => checkout || !v.checkout);
  const width = Math.max(...verbs.map((v) => v.verb.length)) + 2;
  return verbs.map((v) => `  ${v.verb.padEnd(width)}${v.does}`).join('\n');
}

/** The first line of `help`, in the words that work where it runs (the make verb in this checkout). */
export function entryUsage(checkout = inCheckout()): string {
  return checkout
    ? "usage: make <verb> [VAR=…]   (one verb's help: node_modules/.bin/tsx bin/breaking-migrations.ts <verb> --help)"
    : 'usage: npx breaking-migrations <verb> [arguments]   ' +
        "(or make <verb>, with init's include; `npx breaking-migrations <verb> --help` for one)";
}

/** `breaking-migrations <verb> [arguments]`: this file run by tsx, or the npm package's bin/breaking-migrations.mjs. */
export async function run(argv: string[]): Promise<void> {
  const [typed = '', ...rest] = argv;
  const found = findVerb(typed);
  if (!found) {
    const known = typed === '' || typed === 'help' || typed === '--help' || typed === '-h';
    (known ? process.stdout : process.stderr).write(
      `${known ? '' : `breaking-migrations: unknown verb "${typed}".\n`}` + `${entryUsage()}\n\n${verbTable()}\n`,
    );
    process.exitCode = known ? 0 : 2;
    return;
  }
  if (found.verb.checkout && !inCheckout()) {
    // The npm package ships the runbook (and no Makefile), not this repository's demo, bench and test setup.
    process.stderr.write(
      `breaking-migrations: ${typed} belongs to a checkout of the breaking-migrations repository, ` +
        'not to the installed package.\n  next: git clone the repository and run `make ' +
        `${typed}\` there; \`breaking-migrations help\` lists the verbs of the package.\n`,
    );
    process.exitCode = 2;
    return;
  }
  const args = [...found.verb.args(found.id), ...rest];
  await main((await found.verb.load()).command(args), args);
}

if (isMain(import.meta.url)) await run(process.argv.slice(2));

#!/usr/bin/env tsx
// make app-status: the web app's instances that reported recently, the labels their client knows,
// and whether each can read the database's labels and those migration MIGRATION will write.
import { main, Refusal, seconds, type Command } from './lib/cli/cli.js';
import { chosenMigration, connectionTarget, settings } from './lib/connection/config.js';
import { withSql } from './lib/connection/db.js';
import { describeTarget } from './lib/connection/target.js';
import { readEnumSpec } from './lib/enum/enum-spec.js';
import { ensureInstanceTable, REPORT_INTERVAL_MS, seenInstances, unknownLabels } from './lib/runbook/instances.js';
import { isMain } from './lib/cli/entry.js';
import { setTimeout as sleep } from 'node:timers/promises';

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(_args: string[]): Command {
  return {
    name: 'app-status',
    usage: 'usage: breaking-migrations app-status [--exit-code]   (make app-status [MIGRATION=NNNN] [APP_SEEN_S=60])',
    help: `
Lists the app's instances (host:pid) that reported in the last APP_SEEN_S seconds (default 60),
with their build and the labels of the migration's enum their client knows (nextjs/maintenance.ts:
databaseProbe(query, { enums, build })), and whether each can read the database's labels now and
the labels of migration MIGRATION (default: the newest in MIGRATIONS_DIR) after its change. Creates the instances' table
when it is missing (then waits one report interval). Changes nothing else.
Exit codes: 0; with --exit-code 0 every instance can read both, 1 at least one cannot, 2 none
reported; 2 bad input, 3 unreachable.`,
    async run(argv) {
      const t0 = performance.now();
      const migration = chosenMigration('app-status');
      const spec = readEnumSpec(migration);
      if (!spec) {
        throw new Refusal(
          `app-status: migration ${migration} has no enum.json: no labels to compare.`,
          'Name an enum migration: make app-status MIGRATION=NNNN.',
        );
      }
      const target = await connectionTarget('app-status');
      const s = settings();
      const { seen, now } = await withSql(target, async (sql) => {
        if (await ensureInstanceTable(sql)) await sleep(REPORT_INTERVAL_MS + 500); // the apps could not report yet
        const [{ labels }] = await sql`SELECT COALESCE(
          (SELECT array_agg(enumlabel::text ORDER BY enumsortorder) FROM pg_enum
           WHERE enumtypid = to_regtype(${`"${spec.type.replace(/"/g, '""')}"`})), '{}') AS labels`;
        return { seen: await seenInstances(sql, { seenS: s.appSeenS }), now: labels as string[] };
      });
      console.log(
        `database ${describeTarget(target)}: ${spec.type} is ${now.join(', ') || '(missing)'}; ` +
          `migration ${migration} makes it ${spec.to.join(', ')}`,
      );
      let cannot = 0;
      for (const i of seen) {
        const missing = [...new Set([...unknownLabels(i, spec.type, now), ...unknownLabels(i, spec.type, spec.to)])];
        if (missing.length) cannot++;
        const knows = i.enums[spec.type]?.join(', ') ?? `no ${spec.type}`;
        const age = Math.round((Date.now() - i.seen.getTime()) / 1000);
        console.log(
          `  ${missing.length ? 'CANNOT' : 'ok    '} ${i.instance}${i.build ? ` build ${i.build}` : ''}: ` +
            `knows ${knows}${missing.length ? `; not ${missing.join(', ')}` : ''} (seen ${age} s ago)`,
        );
      }
      const verdict = !seen.length
        ? `no instance reported in the last ${s.appSeenS} s`
        : cannot
          ? `${cannot} of ${seen.length} instance(s) cannot read every label`
          : `${seen.length} instance(s), all can read every label`;
      console.log(`app-status: ${verdict} (${seconds(t0)})`);
      if (argv.includes('--exit-code')) return !seen.length ? 2 : cannot ? 1 : 0;
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

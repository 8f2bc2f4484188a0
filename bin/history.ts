#!/usr/bin/env tsx
// make history: what ran on this database, when, with which result and which dump — every run
// of every migration, newest first, from the journal the runbook keeps in the database itself.
import { main, seconds, type Command } from './lib/cli/cli.js';
import { connectionTarget, readSql } from './lib/connection/config.js';
import { withSql } from './lib/connection/db.js';
import { hasJournal } from './lib/runbook/journal.js';
import { describeTarget, type Target } from './lib/connection/target.js';
import { relabelled, totalUpdated, type Updated } from '../verify/verifier.js';
import { isMain } from './lib/cli/entry.js';

export interface Run {
  runId: string;
  migration: string;
  started: string;
  ended: string;
  result: string;
  dump: string | null;
  strategy: string | null;
  rowsChanged: number | null;
  cause: string | null;
  outageSeconds: number | null; // the site in maintenance, from the lock's start to maintenance-off
  steps: { step: string; seconds: number | null }[];
}

export async function history(target: Target): Promise<Run[]> {
  return withSql(target, async (sql) => {
    if (!(await hasJournal(sql))) return [];
    return (await sql.unsafe(readSql('history.sql'))).map((r) => ({
      runId: String(r.run_id),
      migration: String(r.migration),
      started: new Date(r.started).toISOString(),
      ended: new Date(r.ended).toISOString(),
      result: String(r.result),
      dump: r.dump ?? null,
      strategy: r.strategy ?? null,
      rowsChanged: totalUpdated(r.updated as Updated | null) ?? relabelled(r.counted_before, r.counted_after),
      cause: r.cause ?? null,
      outageSeconds: r.outage_seconds === null ? null : Number(r.outage_seconds),
      steps: (r.steps as { step: string; seconds: string | null }[]).map((s) => ({
        step: s.step,
        seconds: s.seconds === null ? null : Number(s.seconds),
      })),
    }));
  });
}

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(_args: string[]): Command {
  return {
    name: 'history',
    usage: 'usage: breaking-migrations history [--json]   (make history)',
    help: `
Every run of every migration on DATABASE_URL, newest first, from breaking_migrations.journal:
start and end, result (done, refused in preflight, failed, failed and restored, unfinished),
strategy, each step with its duration, how long the site was in maintenance (from the lock's
start, a failed attempt before the run's re-run included), the dump taken, the rows the mutation changed, the cause
of a failure. --json prints the same as JSON. Changes nothing. Exit codes: 0, 2 bad input, 3 unreachable.`,
    async run(argv) {
      const t0 = performance.now();
      const target = await connectionTarget('history');
      const runs = await history(target);
      if (argv.includes('--json')) return void console.log(JSON.stringify(runs, null, 2));
      console.log(`database ${describeTarget(target)}`);
      for (const r of runs) {
        const when = `${r.started.slice(0, 19).replace('T', ' ')} → ${r.ended.slice(11, 19)}`;
        console.log(`  ${when}  migration ${r.migration}  run ${r.runId}: ${r.result}`);
        const changed = r.rowsChanged !== null && `${r.rowsChanged} rows changed`;
        const outage = r.outageSeconds !== null && `site in maintenance ${r.outageSeconds.toFixed(1)} s`;
        const facts = [
          r.strategy && `strategy ${r.strategy}`,
          changed,
          outage,
          r.dump && `dump ${r.dump}`,
          r.cause && `cause: ${r.cause}`,
        ].filter(Boolean);
        if (facts.length) console.log(`      ${facts.join('; ')}`);
        const steps = r.steps.map((s) => (s.seconds === null ? s.step : `${s.step} ${s.seconds.toFixed(2)} s`));
        console.log(`      ${steps.join(', ') || 'no step done'}`);
      }
      console.log(`history: ${runs.length} run(s) on this database (${seconds(t0)})`);
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

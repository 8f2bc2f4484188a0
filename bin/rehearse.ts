#!/usr/bin/env tsx
// The runbook's "test it before production", automated: a fresh dump of DATABASE_URL restored
// into a scratch database (same server, or a throwaway sandbox), the whole runbook run there,
// each step timed, the scratch database dropped. Production is only read, by pg_dump.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, Refusal, seconds, step } from './lib/cli.js';
import { settings, type Settings, connectionTarget } from './lib/config.js';
import { describeTarget, withDatabase, type Target } from './lib/target.js';
import { withSql } from './lib/db.js';
import { startSandbox } from './lib/sandbox.js';
import { dump } from './dump.js';
import { migrate, stepLine, type RunResult } from './migrate.js';
import { restore } from './restore.js';
import { isMain } from './lib/entry.js';

export interface Rehearsal { where: 'server' | 'sandbox'; scratch: string; dump: string; dumpSeconds: number; restoreSeconds: number; run: RunResult }

export async function rehearse(target: Target, id: string, s: Settings, opts: { inSandbox?: boolean; strategy?: string; log?: (l: string) => void } = {}): Promise<Rehearsal> {
  const log = opts.log ?? console.log;
  const fresh = await step('fresh dump of the production database', () => dump(target, s, log), log);
  const sandbox = opts.inSandbox ? await step('start a throwaway PostgreSQL', () => startSandbox(), log) : undefined;
  const server = sandbox?.target ?? target;
  const scratch = `${target.database}_rehearse_${Date.now().toString(36)}`.slice(0, 63);
  const scratchTarget = withDatabase(server, scratch);
  const work = mkdtempSync(join(tmpdir(), 'bm-rehearse-'));
  try {
    await withSql(server, (sql) => sql`CREATE DATABASE ${sql(scratch)}`).catch((err) => {
      if (err.code !== '42501') throw err;
      throw new Refusal(`rehearse: cannot create a scratch database on this server (${err.message}).`, 'Rehearse in a throwaway PostgreSQL instead: make rehearse-0001 REHEARSE_IN=sandbox.');
    });
    const t0 = performance.now();
    await step(`restore it into ${scratch}`, () => restore(scratchTarget, s, fresh.path, { checked: fresh.manifest, log, portable: true }), log);
    const restoreSeconds = (performance.now() - t0) / 1000;
    // The rehearsal's own lock file and dump stay in a temp folder: nothing lands beside production's.
    const local = settings({ MAINTENANCE_DIR: join(work, 'maintenance'), BACKUP_DIR: join(work, 'backups'), PG_BINDIR: process.env.PG_BINDIR });
    const run = await migrate(scratchTarget, id, local, { strategy: opts.strategy, log: (l) => log(`  | ${l}`) }).catch((err: Error & { next?: string; exitCode?: number }) => {
      // What migrate says is about the database it ran on: here the scratch copy, which is dropped.
      // Production was only read: nothing to restore, no maintenance to end, nothing to resume.
      const cause = err.message.replace(/^migrate-\d+: /, '');
      throw new Refusal(`rehearse-${id}: the rehearsal failed on the scratch copy ${scratch} (dropped); production is untouched: ${cause}`,
        `Fix the cause in production's schema or data (or in the migration's files), then \`make rehearse-${id}\` again. Nothing to restore.`,
        err.exitCode === 2 ? 2 : 1);
    });
    return { where: sandbox ? 'sandbox' : 'server', scratch, dump: fresh.path, dumpSeconds: fresh.seconds, restoreSeconds, run };
  } finally {
    await withSql(server, (sql) => sql`DROP DATABASE IF EXISTS ${sql(scratch)} WITH (FORCE)`).catch((err) => log(`  warning: could not drop ${scratch}: ${err.message}`));
    sandbox?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const id = process.argv[2] ?? '';
  await main({
    name: `rehearse-${id}`,
    usage: 'usage: tsx bin/rehearse.ts NNNN   (make rehearse-0001 [REHEARSE_IN=sandbox] [STRATEGY=rewrite|rename])',
    help: `
Rehearses migration NNNN on a copy of DATABASE_URL: takes a fresh dump (into BACKUP_DIR, like
make dump), restores it into a scratch database — on the same server (needs CREATEDB), or with
REHEARSE_IN=sandbox in a throwaway local PostgreSQL — runs the whole runbook there (with
STRATEGY= as make migrate-NNNN would), prints each step's time and the result, and drops the
scratch database. Production is only read.
Exit codes: 0 the rehearsal passed, 1 it failed (production untouched), 2 refused, 3 unreachable.`,
    async run() {
      const t0 = performance.now();
      const target = await connectionTarget(`rehearse-${id}`);
      const r = await rehearse(target, id, settings(), { inSandbox: process.env.REHEARSE_IN === 'sandbox', strategy: process.env.STRATEGY });
      console.log(`  fresh dump       ${r.dumpSeconds.toFixed(2)} s  ${r.dump}`);
      console.log(`  restore          ${r.restoreSeconds.toFixed(2)} s  into ${r.scratch} (${r.where})`);
      for (const st of r.run.steps) console.log(stepLine(st));
      console.log(`rehearse-${id}: passed on a copy of ${describeTarget(target)}; strategy ${r.run.strategy}; maintenance window there: ${r.run.windowSeconds?.toFixed(1)} s, dump included (${seconds(t0)})`);
    },
  });
}

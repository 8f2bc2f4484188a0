#!/usr/bin/env tsx
// The runbook's "test it before production", automated: a fresh dump of DATABASE_URL restored
// into a scratch database (same server, or a throwaway sandbox), the whole runbook run there,
// each step timed, the scratch database dropped. Production is only read, by pg_dump.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, Refusal, seconds, step, type Command } from './lib/cli/cli.js';
import { settings, type Settings, connectionTarget } from './lib/connection/config.js';
import { describeTarget, withDatabase, type Target } from './lib/connection/target.js';
import { withSql } from './lib/connection/db.js';
import { findPgBindir, startSandbox } from './lib/dev/sandbox.js';
import { dump } from './lib/backup/dump.js';
import { migrate, stepLine, type RunResult } from './migrate.js';
import { restore } from './lib/backup/restore.js';
import { isMain } from './lib/cli/entry.js';
import { loadMigration } from './lib/runbook/migration.js';
import { openRun } from './lib/runbook/journal.js';
import { chooseStrategy, requestedStrategy } from './lib/runbook/strategy.js';

export interface Rehearsal {
  where: 'server' | 'sandbox';
  scratch: string;
  dump: string;
  dumpSeconds: number;
  restoreSeconds: number;
  run: RunResult;
}

/**
 * REHEARSE_IN=sandbox restores into a PostgreSQL started on this host, with this host's programs
 * (the production container's are beside production's server, not the sandbox). Checked before
 * production is read: they are all there and can read a dump of the server's version.
 */
async function sandboxPreflight(target: Target, id: string): Promise<void> {
  const bindir = findPgBindir();
  const needed = ['initdb', 'pg_ctl', 'postgres', 'pg_dump', 'pg_restore', 'psql'];
  const missing = bindir ? needed.filter((p) => !existsSync(join(bindir, p))) : needed;
  const next =
    `Install them (\`apt-get install -y postgresql\`), or rehearse on production's server: \`make rehearse-${id}\` ` +
    'without REHEARSE_IN (needs CREATEDB).';
  if (missing.length) {
    throw new Refusal(
      `rehearse-${id}: REHEARSE_IN=sandbox runs a PostgreSQL on this host, whose programs are missing ` +
        `(${missing.join(', ')}${bindir ? ` in ${bindir}` : ''}).`,
      next,
    );
  }
  const [{ num }] = await withSql(target, (sql) => sql`SELECT current_setting('server_version_num')::int AS num`);
  const local = execFileSync(join(bindir!, 'postgres'), ['--version'], { encoding: 'utf8' });
  const [localMajor, serverMajor] = [Number(/(\d+)/.exec(local)?.[1]), Math.floor(num / 10000)];
  if (!(localMajor >= serverMajor)) {
    throw new Refusal(
      `rehearse-${id}: this host's PostgreSQL is ${localMajor}, older than production's (${serverMajor}); ` +
        'it cannot restore its dump.',
      next.replace('Install them', `Install PostgreSQL ${serverMajor}`),
    );
  }
}

export async function rehearse(
  target: Target,
  id: string,
  s: Settings,
  opts: { inSandbox?: boolean; strategy?: string; log?: (l: string) => void } = {},
): Promise<Rehearsal> {
  const log = opts.log ?? console.log;
  if (opts.inSandbox) await sandboxPreflight(target, id);
  // STRATEGY unset: the strategy production's run would take, chosen on production (a copy has
  // none of its replication slots), then rehearsed by name.
  const m = loadMigration(id);
  const strategy =
    requestedStrategy(opts.strategy, m)?.name ??
    (await withSql(target, async (sql) => {
      const c = await chooseStrategy(sql, undefined, m, (await openRun(sql, id))?.done);
      log(`  strategy ${c.strategy.name} (STRATEGY unset, as production would take it): ${c.why}`);
      return c.strategy.name;
    }));
  // The fresh dump is production's: through PG_SERVICE / PG_CONTAINER when set, as make dump does.
  const fresh = await step('fresh dump of the production database', () => dump(target, s, log), log);
  const sandbox = opts.inSandbox ? await step('start a throwaway PostgreSQL', () => startSandbox(), log) : undefined;
  const server = sandbox?.target ?? target;
  const scratch = `${target.database}_rehearse_${Date.now().toString(36)}`.slice(0, 63);
  const scratchTarget = withDatabase(server, scratch);
  const work = mkdtempSync(join(tmpdir(), 'bm-rehearse-'));
  // The copy's own settings: its lock file and dumps in a temp folder, nothing beside production's
  // and no app container; its PostgreSQL programs are production's (same server) or this host's.
  const copy: Settings = {
    ...s,
    appContainer: undefined,
    appService: undefined,
    appUser: undefined,
    dbGuard: true,
    maintenanceDir: join(work, 'maintenance'),
    backupDir: join(work, 'backups'),
    ...(sandbox ? { pgContainer: undefined, pgService: undefined } : {}),
  };
  // Whatever fails from here failed on the scratch copy, which is dropped: production was only read.
  const onCopy = (what: string, next: string) => (err: Error & { exitCode?: number }) => {
    const cause = err.message.replace(/^(migrate-\d+|restore): /, '');
    throw new Refusal(
      `rehearse-${id}: ${what} the scratch copy ${scratch} (dropped); production is untouched: ${cause}`,
      `${next} Nothing to restore.`,
      err.exitCode === 2 ? 2 : 1,
    );
  };
  try {
    await withSql(server, (sql) => sql`CREATE DATABASE ${sql(scratch)}`).catch((err) => {
      if (err.code !== '42501') throw err;
      throw new Refusal(
        `rehearse-${id}: cannot create a scratch database on production's server (${err.message}).`,
        `Rehearse in a throwaway PostgreSQL on this host instead: make rehearse-${id} REHEARSE_IN=sandbox.`,
      );
    });
    const t0 = performance.now();
    await step(
      `restore it into ${scratch}`,
      () => restore(scratchTarget, copy, fresh.path, { checked: fresh.manifest, log, portable: true }),
      log,
    ).catch(onCopy('the fresh dump could not be restored into', `Fix the cause, then \`make rehearse-${id}\` again.`));
    const restoreSeconds = (performance.now() - t0) / 1000;
    const run = await migrate(scratchTarget, id, copy, { strategy, log: (l) => log(`  | ${l}`) }).catch(
      onCopy(
        'the rehearsal failed on',
        `The copy has production's schema and data: fix what the cause names (there, or in ` +
          `migration ${id}'s files), then \`make rehearse-${id}\` again.`,
      ),
    );
    return {
      where: sandbox ? 'sandbox' : 'server',
      scratch,
      dump: fresh.path,
      dumpSeconds: fresh.seconds,
      restoreSeconds,
      run,
    };
  } finally {
    await withSql(server, (sql) => sql`DROP DATABASE IF EXISTS ${sql(scratch)} WITH (FORCE)`).catch((err) =>
      log(`  warning: could not drop ${scratch}: ${err.message}`),
    );
    sandbox?.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(args: string[]): Command {
  const id = args[0] ?? '';
  return {
    name: `rehearse-${id}`,
    usage:
      'usage: breaking-migrations rehearse-NNNN   ' +
      '(make rehearse-NNNN [REHEARSE_IN=sandbox] [STRATEGY=update|rewrite|rename])',
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
      const r = await rehearse(target, id, settings(), {
        inSandbox: process.env.REHEARSE_IN === 'sandbox',
        strategy: process.env.STRATEGY,
      });
      console.log(`  fresh dump       ${r.dumpSeconds.toFixed(2)} s  ${r.dump}`);
      console.log(`  restore          ${r.restoreSeconds.toFixed(2)} s  into ${r.scratch} (${r.where})`);
      for (const st of r.run.steps) console.log(stepLine(st));
      if (r.run.alreadyApplied)
        return void console.log(
          `rehearse-${id}: already applied on a copy of ${describeTarget(target)}: final checks pass, ` +
            `nothing to rehearse (${seconds(t0)})`,
        );
      console.log(
        `rehearse-${id}: passed on a copy of ${describeTarget(target)}; strategy ${r.run.strategy}; ` +
          `maintenance window there: ${r.run.windowSeconds?.toFixed(1)} s, dump included (${seconds(t0)})`,
      );
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

#!/usr/bin/env tsx
// The whole runbook in one command: preflight → maintenance on → dump → expand → verifier →
// contract → final checks → maintenance off. Each step is journaled in the target database; a
// run killed at any moment is finished by running it again, and a finished one is not redone.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { main, Refusal, seconds, step, type Command } from './lib/cli/cli.js';
import { settings, type Settings, connectionTarget, readSql } from './lib/connection/config.js';
import type { Target } from './lib/connection/target.js';
import { connect, type Tx } from './lib/connection/db.js';
import { ensureJournal, lastFinished, openRun, record } from './lib/runbook/journal.js';
import { ensureToolkitSaying } from './lib/runbook/toolkit.js';
import { loadMigration } from './lib/runbook/migration.js';
import { failed, RunFailed } from './lib/runbook/failure.js';
import { orLost } from './lib/connection/lost-server.js';
import { checkRights } from './lib/runbook/rights.js';
import { readEnumSpec } from './lib/enum/enum-spec.js';
import { appPreflight, appsReadFinalLabels } from './lib/runbook/instances.js';
import { deployImage, deployPreflight } from './lib/runbook/deploy.js';
import { describePrisma, prismaHistory, prismaPreflight, type PrismaResult } from './prisma.js';
import {
  dbState,
  describeFailed,
  finalChecks,
  preflightProblems,
  waitForOrphans,
  type FinalCheck,
} from './lib/runbook/runbook.js';
import { chooseStrategy, ranAs, requestedStrategy, type StrategyName } from './lib/runbook/strategy.js';
import { dump, dumpPreflight } from './lib/backup/dump.js';
import { readManifest, writesSince } from './lib/backup/manifest.js';
import { describeWritesSince, undoRename } from './lib/runbook/inverse.js';
import { expectedWrites, withGrowth } from './lib/cli/progress.js';
import { checkLockTargets, maintenanceOff, maintenanceOn, type OffResult } from './lib/maintenance/mode.js';
import { schema } from './schema.js';
import {
  describeCounts,
  relabelled,
  totalUpdated,
  verify,
  type Counts,
  type VerifyReport,
} from '../verify/verifier.js';
import { isMain } from './lib/cli/entry.js';

/** The contract's data refusals ("3 rows still hold USER in public.\"Invite\".role"), when they are all it says. */
export function rowsStillHolding(message: string): string[] | undefined {
  const problems = /refused, nothing changed: (.*)$/s.exec(message)?.[1].split('; ') ?? [];
  return problems.length && problems.every((p) => /^\d+ rows? still holds? /.test(p)) ? problems : undefined;
}

export interface StepTime {
  step: string;
  seconds: number;
  skipped?: string;
}

/** One line of a run's summary table. */
export const stepLine = (st: StepTime) =>
  `  ${st.step.padEnd(16)} ${st.skipped ? `skipped: ${st.skipped}` : `${st.seconds.toFixed(2)} s`}`;
export interface RunResult {
  migration: string;
  /** Absent only when already applied with no finished mutation in the journal (outside the toolkit). */
  strategy?: StrategyName;
  runId: string;
  resumed: boolean;
  alreadyApplied: boolean;
  steps: StepTime[];
  dump?: string;
  verifier?: Pick<VerifyReport, 'before' | 'after' | 'updated'> & Partial<Pick<VerifyReport, 'seconds'>>;
  checks: FinalCheck[];
  windowSeconds?: number;
  report?: string;
  prisma?: PrismaResult;
  outageSeconds?: number; // since maintenance went ON, earlier attempts of this run included
  writesSinceDump?: ReturnType<typeof writesSince>; // a dump taken before the window (STRATEGY=rename)
}
export interface RunOptions {
  autoRestore?: boolean;
  lockTimeout?: string;
  strategy?: string;
  prismaDir?: string;
  log?: (line: string) => void;
  progressEveryMs?: number; // how often the long steps print their progress (the bench measures the time left)
}

/** One step of the runbook. `journal`: which of its rows the step writes ('start+done' by default). */
interface RunbookStep<T = unknown> {
  name: string;
  journal?: 'start+done' | 'start' | 'done' | 'none';
  before?: () => Promise<void>; // runs even when the step is skipped
  skip?: () => string | undefined; // why the step does not run, when it does not
  run: () => Promise<T>;
  keep?: (value: T) => unknown; // what its 'done' row keeps
  after?: (value: T | undefined) => Promise<void>; // with undefined when skipped
  failed?: (err: unknown) => Promise<never>; // a failure that is not the runbook's failure block
}

/** Keeps each row's own value type while the table holds them all. */
const stepOf = <T>(st: RunbookStep<T>) => st as unknown as RunbookStep;

export async function migrate(target: Target, id: string, s: Settings, opts: RunOptions = {}): Promise<RunResult> {
  const log = opts.log ?? console.log;
  const m = loadMigration(id);
  const requested = requestedStrategy(opts.strategy, m); // an unknown STRATEGY is refused before connecting
  const sql = connect(target, { appName: 'breaking-migrations-migrate' });
  try {
    const key = `breaking-migrations:${id}`;
    const [{ locked }] = await sql`SELECT pg_try_advisory_lock(hashtext(${key})) AS locked`;
    if (!locked) {
      // Another run, or the server-side leftovers of a killed one, which end within seconds.
      log(`  another session holds migrate-${id}'s lock; waiting up to 30 s…`);
      await sql`SELECT set_config('lock_timeout', '30s', false)`;
      await sql`SELECT pg_advisory_lock(hashtext(${key}))`.catch((err) => {
        if (err.code !== '55P03') throw err;
        throw new Refusal(
          `migrate-${id}: another run of migrate-${id} is in progress on this database.`,
          'Wait for it to end (`make maintenance-status`), then run again.',
        );
      });
      await sql`SELECT set_config('lock_timeout', '0', false)`;
    }
    // Before anything reads the journal or creates the toolkit: a role without the rights the
    // run needs is refused here, with each fix, and maintenance never goes on.
    await checkRights(sql, id, s.dbGuard);
    const open = await openRun(sql, id);
    const state = await dbState(target, m);
    const runId =
      open?.runId ?? `${new Date().toISOString().slice(0, 19).replace(/\D/g, '')}-${randomBytes(3).toString('hex')}`;
    const base = { migration: id, runId, resumed: Boolean(open), alreadyApplied: false, steps: [], checks: [] };

    if (!open && state.expanded && state.contracted) {
      // Finished before: check, change nothing. The result names the strategy that finished it.
      const last = await lastFinished(sql, id, 'mutate');
      const applied: RunResult = { ...base, strategy: ranAs(last, id) };
      // A rename's journal holds catalog facts, not counts: its data is compared to nothing.
      const committed = (last?.proof === 'catalog' ? undefined : last?.after) as Counts | undefined;
      applied.checks = await finalChecks(sql, m, committed);
      const bad = applied.checks.filter((c) => !c.ok && (c.kind === 'schema' || committed));
      if (bad.length)
        throw new Refusal(
          `migrate-${id}: already applied, but final checks fail: ${describeFailed(bad)}.`,
          'Inspect with `make status`.',
          1,
        );
      // Prisma's history is bookkeeping of its own: finished (idempotently) whenever asked for.
      if (opts.prismaDir)
        applied.prisma = await prismaHistory(target, id, opts.prismaDir, { command: `migrate-${id}` });
      return { ...applied, alreadyApplied: true };
    }
    const { strategy, why, note } = await chooseStrategy(sql, requested, m, open?.done);
    const result: RunResult = { ...base, strategy: strategy.name };
    const done = open?.done ?? {};
    if (open) log(`  resuming run ${result.runId} (done: ${Object.keys(done).join(', ') || 'nothing'})`);
    if (why) log(`  strategy ${strategy.name} (STRATEGY unset): ${why}`);
    if (note) log(`  note: ${note}`);

    // The runbook as data: each row says what the step does, when it is skipped and why, and what
    // the journal keeps; the loop below times it, journals it and names it in a failure block.
    // The journal exists once 'toolkit' is done, so neither preflight nor toolkit journals a
    // start; the mutation's 'done' row commits inside the verifier's transaction, with the data.
    let dumpPath = done.dump?.path as string | undefined;
    let windowStart: number | undefined;
    let writes: Awaited<ReturnType<typeof expectedWrites>>;
    let contractedAt: Date | undefined;
    let shipped: Awaited<ReturnType<typeof deployImage>> | undefined; // APP_IMAGE's deploy, when it ran
    const spec = readEnumSpec(id); // an enum migration: what its app instances must know
    let off: OffResult | undefined;
    const contracted = state.contracted ? 'schema already contracted' : undefined;
    const progress = opts.progressEveryMs ? { everyMs: opts.progressEveryMs, live: false } : {};
    /** A long step with its percentage and time left. */
    const grow = <T>(label: string, expected: number | undefined, fn: () => Promise<T>) =>
      withGrowth(target, label, expected, log, fn, progress);
    const byStrategy = (runs: boolean) => (runs ? undefined : `done by STRATEGY=${strategy.name}`);
    // The visitors' outage began when the lock did, which may be an earlier, failed attempt.
    const outage = (since?: string) => (since ? (Date.now() - Date.parse(since)) / 1000 : undefined);
    // The mutation and its invariants in one transaction. Strategies that reach the final schema
    // here record dbmate's versions in the same transaction.
    const mutate = () =>
      verify(sql, m, {
        lockTimeout: opts.lockTimeout,
        log,
        mutation: { sql: strategy.mutationSql, updatesRows: strategy.updatesRows, ...strategy.proof },
        beforeCommit: async (tx: Tx, r) => {
          for (const v of strategy.versionsInMutation)
            await tx`INSERT INTO breaking_migrations.schema_migrations (version) VALUES (${v}) ON CONFLICT DO NOTHING`;
          await record(tx, {
            runId: result.runId,
            migration: id,
            step: 'mutate',
            event: 'done',
            seconds: r.seconds.mutation,
            detail: {
              strategy: strategy.name,
              proof: strategy.proof ? 'catalog' : 'count',
              before: r.before,
              after: r.after,
              updated: r.updated,
            },
          });
        },
      });
    const dumpStep = stepOf({
      name: 'dump',
      skip: () => (dumpPath && existsSync(dumpPath) ? `taken at the start of this run: ${dumpPath}` : contracted),
      run: () => dump(target, s, log),
      // beforeWindow: the run's way back is its inverse, not this dump (a resume keeps the strategy).
      keep: (r) => ({
        path: r.path,
        sha256: r.sha256,
        bytes: r.bytes,
        beforeWindow: strategy.dumpBeforeWindow || undefined,
      }),
      after: async (r) => {
        dumpPath = r?.path ?? dumpPath;
        result.dump = dumpPath;
      },
    });
    const runbook: RunbookStep[] = [
      stepOf({
        name: 'preflight',
        journal: 'none',
        run: async () => {
          await dumpPreflight(sql, target, s); // and where pg_dump runs: PG_SERVICE's task, PG_CONTAINER, here
          // The app's containers or tasks exist, run, and let the lock be written: a typo in
          // APP_SERVICE is refused here, not found at maintenance-on.
          if (!state.contracted) await checkLockTargets(s);
          await deployPreflight(s, log); // APP_IMAGE: it needs APP_SERVICE and the image on this node
          // Prisma's side is checked before anything changes, so that its step at the end cannot be refused.
          if (opts.prismaDir) await prismaPreflight(sql, id, opts.prismaDir, `migrate-${id}`);
          const { problems, counts } = state.contracted
            ? { problems: [] }
            : await preflightProblems(sql, m, {
                checkContract: strategy.checkContract,
                trySql: strategy.tryInPreflight && !done.mutate ? strategy.mutationSql : undefined,
              });
          for (const line of counts ? describeCounts(counts) : []) log(`  preflight: ${line}`);
          if (problems.length)
            throw new Refusal(
              `migrate-${id}: preflight: ${problems.join('; ')}.`,
              'Nothing was changed. Fix each object listed, then run again.',
            );
          // Last, as it may create the instances' table (the toolkit's own bookkeeping): the app's
          // replicas that report their labels must be able to read what the mutation writes.
          if (!state.contracted && spec) await appPreflight(sql, id, spec, s, log);
        },
      }),
      // Before the dump, so that the dump holds the toolkit's schema as the rest of the run uses it.
      stepOf({
        name: 'toolkit',
        journal: 'done',
        run: async () => {
          await schema(target, 'toolkit');
          // dbmate installs the functions once; after an upgrade the database may hold another release's.
          await ensureToolkitSaying(sql, log);
          await ensureJournal(sql);
        },
        // What the long steps will write, for their percentage and time left: read before the
        // maintenance window opens (plan.sql may sample a table the planner never analysed).
        after: async () => {
          writes = await expectedWrites(sql, m.plan);
        },
      }),
      // A strategy that writes no row dumps while the app still runs: its way back is its inverse.
      ...(strategy.dumpBeforeWindow ? [dumpStep] : []),
      stepOf({
        name: 'maintenance-on',
        before: async () => {
          windowStart = performance.now();
        },
        skip: () => contracted,
        run: () => maintenanceOn(s, target, { reason: `migration ${id}`, retryAfter: 300 }),
        after: async (r) => say(r?.notes),
      }),
      ...(strategy.dumpBeforeWindow ? [] : [dumpStep]),
      stepOf({
        name: 'expand',
        // Even when skipped: the orphans of a killed run must not race this one.
        before: () => waitForOrphans(sql, log),
        skip: () => byStrategy(strategy.expandStep),
        run: () => schema(target, 'expand', id),
      }),
      stepOf({
        name: 'mutate',
        journal: 'start',
        // The window is open, the app stopped: what restoring a dump taken before it would lose.
        before: async () => {
          const manifest = strategy.dumpBeforeWindow && !done.mutate && dumpPath && readManifest(dumpPath);
          if (!manifest) return;
          result.writesSinceDump = writesSince(manifest, await sql.unsafe(readSql('table_writes.sql')));
          log(`  ${describeWritesSince(result.writesSinceDump, id)}`);
        },
        skip: () => (done.mutate ? 'committed earlier in this run' : undefined),
        run: () => {
          const expected =
            strategy.name === 'rename' ? 0 : strategy.name === 'rewrite' ? writes?.rewrite : writes?.update;
          return grow('mutate', expected, mutate);
        },
        after: async (v) => {
          result.verifier = v ?? (done.mutate as RunResult['verifier']);
        },
      }),
      stepOf({
        name: 'contract',
        skip: () => byStrategy(strategy.contractStep),
        after: async () => {
          contractedAt = new Date();
        },
        run: () =>
          grow('contract', writes?.rewrite, async () => {
            for (let attempt = 1; ; attempt++) {
              try {
                return await schema(target, 'contract', id);
              } catch (err) {
                // A writer that bypassed the guard added old labels after the mutation: carry them
                // through, but only when rows are all that stops the contract (the verifier would
                // change them); anything else is not the verifier's to fix.
                const held = rowsStillHolding((err as Error).message);
                if (attempt >= 3 || !held) throw err;
                log(
                  `  rows with an old label appeared after the mutation: ${held.join('; ')}; ` +
                    `running the verifier again (attempt ${attempt + 1})`,
                );
                result.verifier = await mutate();
              }
            }
          }),
      }),
      stepOf({
        name: 'final-checks',
        run: async () => {
          // After a rename nothing but the catalog changed since the verifier's proof, which took
          // no counts: the schema is checked, the table is not scanned.
          result.checks = await finalChecks(sql, m, strategy.proof ? undefined : result.verifier?.after);
          const enforced = result.checks.filter((c) => c.kind === 'schema' || (s.dbGuard && result.verifier));
          const bad = enforced.filter((c) => !c.ok);
          if (bad.length) throw new Error(`final checks failed: ${describeFailed(bad)}`);
        },
        keep: () => ({ checks: result.checks }),
      }),
      ...(s.appImage ? [appImageStep()] : []),
      stepOf({
        name: 'maintenance-off',
        run: async () => {
          if (spec) await appsReadFinalLabels(sql, spec, s, contractedAt, shipped?.replaced, log);
          return maintenanceOff(s, target);
        },
        keep: (r) => ({ since: r.since, outageSeconds: outage(r.since) }),
        after: async (r) => {
          off = r;
          say(r?.notes);
          result.windowSeconds = windowStart === undefined ? undefined : (performance.now() - windowStart) / 1000;
          result.outageSeconds = outage(off?.since) ?? result.windowSeconds;
        },
      }),
      ...(opts.prismaDir ? [prismaStep(opts.prismaDir)] : []),
    ];

    // Maintenance's notes, each once (on and off both say where the lock is).
    const said = new Set<string>();
    function say(notes: string[] = []) {
      for (const n of notes.filter((x) => !said.has(x))) {
        said.add(n);
        log(`  note: ${n}`);
      }
    }

    // APP_IMAGE: the final app ships inside the window, before visitors come back.
    function appImageStep(): RunbookStep {
      return stepOf({
        name: 'app-image',
        run: () => deployImage(sql, s, spec, log),
        keep: (r) => r,
        after: async (r) => {
          shipped = r;
        },
      });
    }

    function prismaStep(dir: string): RunbookStep {
      return stepOf({
        name: 'prisma',
        run: () => prismaHistory(target, id, dir, { runId: result.runId, command: `migrate-${id}` }),
        keep: (r) => ({ folder: r.folder, checksum: r.checksum, addedRow: r.addedRow }),
        after: async (r) => {
          result.prisma = r;
        },
        // The database is done and the site is back: a failure here is Prisma's bookkeeping only.
        failed: async (err) => {
          const cause = (err as Error).message;
          await record(sql, {
            runId: result.runId,
            migration: id,
            step: 'prisma',
            event: 'failed',
            detail: { cause },
          }).catch(() => {});
          throw new RunFailed(
            `migrate-${id}: the database is migrated and maintenance is OFF, but Prisma's history was not updated: ` +
              cause.replace(/^migrate-\d+: /, ''),
            `Fix the cause, then \`make prisma-${id} PRISMA_DIR=${dir}\` ` +
              `(or \`make migrate-${id}\` again) finishes it.`,
            1,
          );
        },
      });
    }

    let current = 'preflight';
    try {
      for (const st of runbook) {
        current = st.name;
        await st.before?.();
        const why = st.skip?.();
        if (why) {
          log(`• ${st.name}: skipped (${why})`);
          result.steps.push({ step: st.name, seconds: 0, skipped: why });
          await st.after?.(undefined);
          continue;
        }
        const journal = st.journal ?? 'start+done';
        const t0 = performance.now();
        if (journal === 'start+done' || journal === 'start')
          await record(sql, { runId: result.runId, migration: id, step: st.name, event: 'start' });
        const value = await step(st.name, () => orLost(st.run()), log).catch((err) =>
          st.failed ? st.failed(err) : Promise.reject(err),
        ); // a lost server fails the step, never the process
        const secs = (performance.now() - t0) / 1000;
        result.steps.push({ step: st.name, seconds: secs });
        if (journal === 'start+done' || journal === 'done') {
          const detail = st.keep?.(value) ?? {};
          await record(sql, {
            runId: result.runId,
            migration: id,
            step: st.name,
            event: 'done',
            seconds: secs,
            detail,
          });
        }
        await st.after?.(value);
      }
      await record(sql, {
        runId: result.runId,
        migration: id,
        step: 'finish',
        event: 'done',
        detail: { steps: result.steps },
      });
      mkdirSync(resolve(s.backupDir), { recursive: true, mode: 0o700 }); // a resumed run may not have dumped here
      result.report = join(resolve(s.backupDir), `migrate-${id}_${result.runId}.report.json`);
      writeFileSync(result.report, `${JSON.stringify(result, null, 2)}\n`, { mode: 0o600 });
      return result;
    } catch (err) {
      if (err instanceof RunFailed) throw err; // already says where the run stands
      return await failed(err, {
        sql,
        target,
        m,
        s,
        runId: result.runId,
        step: current,
        dumpPath,
        autoRestore: opts.autoRestore,
        log,
        resumed: result.resumed,
        // A rename's way back keeps every write; its dump, taken before the window, would not.
        inverse: strategy.dumpBeforeWindow
          ? () => undoRename(sql, m, result.runId, { lockTimeout: opts.lockTimeout, log }).then(() => undefined)
          : undefined,
      });
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(args: string[]): Command {
  const id = args[0] ?? '';
  return {
    name: `migrate-${id}`,
    usage:
      'usage: breaking-migrations migrate-NNNN   ' +
      '(make migrate-NNNN [STRATEGY=update|rewrite|rename] [AUTO_RESTORE=1] [LOCK_TIMEOUT=10s])',
    help: `
Runs migration NNNN end to end on DATABASE_URL: preflight (server, pg_dump, disk, the contract's
blockers: nothing changes if it fails) → maintenance on → dump → expand → verifier (mutation and
invariants in one transaction) → contract (rewrite: inside the verifier) → final checks →
maintenance off → summary.
Journaled in breaking_migrations.journal: run it again after a crash or a failure and it resumes;
after a success it checks and changes nothing. On failure it stops with maintenance ON and prints
the state and the exact \`make restore DUMP=…\` command; AUTO_RESTORE=1 restores that dump itself
when data had changed. STRATEGY unset: rewrite when nothing sees an UPDATE of the tables (no
trigger, rule, publication or logical slot), update otherwise (the run's log says which and why).
STRATEGY=update: the runbook's UPDATE, then the contract; STRATEGY=rewrite folds the mutation into
the type swap (one rewrite); STRATEGY=rename relabels in the catalog (pure renames only): no row written, no scan, its
invariants proved from the catalog (NNNN/rename_invariants.sql). It dumps before maintenance-on,
while the app runs, and says how many writes came after the dump; its way back, inside the
window or after, is \`make rollback\`: the relabel undone in the catalog, proved, every write kept.
PRISMA_DIR=path/to/app/prisma: the run also tells Prisma (make prisma-NNNN, checked in preflight,
done once the contract has committed and maintenance is off): the migration folder, the
_prisma_migrations row, schema.prisma's enum block.
Exit codes: 0 done (or already applied), 1 a step failed, 2 refused before any change, 3 unreachable.`,
    async run() {
      const t0 = performance.now();
      const s = settings();
      const r = await migrate(await connectionTarget(`migrate-${id}`), id, s, {
        autoRestore: process.env.AUTO_RESTORE === '1',
        lockTimeout: process.env.LOCK_TIMEOUT,
        strategy: process.env.STRATEGY,
        prismaDir: process.env.PRISMA_DIR || undefined,
      });
      if (r.prisma?.diff) process.stdout.write(r.prisma.diff);
      if (r.prisma) console.log(`  prisma: ${describePrisma(r.prisma)}`);
      // A data check's value is a table's counts as JSON: shown only when it differs.
      for (const c of r.checks) {
        const shown = c.kind === 'schema' ? `: ${c.actual}` : '';
        const differs = c.ok ? '' : `: ${c.actual} (expected ${c.expected}; writes were not held back)`;
        console.log(`  ${c.ok ? 'ok  ' : 'NOTE'} ${c.check}${shown}${differs}`);
      }
      if (r.alreadyApplied)
        return void console.log(`migrate-${id}: already applied; final checks pass; nothing changed (${seconds(t0)})`);
      for (const st of r.steps) console.log(stepLine(st));
      const v = r.verifier;
      console.log(`  report: ${r.report}`);
      const updated = totalUpdated(v?.updated);
      const change = !v
        ? ''
        : updated !== null
          ? `${updated} rows updated; `
          : r.strategy === 'rename'
            ? 'relabelled in the catalog, no row written; '
            : `${relabelled(v.before, v.after) ?? 'the'} values relabelled in the table rewrite; `;
      const earlier =
        r.outageSeconds !== undefined && r.windowSeconds !== undefined && r.outageSeconds > r.windowSeconds + 1
          ? ` (site in maintenance ${r.outageSeconds.toFixed(1)} s, earlier attempts included)`
          : '';
      const since = r.writesSinceDump ? ` (before the window; ${r.writesSinceDump.total} writes since)` : '';
      console.log(
        `migrate-${id}: done${r.resumed ? ' (resumed)' : ''}; ${change}strategy ${r.strategy}; ` +
          `maintenance window ${r.windowSeconds?.toFixed(1) ?? '?'} s${earlier}; ` +
          `dump ${r.dump ?? 'none'}${since} (${seconds(t0)})`,
      );
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

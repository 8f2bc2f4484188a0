#!/usr/bin/env tsx
// make bench ROWS=n: in one run, on a throwaway PostgreSQL, the bare SQL floor (bench/floor.sql
// through psql) against `make migrate-0001` end to end, ROUNDS times each on identical copies
// of one seeded database; medians, the ratio of the maintenance windows, dump/restore speed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, Refusal, type Command } from '../bin/lib/cli/cli.js';
import { repoPath, settings } from '../bin/lib/connection/config.js';
import { libpqEnv, withDatabase, type Target } from '../bin/lib/connection/target.js';
import { withSql } from '../bin/lib/connection/db.js';
import { startSandbox } from '../bin/lib/dev/sandbox.js';
import { migrate } from '../bin/migrate.js';
import { restore } from '../bin/lib/backup/restore.js';
import { schema } from '../bin/schema.js';
import { seed } from '../bin/seed.js';
import { isMain } from '../bin/lib/cli/entry.js';
import { loadMigration } from '../bin/lib/runbook/migration.js';
import { renameToUndo, undoRename } from '../bin/lib/runbook/inverse.js';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const parts = (file: string): Record<string, string> => {
  const out: Record<string, string> = {};
  let current = '';
  for (const line of readFileSync(repoPath(file), 'utf8').split('\n')) {
    const m = /^-- part: (\w+)/.exec(line);
    if (m) current = m[1];
    else if (current) out[current] = `${out[current] ?? ''}${line}\n`;
  }
  return out;
};

interface TimedLine {
  t: number;
  line: string;
}

/**
 * The time left as a step's progress lines said it, against the truth: for each line, how far its
 * predicted end (now + "~N s left") falls from the step's real end, as a share of the step's
 * duration (0.1: off by a tenth of the step). Lines still "estimating" are not counted.
 */
export function etaErrors(lines: TimedLine[], step: string): number[] {
  const start = lines.find((l) => l.line === `→ ${step}…`)?.t;
  const end = lines.find((l) => l.line.startsWith(`✓ ${step} (`))?.t;
  if (start === undefined || end === undefined || end <= start) return [];
  return lines
    .filter((l) => l.t > start && l.t < end)
    .map((l) => ({ t: l.t, left: /^ {2}… (\w+): .*, ~(\d+) s left$/.exec(l.line) }))
    .filter((x) => x.left?.[1] === step)
    .map((x) => Math.abs(x.t + Number(x.left![2]) - end) / (end - start));
}

/** make rollback after a rename run: its relabel undone in the catalog, proved; the seconds it took. */
async function timedInverse(db: Target): Promise<number> {
  return withSql(db, async (sql) => {
    const m = loadMigration('0001');
    const runId = await renameToUndo(sql, m);
    if (!runId) throw new Error('bench: the rename run left nothing to undo');
    const t0 = performance.now();
    const r = await undoRename(sql, m, runId);
    if (!r.committed || r.checks.some((c) => !c.ok)) throw new Error('bench: the inverse was not proved');
    return (performance.now() - t0) / 1000;
  });
}

/** One psql run of a part, timed from the outside like an operator would. */
function psql(bindir: string, url: Target, sql: string): number {
  const t0 = performance.now();
  const r = spawnSync(join(bindir, 'psql'), ['--no-psqlrc', '-q', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    env: { ...process.env, ...libpqEnv(url) },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`floor: psql failed: ${r.stderr.trim()}`);
  return (performance.now() - t0) / 1000;
}

export interface BenchResult {
  rows: number;
  rounds: number;
  machine: string;
  /**
   * window: what visitors wait, maintenance-on to -off, the dump included where the strategy takes
   * it inside (rename dumps before); windowNoDump against the floor; steps.inverse: rename's way back.
   */
  strategies: Record<string, { window: number; windowNoDump: number; ratio: number; steps: Record<string, number> }>;
  floor: Record<string, number>;
  toolkit: Record<string, number>;
  floorWindow: number;
  /** bench/floor_rewrite.sql: the fold's own bare statement, and the toolkit's window against it. */
  rewriteFloor: number;
  rewriteFloorRatio: number;
  defaultStrategy: string; // what the toolkit's run took with STRATEGY unset (chooseStrategy)
  floorRounds: Record<string, number[]>; // each floor part's time in each round (floorWindow: the median of their sums)
  toolkitWindow: number;
  toolkitWindowWithDump: number;
  ratio: number;
  roundRatios: number[]; // toolkit / floor in each round, and their median
  /** The time left's median error per step and strategy (etaErrors), over every progress line of every round. */
  eta: Record<string, { medianError: number; lines: number }>;
  databaseMB: number;
  dumpMB: number;
  dumpMBps: number;
  restoreMBps: number;
}

export async function bench(
  rows: number,
  rounds: number,
  log: (l: string) => void,
  others: string[] = [],
): Promise<BenchResult> {
  const sb = await startSandbox({
    settings: { shared_buffers: '256MB', maintenance_work_mem: '256MB', max_wal_size: '4GB' },
  });
  const work = mkdtempSync(join(tmpdir(), 'bm-bench-'));
  try {
    const template = withDatabase(sb.target, 'bench_template');
    log(`→ seeding ${rows} users into a template database…`);
    await schema(template, 'baseline');
    await seed(template, rows);
    await withSql(template, (sql) => sql`VACUUM ANALYZE "User"`);
    const databaseMB = await withSql(
      template,
      async (sql) => Number((await sql`SELECT pg_database_size(current_database()) AS b`)[0].b) / 1048576,
    );
    const copy = async (name: string) => {
      await withSql(sb.target, (sql) => sql`CREATE DATABASE ${sql(name)} TEMPLATE bench_template`);
      return withDatabase(sb.target, name);
    };
    const drop = (name: string) => withSql(sb.target, (sql) => sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`);
    // Untimed, before every timed run: the bench's own copies and drops (gigabytes at 10M rows)
    // and the previous run's writes are flushed, so that no run pays for another's I/O.
    const settle = async () => {
      await withSql(sb.target, (sql) => sql`CHECKPOINT`);
      spawnSync('sync');
    };
    const floor: Record<string, number[]> = {};
    const toolkit: Record<string, number[]> = {};
    const strategyRuns: Record<string, Record<string, number[]>> = {};
    const push = (into: Record<string, number[]>, k: string, v: number) => {
      into[k] ??= [];
      into[k].push(v);
    };
    const sql = parts('bench/floor.sql');
    const rewriteSql = parts('bench/floor_rewrite.sql');
    const rewriteFloor: number[] = [];
    const etaLines: Record<string, number[]> = {}; // each progress line's error, per "step, strategy"
    let defaultStrategy = '';
    // The other strategies' rounds first: right after an UPDATE run's gigabytes of writes,
    // this VM's disk slows every process start for minutes, which is the bench's doing.
    /** make migrate-0001 on a fresh copy `${name}_${r}`, each step's time and the windows into `into`. */
    const timedMigrate = async (name: string, r: number, into: Record<string, number[]>, strategy?: string) => {
      const db = await copy(`${name}_${r}`);
      const s = settings({ MAINTENANCE_DIR: join(work, `m-${name}-${r}`), BACKUP_DIR: join(work, `b-${name}-${r}`) });
      await settle();
      const lines: TimedLine[] = [];
      const log = (line: string) => lines.push({ t: performance.now() / 1000, line });
      const run = await migrate(db, '0001', s, { strategy, log, progressEveryMs: 1000 });
      if (!strategy && run.strategy) defaultStrategy = run.strategy;
      for (const st of ['mutate', 'contract']) {
        const errors = etaErrors(lines, st);
        const key = `${st}, ${run.strategy}`;
        if (errors.length) etaLines[key] = [...(etaLines[key] ?? []), ...errors];
      }
      // A step the strategy does inside another (rewrite's contract) is not timed as a step.
      for (const st of run.steps) if (!st.skipped) push(into, st.step, st.seconds);
      // Inside the mutate step, against the floor's one UPDATE: the statement, and what the verifier adds.
      const v = run.verifier?.seconds;
      if (v) {
        push(into, '  statement', v.mutation);
        push(into, '  counts+checks', v.lock + v.countBefore + v.countAfter + v.checks);
      }
      push(into, 'window', run.windowSeconds ?? NaN);
      // A strategy that dumps before maintenance-on (rename) has no dump in its window to take out.
      const at = (step: string) => run.steps.findIndex((x) => x.step === step);
      const dumpInWindow = at('dump') > at('maintenance-on') ? run.steps[at('dump')].seconds : 0;
      push(into, 'window-no-dump', (run.windowSeconds ?? NaN) - dumpInWindow);
      return { s, run };
    };
    for (let r = 1; r <= rounds; r++) {
      for (const name of others) {
        strategyRuns[name] ??= {};
        const byStep = strategyRuns[name];
        await timedMigrate(name, r, byStep, name);
        if (name === 'rename') push(byStep, 'inverse', await timedInverse(withDatabase(sb.target, `${name}_${r}`)));
        await drop(`${name}_${r}`);
        log(
          `  round ${r}: STRATEGY=${name} window ${byStep.window[r - 1].toFixed(2)} s, ` +
            `without the dump ${byStep['window-no-dump'][r - 1].toFixed(2)} s` +
            (byStep.inverse ? `; its inverse ${byStep.inverse[r - 1].toFixed(2)} s, proved` : ''),
        );
      }
    }
    const runFloor = async (r: number) => {
      const f = await copy(`floor_${r}`);
      // Untimed: read the table once, as the toolkit's dump does before its steps, so that both
      // start from a warm cache and the comparison measures the statements, not the disk.
      psql(sb.bindir, f, 'SELECT count(*) FROM "User"');
      await settle();
      for (const [part, text] of Object.entries(sql)) push(floor, part, psql(sb.bindir, f, text));
      await drop(`floor_${r}`);
      const fr = await copy(`floor_rewrite_${r}`);
      psql(sb.bindir, fr, 'SELECT count(*) FROM "User"');
      await settle();
      rewriteFloor.push(Object.values(rewriteSql).reduce((a, text) => a + psql(sb.bindir, fr, text), 0));
      await drop(`floor_rewrite_${r}`);
      log(`  round ${r}: floor, one rewrite ${rewriteFloor[r - 1].toFixed(2)} s`);
      log(
        `  round ${r}: floor ${Object.entries(floor)
          .map(([k, v]) => `${k} ${v[r - 1].toFixed(2)} s`)
          .join(', ')}`,
      );
    };
    const runToolkit = async (r: number) => {
      const { s, run } = await timedMigrate('toolkit', r, toolkit);
      push(toolkit, 'dumpMB', statSync(run.dump!).size / 1048576);
      const target = await copy(`restore_${r}`); // restore over the same data, as after a failed run
      await settle();
      const t0 = performance.now();
      await restore(target, s, run.dump!, { log: () => {} });
      push(toolkit, 'restore', (performance.now() - t0) / 1000);
      await Promise.all([drop(`toolkit_${r}`), drop(`restore_${r}`)]);
      log(
        `  round ${r}: toolkit window ${toolkit.window[r - 1].toFixed(2)} s ` +
          `(without the dump ${toolkit['window-no-dump'][r - 1].toFixed(2)} s)`,
      );
    };
    // Floor and toolkit take turns going first, so that a drift of the machine during a round
    // weighs on both sides alike; each round gives one ratio, and the bench reports their median.
    for (let r = 1; r <= rounds; r++) {
      if (r % 2) await runFloor(r).then(() => runToolkit(r));
      else await runToolkit(r).then(() => runFloor(r));
    }
    const med = (o: Record<string, number[]>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, median(v)]));
    const fm = med(floor);
    const tm = med(toolkit);
    const floorWindows = Object.values(floor)[0].map((_, i) => Object.values(floor).reduce((a, v) => a + v[i], 0));
    const floorWindow = median(floorWindows);
    const roundRatios = floorWindows.map((fw, i) => toolkit['window-no-dump'][i] / fw);
    return {
      rows,
      rounds,
      machine:
        `${process.platform} ${process.arch}, ${(await import('node:os')).cpus().length} cores, ` +
        'PostgreSQL sandbox (fsync off)',
      floor: fm,
      toolkit: tm,
      floorWindow,
      rewriteFloor: median(rewriteFloor),
      rewriteFloorRatio: median(rewriteFloor.map((fw, i) => toolkit['window-no-dump'][i] / fw)),
      defaultStrategy,
      floorRounds: floor,
      toolkitWindow: tm['window-no-dump'],
      toolkitWindowWithDump: tm.window,
      ratio: median(roundRatios),
      roundRatios,
      eta: Object.fromEntries(
        Object.entries(etaLines).map(([st, e]) => [st, { medianError: e.length ? median(e) : NaN, lines: e.length }]),
      ),
      databaseMB,
      strategies: Object.fromEntries(
        Object.entries(strategyRuns).map(([name, runs]) => {
          const steps = med(runs);
          const windowNoDump = steps['window-no-dump'];
          return [name, { window: steps.window, windowNoDump, ratio: windowNoDump / floorWindow, steps }];
        }),
      ),
      dumpMB: tm.dumpMB,
      dumpMBps: databaseMB / tm.dump,
      restoreMBps: databaseMB / tm.restore,
    };
  } finally {
    sb.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

export function table(b: BenchResult): string {
  const f = (x?: number) => (x === undefined ? '' : `${x.toFixed(2)} s`).padStart(10);
  const lines = [
    `rows ${b.rows}, ${b.rounds} round(s), medians; ${b.machine}`,
    `toolkit: make migrate-0001 with STRATEGY unset, which took ${b.defaultStrategy} here`,
    `step              ${'floor'.padStart(10)} ${'toolkit'.padStart(10)}`,
    ...[
      'preflight',
      'toolkit',
      'maintenance-on',
      'dump',
      'expand',
      'mutate',
      '  statement',
      '  counts+checks',
      'contract',
      'final-checks',
      'maintenance-off',
    ].map((s) => `${s.padEnd(17)} ${f(b.floor[s === '  statement' ? 'mutate' : s])} ${f(b.toolkit[s])}`),
    `window, no dump   ${f(b.floorWindow)} ${f(b.toolkitWindow)}   ratio ${b.ratio.toFixed(3)} ` +
      `(median of rounds: ${b.roundRatios.map((x) => x.toFixed(3)).join(', ')})`,
    `window with dump  ${''.padStart(10)} ${f(b.toolkitWindowWithDump)}`,
    `floor, one rewrite ${f(b.rewriteFloor)}   the toolkit's window, no dump, against it: ratio ` +
      `${b.rewriteFloorRatio.toFixed(3)} (bench/floor_rewrite.sql: the fold's statement alone)`,
    `dump    ${b.databaseMB.toFixed(0)} MB database → ${b.dumpMB.toFixed(0)} MB file: ${b.dumpMBps.toFixed(0)} MB/s`,
    `restore ${b.restoreMBps.toFixed(0)} MB/s (one transaction)`,
    ...Object.entries(b.eta).map(
      ([st, e]) =>
        `time left, ${st.padEnd(17)} median error ${(e.medianError * 100).toFixed(0)}% of the step ` +
        `(${e.lines} progress lines)`,
    ),
    ...Object.entries(b.strategies).map(
      ([name, x]) =>
        `STRATEGY=${name.padEnd(8)} window ${f(x.window)} (dump ${x.window > x.windowNoDump ? 'inside' : 'before'}), ` +
        `no dump ${f(x.windowNoDump)}   ratio to floor ${x.ratio.toFixed(3)}` +
        (x.steps.inverse === undefined ? '' : `; inverse ${f(x.steps.inverse)}, proved`),
    ),
  ];
  return lines.join('\n');
}

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(_args: string[]): Command {
  return {
    name: 'bench',
    usage: 'usage: make bench [ROWS=1000000] [ROUNDS=5]',
    help: `
Starts a throwaway PostgreSQL, seeds ROWS users once into a template, then ROUNDS times on
fresh copies: the bare SQL floor (bench/floor.sql through psql) and make migrate-0001. Prints
each step's median, the maintenance windows (toolkit without the dump vs floor) and their
ratio, dump and restore throughput, the time left's error, and the window of each other strategy
(STRATEGIES, default "update,rename"; the toolkit's own run is STRATEGY unset, and says which it
took); writes the same as JSON under bench/results/.`,
    async run(argv) {
      const rows = Number(argv[0] ?? 1_000_000);
      const rounds = Number(argv[1] ?? 5);
      if (!Number.isInteger(rows) || rows < 1 || !Number.isInteger(rounds) || rounds < 1)
        throw new Refusal(
          'bench: ROWS and ROUNDS must be whole numbers ≥ 1.',
          'Example: make bench ROWS=1000000 ROUNDS=5.',
        );
      const others = (process.env.STRATEGIES ?? 'update,rename')
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x && x !== 'default');
      const b = await bench(rows, rounds, console.log, others);
      mkdirSync(repoPath('bench/results'), { recursive: true });
      const file = repoPath(
        'bench/results',
        `bench-${rows}-${new Date().toISOString().slice(0, 19).replace(/\D/g, '')}.json`,
      );
      writeFileSync(file, `${JSON.stringify(b, null, 2)}\n`);
      console.log(table(b));
      console.log(
        `bench: toolkit window ${b.toolkitWindow.toFixed(2)} s vs floor ${b.floorWindow.toFixed(2)} s, ` +
          `ratio ${b.ratio.toFixed(3)} at ${rows} rows; JSON ${file}`,
      );
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

#!/usr/bin/env tsx
// Maintenance mode: the lock file the web app answers 503 on, plus the database guard that
// holds back every writer that does not read the file (workers, cron, other replicas).
import { hostname, userInfo } from 'node:os';
import { posix, resolve } from 'node:path';
import { main, Refusal, type Command } from './lib/cli.js';
import { connectionTarget, settings, type Settings } from './lib/config.js';
import { describeTarget, type Target } from './lib/target.js';
import { checkRunning, execPrefix, runningTasks } from './lib/docker.js';
import { guardState, setGuard, type GuardState } from './lib/guard.js';
import { clearFlag, flagState, setFlag } from './lib/flag.js';
import { lockFolderFault, readLock, removeLock, writeLock, type LockContent } from './lib/lockfile.js';
import { isMain } from './lib/entry.js';

export interface LockTarget {
  name: string;
  prefix: string[];
  path: string;
}
export interface MaintenanceState {
  on: boolean; // every lock present and, when guarded, the database read-only
  partial: boolean; // some parts on, some off
  locks: { target: string; path: string; content: LockContent | null }[];
  guard?: GuardState;
  flag?: boolean; // the database's maintenance row (replicas on other nodes read it)
  notes: string[];
}

/** Where the lock file goes: this host, an app container, or each task of a Swarm service here. */
export async function lockTargets(s: Settings): Promise<{ targets: LockTarget[]; notes: string[] }> {
  const file = (dir: string) => posix.join(dir, 'enabled.lock');
  if (!s.appContainer && !s.appService) {
    return { targets: [{ name: 'host', prefix: [], path: resolve(s.maintenanceDir, 'enabled.lock') }], notes: [] };
  }
  const targets: LockTarget[] = [];
  const notes: string[] = [];
  // As the app's user (APP_USER), so that the lock is what an app image running as non-root can read
  // and its folder is checked for that user; without it, as the container's own user.
  const exec = (container: string) => execPrefix(container, { stdin: true, user: s.appUser });
  if (s.appContainer) {
    await checkRunning(s.appContainer, 'APP_CONTAINER');
    targets.push({ name: `container ${s.appContainer}`, prefix: exec(s.appContainer), path: file(s.maintenanceDir) });
  }
  if (s.appService) {
    const ids = await runningTasks(s.appService, 'APP_SERVICE');
    for (const id of ids)
      targets.push({ name: `task ${id} of ${s.appService}`, prefix: exec(id), path: file(s.maintenanceDir) });
    notes.push(
      `Swarm: ${ids.length} task(s) of ${s.appService} on this node were reached; replicas on other nodes ` +
        'see the lock only through a shared folder (a volume on shared storage) or are held back by the database guard.',
    );
  }
  return { targets, notes };
}

/**
 * Every lock target can be written, checked before anything is: the lock's folder (or the
 * nearest folder that exists, where it would be made) is writable by the user the lock is
 * written as. A refusal naming each target that is not.
 */
export async function checkLockTargets(s: Settings): Promise<LockTarget[]> {
  const { targets } = await lockTargets(s);
  const faults: string[] = [];
  for (const t of targets) {
    const why = await lockFolderFault(t.prefix, t.path);
    if (why) faults.push(`${t.name}: ${why}`);
  }
  if (faults.length) {
    const user = s.appUser ? `user ${s.appUser}` : 'the user the app runs as';
    throw new Refusal(
      `the maintenance lock cannot be written: ${faults.join('; ')}.`,
      `Make ${posix.dirname(targets[0].path)} exist and be writable by ${user} (in a Swarm: the bind folder on the host, ` +
        "`chown` to the app's uid), or set APP_USER / MAINTENANCE_DIR to what the app uses.",
    );
  }
  return targets;
}

export async function maintenanceStatus(s: Settings, target?: Target): Promise<MaintenanceState> {
  const { targets, notes } = await lockTargets(s);
  const locks = await Promise.all(
    targets.map(async (t) => ({ target: t.name, path: t.path, content: await readLock(t.prefix, t.path) })),
  );
  const guard = s.dbGuard && target ? await guardState(target) : undefined;
  const flag = s.dbGuard && target ? await flagState(target) : undefined;
  const parts = [
    ...locks.map((l) => l.content !== null),
    ...(guard ? [guard.readOnly] : []),
    ...(flag === undefined ? [] : [flag]),
  ];
  return { on: parts.every(Boolean), partial: parts.some(Boolean) && !parts.every(Boolean), locks, guard, flag, notes };
}

export interface OnResult {
  updated: boolean;
  lock: LockContent;
  targets: string[];
  guard?: { database: string; ended: number };
  notes: string[];
}

export async function maintenanceOn(
  s: Settings,
  target: Target | undefined,
  opts: { reason: string; retryAfter: number; message?: string },
): Promise<OnResult> {
  const { notes } = await lockTargets(s);
  const targets = await checkLockTargets(s); // nothing is written unless every lock can be
  const existing = await Promise.all(targets.map((t) => readLock(t.prefix, t.path)));
  const since = existing.find((c) => c?.since)?.since ?? new Date().toISOString();
  const lock: LockContent = {
    since,
    reason: opts.reason,
    retryAfter: opts.retryAfter,
    by: `${userInfo().username}@${hostname()}`,
    ...(opts.message ? { message: opts.message } : {}),
  };
  // The lock first (visitors get the maintenance page), then the database's flag (replicas that
  // do not see the lock folder), committed before the guard (writers are refused) makes it read-only.
  for (const t of targets) await writeLock(t.prefix, t.path, lock);
  let guard: OnResult['guard'];
  if (s.dbGuard && target) {
    // DB_GUARD=0: the database is left alone, flag and guard
    try {
      await setFlag(target, lock);
      guard = await setGuard(target, true);
    } catch (err) {
      const why = (err as Error).message;
      throw new Refusal(
        `maintenance: the lock file is ON, but the database side (flag, guard) failed: ${why}`,
        'Fix the cause (the guard needs the database owner or a superuser) and run maintenance-on again, or set DB_GUARD=0; `make maintenance-off` removes the lock.',
        1,
      );
    }
  }
  return { updated: existing.some((c) => c !== null), lock, targets: targets.map((t) => t.path), guard, notes };
}

export interface OffResult {
  removed: number;
  targets: string[];
  guard?: { database: string; ended: number };
  notes: string[];
  since?: string; // when maintenance went ON (the lock's), for the outage across attempts
}

export async function maintenanceOff(s: Settings, target: Target | undefined): Promise<OffResult> {
  const { targets, notes } = await lockTargets(s);
  // The guard first (the database takes writes again), then the lock (visitors come back).
  const guard = s.dbGuard && target ? await setGuard(target, false) : undefined;
  if (s.dbGuard && target) await clearFlag(target);
  let removed = 0;
  let since: string | undefined;
  for (const t of targets) {
    const lock = await readLock(t.prefix, t.path);
    if (lock) removed++;
    if (lock?.since && (!since || lock.since < since)) since = lock.since;
    await removeLock(t.prefix, t.path);
  }
  return { removed, targets: targets.map((t) => t.path), guard, notes, since };
}

/** When the site went into maintenance: the earliest lock's `since`. */
export function onSince(st: MaintenanceState): string | undefined {
  return st.locks
    .map((l) => l.content?.since)
    .filter((x): x is string => Boolean(x))
    .sort()[0];
}

function age(since: string): string {
  const s = Math.max(0, Math.round((Date.now() - Date.parse(since)) / 1000));
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(args: string[]): Command {
  const verb = args[0];
  return {
    name: verb ? `maintenance-${verb}` : 'maintenance',
    usage: 'usage: tsx bin/maintenance.ts on|off|status [--json] [--exit-code]',
    help: `
on       write the lock file (JSON: since, reason, retryAfter, by) atomically; again = update it.
         REASON="…" (the operator's, default "maintenance"; never shown to visitors),
         MESSAGE="…" (what visitors read; default: the app's own text), RETRY_AFTER=seconds (300).
         With DATABASE_URL: the flag row breaking_migrations.maintenance (what replicas on other
         nodes read through the app's probe), committed before the guard below.
         With DATABASE_URL (unless DB_GUARD=0): the database's default becomes read-only and its
         other client sessions are ended, so every writer reconnects read-only.
off      turn the guard off (ending sessions opened read-only), then remove the lock. Idempotent.
status   ON, OFF or PARTIAL, with reason and age; --json for scripts.
Where the lock goes: MAINTENANCE_DIR (default ./maintenance) on this host; with APP_CONTAINER
inside that container (default /app/maintenance); with APP_SERVICE inside each running task of
that Swarm service on this node.
Exit codes: 0 done (status: whatever the state), 1 failed, 2 bad input, 3 database unreachable;
status --exit-code: 0 OFF, 1 ON, 4 PARTIAL.`,
    async run(argv) {
      const s = settings();
      // Parsed here, before anything changes: a URL the toolkit cannot honour is refused.
      const target = process.env.DATABASE_URL ? await connectionTarget(`maintenance-${verb}`) : undefined;
      switch (verb) {
        case 'on': {
          const retryAfter = Number(process.env.RETRY_AFTER ?? 300);
          if (!Number.isInteger(retryAfter) || retryAfter < 0)
            throw new Refusal(
              `maintenance-on: RETRY_AFTER must be whole seconds, got "${process.env.RETRY_AFTER}".`,
              'Example: make maintenance-on RETRY_AFTER=600.',
            );
          const r = await maintenanceOn(s, target, {
            reason: process.env.REASON || 'maintenance',
            retryAfter,
            message: process.env.MESSAGE || undefined,
          });
          for (const n of r.notes) console.log(`  note: ${n}`);
          const guard = r.guard
            ? `guard on database ${r.guard.database}: read-only, ${r.guard.ended} session(s) ended`
            : 'no database guard (DATABASE_URL unset or DB_GUARD=0)';
          console.log(`maintenance: ON (${r.updated ? 'updated' : 'started'}; lock ${r.targets.join(', ')}; ${guard})`);
          return;
        }
        case 'off': {
          const r = await maintenanceOff(s, target);
          for (const n of r.notes) console.log(`  note: ${n}`);
          const guard = r.guard
            ? `guard off on database ${r.guard.database}, ${r.guard.ended} read-only session(s) ended`
            : 'no database guard';
          console.log(
            `maintenance: OFF (${r.removed ? 'lock removed' : 'no lock was there'}: ${r.targets.join(', ')}; ${guard})`,
          );
          return;
        }
        case 'status': {
          const st = await maintenanceStatus(s, target);
          if (argv.includes('--json')) console.log(JSON.stringify(st));
          else {
            for (const l of st.locks) {
              console.log(
                l.content
                  ? `  lock ON   ${l.path} (${l.target}): "${l.content.reason}" for ${age(l.content.since)}, by ${l.content.by}, Retry-After ${l.content.retryAfter} s`
                  : `  lock OFF  ${l.path} (${l.target})`,
              );
            }
            if (st.guard)
              console.log(
                `  guard ${st.guard.readOnly ? 'ON ' : 'OFF'}  database ${st.guard.database} (${describeTarget(target!)})`,
              );
            if (st.flag !== undefined)
              console.log(
                `  flag  ${st.flag ? 'ON ' : 'OFF'}  breaking_migrations.maintenance (what replicas on other nodes read)`,
              );
            for (const n of st.notes) console.log(`  note: ${n}`);
            console.log(
              `maintenance: ${st.partial ? 'PARTIAL (some parts on, some off: run maintenance-on or maintenance-off)' : st.on ? 'ON' : 'OFF'}`,
            );
          }
          if (argv.includes('--exit-code')) return st.partial ? 4 : st.on ? 1 : 0;
          return;
        }
        default:
          throw new Refusal(`maintenance: unknown verb "${verb ?? ''}".`, 'Use on, off or status.');
      }
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

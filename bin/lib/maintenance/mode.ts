// Maintenance mode: the lock file the web app answers 503 on, plus the database guard that
// holds back every writer that does not read the file (workers, cron, other replicas).
import { hostname, userInfo } from 'node:os';
import { posix, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Refusal } from '../connection/refusal.js';
import type { Settings } from '../connection/config.js';
import type { Target } from '../connection/target.js';
import { checkRunning, execPrefix, runningTasks } from '../connection/docker.js';
import {
  describeNotEnded,
  guardState,
  ident,
  leftReadOnly,
  sessionsPrecheck,
  setGuard,
  signalGrant,
  unendable,
  type GuardSet,
  type GuardState,
} from './guard.js';
import { withSql } from '../connection/db.js';
import { isLostConnection, isUnreachable } from '../connection/lost-server.js';
import { clearFlag, flagState, setFlag } from './flag.js';
import { lockFolderFault, readLock, removeLock, writeLock, type LockContent } from './lockfile.js';

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
  const exec = (container: string) => execPrefix(container, { user: s.appUser });
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
        'see the lock only through a shared folder (a volume on shared storage) ' +
        'or are held back by the database guard.',
    );
  }
  return { targets, notes };
}

/**
 * Every lock target can be written, checked before anything is: the lock's folder (or the
 * nearest folder that exists, where it would be made) is writable by the user the lock is
 * written as. A refusal naming each target that is not.
 */
export async function checkLockTargets(
  s: Settings,
  found?: { targets: LockTarget[] }, // lockTargets(s)'s answer, when the caller has it
): Promise<LockTarget[]> {
  const { targets } = found ?? (await lockTargets(s));
  // Each task at once: a Swarm's window should not grow by one `docker exec` per replica.
  const faults = (
    await Promise.all(targets.map(async (t) => [t.name, await lockFolderFault(t.prefix, t.path)] as const))
  )
    .filter(([, why]) => why)
    .map(([name, why]) => `${name}: ${why}`);
  if (faults.length) {
    const user = s.appUser ? `user ${s.appUser}` : 'the user the app runs as';
    throw new Refusal(
      `the maintenance lock cannot be written: ${faults.join('; ')}.`,
      `Make ${posix.dirname(targets[0].path)} exist and be writable by ${user} ` +
        "(in a Swarm: the bind folder on the host, `chown` to the app's uid), " +
        'or set APP_USER / MAINTENANCE_DIR to what the app uses.',
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

/** The server does not answer (down, restarting, unreachable): not a reason to keep the lock down. */
const unavailable = (err: unknown) => {
  const code = String((err as { code?: string })?.code);
  return (
    isUnreachable(err) || isLostConnection(err) || ['CONNECT_TIMEOUT', '57P03'].includes(code) || code.startsWith('08')
  );
};

export async function maintenanceOn(
  s: Settings,
  target: Target | undefined,
  opts: { reason: string; retryAfter: number; message?: string },
): Promise<OnResult> {
  const found = await lockTargets(s);
  const { notes } = found;
  const targets = await checkLockTargets(s, found); // nothing is written unless every lock can be
  if (s.dbGuard && target) {
    // Sessions the guard may not end would keep writing through the window: refused before the lock.
    // A database that does not answer is not refused here: the lock still goes up, and the
    // database side below says what failed (maintenance during an outage is a use too).
    const { problem } = await withSql(target, sessionsPrecheck).catch((err) => {
      if (unavailable(err)) return { problem: undefined };
      throw err;
    });
    if (problem)
      throw new Refusal(
        `maintenance: ${problem}; nothing changed.`,
        'Give the role the right named (or set DB_GUARD=0), then `make maintenance-on` again.',
      );
  }
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
  await eachTarget(targets, (t) => writeLock(t.prefix, t.path, lock));
  let guard: OnResult['guard'];
  if (s.dbGuard && target) {
    // DB_GUARD=0: the database is left alone, flag and guard
    let set: GuardSet;
    try {
      await setFlag(target, lock);
      // The app trusts its last read of the lock for its cache time: a request it let through
      // just before is still in flight. Ending the sessions now would fail it with 57P01.
      if (existing.some((c) => c === null)) await sleep(s.appCacheMs);
      set = await setGuard(target, true);
    } catch (err) {
      const why = (err as Error).message;
      throw new Refusal(
        `maintenance: the lock file is ON, but the database side (flag, guard) failed: ${why}`,
        'Fix the cause (the guard needs the database owner or a superuser) and run maintenance-on again, ' +
          'or set DB_GUARD=0; `make maintenance-off` removes the lock.',
        1,
      );
    }
    const { problem, note } = unendable(set.notEnded, set.me);
    if (note) notes.push(note);
    if (problem) {
      // Connected since the check, or (the guard ON already) perhaps opened read-only in the window:
      // a role that may not end a session cannot see which. The guard is set; these were not ended.
      const left = describeNotEnded(set.notEnded.filter((n) => !n.superuser));
      throw new Refusal(
        `maintenance: lock, flag and guard are ON, but role ${ident(set.me)} may not end sessions (${left}) ` +
          (set.wasOn
            ? 'and cannot tell those opened read-only during maintenance from those that still write.'
            : 'that connected since the check: they keep their read-write default.'),
        `As a superuser: ${signalGrant(set.me)}; then \`make maintenance-on\` ends them ` +
          '(`make maintenance-off` turns it all off).',
        1,
      );
    }
    guard = { database: set.database, ended: set.ended };
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
  const set = s.dbGuard && target ? await setGuard(target, false) : undefined;
  const guard = set && { database: set.database, ended: set.ended };
  const readOnly = set && leftReadOnly(set.notEnded, set.me);
  if (readOnly) notes.push(readOnly);
  if (s.dbGuard && target) await clearFlag(target);
  const locks = await eachTarget(targets, async (t) => {
    const lock = await readLock(t.prefix, t.path);
    await removeLock(t.prefix, t.path);
    return lock;
  });
  const since = earliestSince(locks);
  return { removed: locks.filter(Boolean).length, targets: targets.map((t) => t.path), guard, notes, since };
}

/**
 * `fn` on every target at once, each run to its end before any failure is told (so that a
 * read-back after it sees the final state), then one error naming each target that failed.
 */
async function eachTarget<T>(targets: LockTarget[], fn: (t: LockTarget) => Promise<T>): Promise<T[]> {
  const settled = await Promise.allSettled(targets.map(fn));
  const failed = settled.flatMap((r, i) =>
    r.status === 'rejected' ? [`${targets[i].name}: ${(r.reason as Error).message}`] : [],
  );
  if (failed.length) throw new Error(failed.join('; '));
  return settled.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** When the site went into maintenance: the earliest lock's `since`. */
export function onSince(st: MaintenanceState): string | undefined {
  return earliestSince(st.locks.map((l) => l.content));
}

function earliestSince(locks: (LockContent | null)[]): string | undefined {
  return locks
    .map((l) => l?.since)
    .filter((x): x is string => Boolean(x))
    .sort()[0];
}

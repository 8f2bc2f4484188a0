// The maintenance lock file the web app reads (`enabled.lock`, JSON). The same shell commands
// run on the host or, behind `docker exec`, inside an app container.
import { quiet } from '../connection/programs.js';

export interface LockContent {
  since: string; // ISO time maintenance began
  reason: string;
  retryAfter: number; // seconds, for the HTTP Retry-After header
  by: string; // user@host
  message?: string; // MESSAGE=: what visitors read (the reason is the operator's, never shown)
}

// Written beside the lock and renamed over it, so a reader sees the old file or the new one,
// never half of one. 0644: the app's user must be able to read it. mktemp, not $$: the tasks of a
// service share one bind folder and are written at once, and their shells' pids are alike. The
// content is the second argument, not stdin (programs.ts: why stdin stays closed).
const WRITE =
  'set -eu; lock="$1"; dir=$(dirname "$lock"); mkdir -p "$dir"; tmp=$(mktemp "$dir/.enabled.lock.XXXXXX"); ' +
  'printf "%s\\n" "$2" > "$tmp"; chmod 644 "$tmp"; mv -f "$tmp" "$lock"';
// Read first, then ask whether it is there: the tasks sharing one bind folder are read and cleared
// at once, and a file removed between a test and the cat read as an error (exit 3: no lock).
const READ = 'cat "$1" 2>/dev/null && exit 0; test -e "$1" || exit 3; cat "$1"';
const REMOVE = 'rm -f "$1"';
// The folder, or the nearest one that exists (WRITE makes the rest): exit 4 when not writable.
const WRITABLE =
  'd=$(dirname "$1"); while [ ! -e "$d" ]; do d=$(dirname "$d"); done; [ -d "$d" ] && [ -w "$d" ] || ' +
  '{ echo "$d"; exit 4; }';

export function lockCommand(
  op: 'write' | 'read' | 'remove' | 'writable',
  prefix: string[],
  path: string,
  content?: string,
): string[] {
  const script = { write: WRITE, read: READ, remove: REMOVE, writable: WRITABLE }[op];
  return [...prefix, 'sh', '-c', script, 'sh', path, ...(content === undefined ? [] : [content])];
}

const run = (argv: string[]) => quiet`${argv}`;

export async function writeLock(prefix: string[], path: string, content: LockContent): Promise<void> {
  const out = await run(lockCommand('write', prefix, path, JSON.stringify(content, null, 2)));
  if (out.exitCode !== 0) throw new Error(`cannot write ${path}: ${out.stderr.trim() || `exit ${out.exitCode}`}`);
}

/** The lock's content, `null` when there is none. A lock that is not our JSON still means ON. */
export async function readLock(prefix: string[], path: string): Promise<LockContent | null> {
  const out = await run(lockCommand('read', prefix, path));
  if (out.exitCode === 3) return null;
  if (out.exitCode !== 0) throw new Error(`cannot read ${path}: ${out.stderr.trim() || `exit ${out.exitCode}`}`);
  try {
    return JSON.parse(out.stdout) as LockContent;
  } catch {
    return { since: '', reason: '(lock file is not JSON)', retryAfter: 0, by: '' };
  }
}

export async function removeLock(prefix: string[], path: string): Promise<void> {
  const out = await run(lockCommand('remove', prefix, path));
  if (out.exitCode !== 0) throw new Error(`cannot remove ${path}: ${out.stderr.trim() || `exit ${out.exitCode}`}`);
}

/** Why the lock could not be written at `path` (as the prefix's user), or undefined when it can. */
export async function lockFolderFault(prefix: string[], path: string): Promise<string | undefined> {
  const out = await run(lockCommand('writable', prefix, path));
  if (out.exitCode === 0) return undefined;
  if (out.exitCode === 4) return `${out.stdout.trim()} is not a writable folder for that user`;
  return out.stderr.trim().split('\n').pop() || `exit ${out.exitCode}`;
}

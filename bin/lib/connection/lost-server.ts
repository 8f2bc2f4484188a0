// A database server that dies mid-step (PANIC on a full disk, a crash, a restarted container)
// must end in the runbook's failure block, never in a stack trace.
//
// postgres.js 3.4.9 has a bug there (upstream porsager/postgres #1154, #1208; no fix released):
// a write scheduled with setImmediate after the socket closed throws
// `TypeError: Cannot read properties of null (reading 'write')` from src/connection.js, outside
// any promise, so no `catch` of ours can see it and Node ends the process. We keep the driver
// (no fork to maintain) and catch that one error at the process level: it becomes a rejection of
// `serverLost`, which every runbook step races against, so the step fails like any other.
import process from 'node:process';

export const LOST_CODES = [
  'CONNECTION_LOST',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'ECONNRESET',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
];

let rejectLost: (err: Error) => void = () => {};
/** Rejects once, the first time the driver loses its socket this way. */
export const serverLost = new Promise<never>((_, reject) => (rejectLost = reject));
serverLost.catch(() => {}); // nobody racing it yet is not an unhandled rejection

/** Is this postgres.js's own throw on a socket that is already gone? */
export function isDriverLostSocket(err: unknown): boolean {
  const e = err as Error;
  return (
    e instanceof TypeError &&
    /reading 'write'/.test(e.message) &&
    /postgres[\\/]src[\\/]connection\.js/.test(e.stack ?? '')
  );
}

/** Is this error a lost connection to the server (closed, reset, shut down, restarting)? */
export function isLostConnection(err: unknown): boolean {
  return LOST_CODES.includes(String((err as { code?: string })?.code));
}

/** The server cannot be reached at all (refused, no such host, timed out, no route). */
export function isUnreachable(err: unknown): boolean {
  return ['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH'].includes(String((err as { code?: string })?.code));
}

/** One line for a lost connection, the same wherever it is said. */
export function describeLost(err: unknown): string {
  return (
    `the database server closed the connection (${String((err as { code?: string }).code)}): ` +
    'it crashed, restarted or ran out of disk'
  );
}

/** The step's promise, or the server's loss if that comes first. */
export function orLost<T>(p: Promise<T>): Promise<T> {
  return Promise.race([p, serverLost]);
}

// The driver's connections of this process: after its lost-socket throw, their pending queries
// would wait forever (the write never left), the event loop would drain and Node would exit 0 in
// the middle of a run. Ending them at once rejects those queries instead.
const pools = new Set<{ end(opts: { timeout: number }): Promise<void> }>();
export function track<T extends { end(opts: { timeout: number }): Promise<void> }>(sql: T): T {
  pools.add(sql);
  return sql;
}

let installed = false;
/** Route the driver's lost-socket throw to `serverLost`; any other uncaught error: one line, exit 1. */
export function installLostServerGuard(name: string): void {
  if (installed) return;
  installed = true;
  process.on('uncaughtException', (err) => {
    if (isDriverLostSocket(err)) {
      rejectLost(
        Object.assign(
          new Error(
            'the database server closed the connection during the step ' + '(it crashed, restarted or ran out of disk)',
          ),
          { code: 'CONNECTION_LOST' },
        ),
      );
      for (const sql of pools) sql.end({ timeout: 0 }).catch(() => {});
      pools.clear();
      return;
    }
    process.stderr.write(`${name}: internal error: ${err.message}\n  next: run again with BM_DEBUG=1 for the stack\n`);
    if (process.env.BM_DEBUG) console.error(err);
    process.exit(1);
  });
}

// The server dies mid-step (issue 18.4, 19.3): a backend killed with SIGKILL makes PostgreSQL end
// every session and recover, as after a PANIC on a full disk. The run must end in the usual
// failure block (step, state, the way back), never a stack trace, and a re-run must finish.
import t from 'tap';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { repo, runBin } from './helpers/cli.js';
import { enumLabels, identityChecksum, query, roleCounts, seededDatabase } from './helpers/database.js';
import { tempSettings } from './helpers/runbook.js';

t.test('a server crash during the mutation: the failure block, then a re-run finishes', async (t) => {
  const db = await seededDatabase(t, 300000);
  const before = await roleCounts(db);
  const identity = await identityChecksum(db);
  const s = tempSettings(db);
  const child = spawn(`${repo}/node_modules/.bin/tsx`, [`${repo}/bin/migrate.ts`, '0001'], {
    cwd: repo,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...s.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((res) => child.once('close', res));

  let killed: number | undefined;
  for (let i = 0; i < 1200 && killed === undefined; i++) {
    const [busy] = await query<{ pid: number }>(
      db,
      `SELECT pid FROM pg_stat_activity
      WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
        AND application_name LIKE 'breaking-migrations%' AND query ILIKE '%update%"User"%'`,
    ).catch(() => []);
    if (busy && stdout.includes('→ mutate')) {
      process.kill(busy.pid, 'SIGKILL'); // the postmaster then ends every session and recovers
      killed = busy.pid;
    } else await sleep(50);
  }
  t.ok(killed, "the mutation's backend was found and killed");
  const code = await exited;
  t.equal(code, 1, `exit 1: the step failed (stdout: ${stdout.slice(-600)})`);
  t.match(stderr, /migrate-0001: step mutate failed: /, 'the step is named');
  t.match(stderr, /state: /, 'where the database stands is said');
  // Read back even while the server recovers: the lock file needs no server.
  t.match(stderr, /maintenance stays ON/, 'the lock is read back as ON');
  t.notMatch(stderr, /maintenance: unknown/);
  t.match(stderr, /make restore DUMP=\S+\.dump/, 'the way back is printed');
  t.notMatch(stderr + stdout, /TypeError|\n\s+at .+:\d+:\d+/, 'no stack trace');

  for (let i = 0; i < 100; i++) {
    // recovery ends within seconds
    if (
      await query(db, 'SELECT 1').then(
        () => true,
        () => false,
      )
    )
      break;
    await sleep(200);
  }
  const again = runBin('migrate.ts', ['0001'], s.env);
  t.equal(again.code, 0, `the re-run finishes (${again.stderr.trim()})`);
  t.match(again.stdout, /resuming run/);
  t.same(await enumLabels(db), ['EMPLOYEE', 'MANAGER', 'ADMIN']);
  t.same(await roleCounts(db), { total: before.total, EMPLOYEE: before.USER, ADMIN: before.ADMIN }, 'nothing lost');
  t.equal(await identityChecksum(db), identity, '(id, email) checksum unchanged');
});

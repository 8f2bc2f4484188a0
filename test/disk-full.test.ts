// The database server's disk fills during the run (issue 18): the server's own data directory is
// on a small tmpfs, so the mutation's writes fill it (an ERROR, or a PANIC when the WAL cannot be
// written). The run ends in the failure block with the way back, never a stack trace; nothing lost.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSandbox } from '../bin/lib/dev/sandbox.js';
import { withDatabase } from '../bin/lib/connection/target.js';
import { schema } from '../bin/schema.js';
import { seed } from '../bin/seed.js';
import { runBin } from './helpers/cli.js';
import { identityChecksum, query, roleCounts } from './helpers/database.js';
import { tempSettings } from './helpers/runbook.js';

t.test('the disk fills during the mutation: the failure block, nothing lost', async (t) => {
  const mnt = mkdtempSync(join(tmpdir(), 'bm-smalldisk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96m', 'tmpfs', mnt]);
  chmodSync(mnt, 0o777);
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = mnt; // the sandbox makes its folder (and so its data directory) there
  const sb = await startSandbox({ settings: { max_wal_size: '32MB', min_wal_size: '32MB' } }).finally(() => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  });
  t.teardown(() => {
    sb.stop();
    execFileSync('umount', ['-l', mnt]);
  });
  await query(sb.target, 'CREATE DATABASE app');
  const db = withDatabase(sb.target, 'app');
  await schema(db, 'baseline');
  await seed(db, 60000);
  const before = await roleCounts(db);
  const identity = await identityChecksum(db);
  // Leave the server 6 MB: less than one WAL segment (16 MB), less than the UPDATE writes.
  const avail = Number(execFileSync('df', ['-B1', '--output=avail', mnt], { encoding: 'utf8' }).split('\n')[1]);
  writeFileSync(join(mnt, 'filler'), Buffer.alloc(Math.max(0, avail - 6 * 1048576)));
  const s = tempSettings(db); // dumps on the ordinary disk: only the server's is small
  const r = runBin('migrate.ts', ['0001'], s.env);
  t.equal(r.code, 1, `the run fails (${r.stdout.slice(-300)})`);
  t.match(r.stderr, /migrate-0001: step \S+ failed: /, 'the step is named');
  t.match(r.stderr, /No space left on device|closed the connection|server did not answer/, 'the cause');
  t.match(r.stderr, /make restore DUMP=\S+\.dump/, 'the way back');
  t.notMatch(r.stderr + r.stdout, /TypeError|\n\s+at .+:\d+:\d+/, 'no stack trace');
  // Free space again, as an operator would, and start the server if its PANIC stopped it. A
  // postmaster that is still there is restarting its backends (crash recovery): it is waited for
  // below, not started twice (pg_ctl start would fail on its pid file).
  rmSync(join(mnt, 'filler'));
  execFileSync('mount', ['-o', 'remount,size=512m', mnt]);
  const pgCtl = (args: string[]) =>
    spawnSync('runuser', ['-u', 'postgres', '--', join(sb.bindir, 'pg_ctl'), ...args], { encoding: 'utf8' });
  if (pgCtl(['status', '-D', join(sb.dir, 'data')]).status !== 0) {
    const opts = [
      '-c listen_addresses=127.0.0.1',
      `-c port=${sb.target.port}`,
      `-c unix_socket_directories=${sb.dir}`,
      '-c fsync=off',
    ].join(' ');
    const started = pgCtl([
      'start',
      '-D',
      join(sb.dir, 'data'),
      '-w',
      '-t',
      '60',
      '-l',
      join(sb.dir, 'server.log'),
      '-o',
      opts,
    ]);
    const log = () => readFileSync(join(sb.dir, 'server.log'), 'utf8').trim().split('\n').slice(-3).join(' | ');
    t.equal(started.status, 0, `the stopped server starts again (${started.stderr.trim()} ${log()})`);
  }
  for (let i = 0; i < 100; i++) {
    // crash recovery
    if (
      await query(db, 'SELECT 1').then(
        () => true,
        () => false,
      )
    )
      break;
    await new Promise((res) => setTimeout(res, 200));
  }
  const after = await roleCounts(db);
  t.equal(after.total, before.total, 'every row still there');
  t.equal(await identityChecksum(db), identity, '(id, email) checksum unchanged');
  t.equal((after.USER ?? 0) + (after.EMPLOYEE ?? 0), before.USER, 'each USER row is USER or EMPLOYEE, none lost');
  const again = runBin('migrate.ts', ['0001'], s.env);
  t.equal(again.code, 0, `with space again, the same command finishes (${again.stderr.trim()})`);
  t.same(
    await roleCounts(db),
    { total: before.total, EMPLOYEE: before.USER, ADMIN: before.ADMIN },
    'every row verified',
  );
});

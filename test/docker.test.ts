// Containers, without a Docker engine: the exact command lines we build, and the same code paths
// run end to end through a stand-in `docker` that executes `docker exec`'s command right here
// (as if the container's local PostgreSQL socket were the test server).
import t from 'tap';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settings } from '../bin/lib/config.js';
import { execPrefix, serviceTasksCommand } from '../bin/lib/docker.js';
import { lockCommand } from '../bin/lib/lockfile.js';
import { parseTarget, type Target } from '../bin/lib/target.js';
import { toolCommand } from '../bin/lib/pgtools.js';
import { lockTargets } from '../bin/maintenance.js';
import { findPgBindir } from '../bin/lib/sandbox.js';
import { runBin } from './helpers/cli.js';
import { query, seededDatabase, tableChecksum, urlOf } from './helpers/database.js';

t.test('exact command lines', async (t) => {
  t.same(execPrefix(undefined), []);
  t.same(execPrefix('nextjs-pulse-work', { stdin: true }), ['docker', 'exec', '-i', 'nextjs-pulse-work']);
  t.same(lockCommand('remove', execPrefix('nextjs-pulse-work'), '/app/maintenance/enabled.lock'),
    ['docker', 'exec', 'nextjs-pulse-work', 'sh', '-c', 'rm -f "$1"', 'sh', '/app/maintenance/enabled.lock']);
  t.same(serviceTasksCommand('pulse_nextjs'),
    ['docker', 'ps', '--quiet', '--filter', 'label=com.docker.swarm.service.name=pulse_nextjs', '--filter', 'status=running']);

  const url = parseTarget('postgres://postgres:s3cret@db.internal:5433/pulsework?sslmode=disable');
  const dumpCmd = toolCommand('pg_dump', url, ['--format=custom'], { container: 'postgres-production' });
  t.same(dumpCmd.argv, ['docker', 'exec', '-e', 'PGDATABASE', '-e', 'PGUSER', '-e', 'PGPASSWORD', '-e', 'PGSSLMODE', '-e', 'PGOPTIONS', '-e', 'PGAPPNAME',
    'postgres-production', 'pg_dump', '--format=custom']);
  t.match(dumpCmd.env, { PGUSER: 'postgres', PGPASSWORD: 's3cret', PGDATABASE: 'pulsework' });
  t.equal(dumpCmd.env.PGHOST, process.env.PGHOST, 'the container uses its own socket: no host forwarded');
  t.notOk(dumpCmd.argv.join(' ').includes('s3cret'), 'the password is not on the command line');

  const restoreCmd = toolCommand('pg_restore', url, ['--list'], { container: 'postgres-production', stdin: true, writable: true });
  t.same(restoreCmd.argv.slice(0, 3), ['docker', 'exec', '-i']);
  t.ok(restoreCmd.argv.includes('PGOPTIONS'), 'the write opt-in is forwarded by name');
  t.match(restoreCmd.env.PGOPTIONS, /^-c statement_timeout=0 .*-c row_security=off .*-c default_transaction_read_only=off$/);

  const host = toolCommand('pg_dump', url, ['--format=custom']);
  t.match(host.argv[0], /pg_dump$/);
  t.match(host.env, { PGHOST: 'db.internal', PGPORT: '5433', PGPASSWORD: 's3cret' });
  t.notOk(host.argv.join(' ').includes('s3cret'));

  t.same((await lockTargets(settings({ APP_CONTAINER: 'nextjs-pulse-work' }))).targets,
    [{ name: 'container nextjs-pulse-work', prefix: ['docker', 'exec', '-i', 'nextjs-pulse-work'], path: '/app/maintenance/enabled.lock' }],
    'the runbook\'s container path by default');
});

/** A `docker` that runs `docker exec`'s command here and answers `docker ps` with two tasks. */
function fakeDocker(server?: Target): { dir: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bm-docker-'));
  const log = join(dir, 'calls.log');
  writeFileSync(join(dir, 'docker'), `#!/bin/sh
echo "$*" >> ${log}
case "$1" in
  ps) echo task1aaa; echo task2bbb ;;
  exec) shift
        while [ $# -gt 0 ]; do case "$1" in -i) shift ;; -e) shift 2 ;; *) break ;; esac; done
        shift  # the container
        ${server ? `export PGHOST=${server.host} PGPORT=${server.port}` : ''}
        exec "$@" ;;
  *) echo "fake docker: $1 unsupported" >&2; exit 1 ;;
esac
`);
  chmodSync(join(dir, 'docker'), 0o755);
  return { dir, log };
}

t.test('APP_SERVICE: every task on this node gets the lock, and the output says what it cannot reach', async (t) => {
  const docker = fakeDocker();
  const lockDir = join(mkdtempSync(join(tmpdir(), 'bm-app-')), 'maintenance');
  const env = { PATH: `${docker.dir}:${process.env.PATH}`, APP_SERVICE: 'pulse_nextjs', MAINTENANCE_DIR: lockDir };
  const on = runBin('maintenance.ts', ['on'], env);
  t.equal(on.code, 0, on.stderr);
  t.match(on.stdout, /note: Swarm: 2 task\(s\) of pulse_nextjs on this node were reached; replicas on other nodes see the lock only through a shared folder/);
  t.ok(existsSync(join(lockDir, 'enabled.lock')));
  const calls = readFileSync(docker.log, 'utf8').trim().split('\n');
  t.ok(calls.includes('ps --quiet --filter label=com.docker.swarm.service.name=pulse_nextjs --filter status=running'));
  t.ok(calls.some((c) => c.startsWith('exec -i task1aaa sh -c ')), 'task 1 written');
  t.ok(calls.some((c) => c.startsWith('exec -i task2bbb sh -c ')), 'task 2 written');
  const off = runBin('maintenance.ts', ['off'], env);
  t.equal(off.code, 0, off.stderr);
  t.notOk(existsSync(join(lockDir, 'enabled.lock')));
});

t.test('PG_CONTAINER: dump and restore stream through `docker exec`', async (t) => {
  const plain = await seededDatabase(t, 300);
  const url = { ...plain, password: 'pw-only-in-env' }; // the sandbox trusts any password
  const docker = fakeDocker(url);
  const backups = join(mkdtempSync(join(tmpdir(), 'bm-bk-')), 'b');
  const env = { PATH: `${docker.dir}:${findPgBindir()}:${process.env.PATH}`, DATABASE_URL: urlOf(url), PG_CONTAINER: 'postgres-production', BACKUP_DIR: backups };
  const d = runBin('dump.ts', [], env);
  t.equal(d.code, 0, d.stderr);
  const path = d.stdout.trim().split('\n').pop()!;
  const calls = readFileSync(docker.log, 'utf8');
  t.match(calls, /^exec -e PGDATABASE -e PGUSER -e PGPASSWORD -e PGSSLMODE -e PGOPTIONS -e PGAPPNAME postgres-production pg_dump --format=custom --compress=1 --snapshot=\S+ --no-password$/m);
  t.match(calls, /^exec -i .*postgres-production pg_restore --list$/m);
  const before = await tableChecksum(url);
  await query(url, `DELETE FROM "User" WHERE role = 'ADMIN'`);
  const r = runBin('restore.ts', [path], { ...env, YES: '1', LIVE: '1' });
  t.equal(r.code, 0, r.stderr);
  const log = readFileSync(docker.log, 'utf8');
  t.match(log, /^exec -i -e PGDATABASE -e PGUSER -e PGPASSWORD -e PGSSLMODE -e PGOPTIONS -e PGAPPNAME postgres-production pg_restore --clean --if-exists --no-password --file=-$/m);
  t.match(log, /^exec -i -e PGDATABASE -e PGUSER -e PGPASSWORD -e PGSSLMODE -e PGOPTIONS -e PGAPPNAME postgres-production psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --no-password --file=-$/m);
  t.equal(await tableChecksum(url), before, 'restored through the container path');
  t.notMatch(readFileSync(docker.log, 'utf8'), /pw-only-in-env/, 'no password on any docker command line');
  t.notMatch(d.stdout + d.stderr + r.stdout + r.stderr, /pw-only-in-env/, 'nor in any output');
});

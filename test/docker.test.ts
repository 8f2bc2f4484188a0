// Containers, without a Docker engine: the exact command lines we build, and the same code paths
// run end to end through a stand-in `docker` that executes `docker exec`'s command right here
// (as if the container's local PostgreSQL socket were the test server).
import t from 'tap';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { settings } from '../bin/lib/connection/config.js';
import { execPrefix, serviceTasksCommand } from '../bin/lib/connection/docker.js';
import { lockCommand } from '../bin/lib/maintenance/lockfile.js';
import { parseTarget, type Target } from '../bin/lib/connection/target.js';
import { toolCommand } from '../bin/lib/connection/pgtools.js';
import { lockTargets } from '../bin/lib/maintenance/mode.js';
import { findPgBindir } from '../bin/lib/dev/sandbox.js';
import { runBin } from './helpers/cli.js';
import { assertMigrated, snapshot, tempSettings } from './helpers/runbook.js';
import { enumLabels, query, seededDatabase, tableChecksum, urlOf } from './helpers/database.js';

t.test('exact command lines', async (t) => {
  t.same(execPrefix(undefined), []);
  t.same(execPrefix('nextjs-pulse-work', { stdin: true }), ['docker', 'exec', '-i', 'nextjs-pulse-work']);
  t.same(lockCommand('remove', execPrefix('nextjs-pulse-work'), '/app/maintenance/enabled.lock'), [
    'docker',
    'exec',
    'nextjs-pulse-work',
    'sh',
    '-c',
    'rm -f "$1"',
    'sh',
    '/app/maintenance/enabled.lock',
  ]);
  t.same(serviceTasksCommand('pulse_nextjs'), [
    'docker',
    'ps',
    '--quiet',
    '--filter',
    'label=com.docker.swarm.service.name=pulse_nextjs',
    '--filter',
    'status=running',
  ]);

  const url = parseTarget('postgres://postgres:s3cret@db.internal:5433/pulsework?sslmode=disable');
  const dumpCmd = toolCommand('pg_dump', url, ['--format=custom'], { container: 'postgres-production' });
  t.same(dumpCmd.argv, [
    'docker',
    'exec',
    '-e',
    'PGDATABASE',
    '-e',
    'PGUSER',
    '-e',
    'PGPASSWORD',
    '-e',
    'PGSSLMODE',
    '-e',
    'PGOPTIONS',
    '-e',
    'PGAPPNAME',
    'postgres-production',
    'pg_dump',
    '--format=custom',
  ]);
  t.match(dumpCmd.env, { PGUSER: 'postgres', PGPASSWORD: 's3cret', PGDATABASE: 'pulsework' });
  t.equal(dumpCmd.env.PGHOST, process.env.PGHOST, 'the container uses its own socket: no host forwarded');
  t.notOk(dumpCmd.argv.join(' ').includes('s3cret'), 'the password is not on the command line');

  const restoreCmd = toolCommand('pg_restore', url, ['--list'], {
    container: 'postgres-production',
    stdin: true,
    writable: true,
  });
  t.same(restoreCmd.argv.slice(0, 3), ['docker', 'exec', '-i']);
  t.ok(restoreCmd.argv.includes('PGOPTIONS'), 'the write opt-in is forwarded by name');
  t.match(
    restoreCmd.env.PGOPTIONS,
    /^-c statement_timeout=0 .*-c row_security=off .*-c default_transaction_read_only=off$/,
  );

  const host = toolCommand('pg_dump', url, ['--format=custom']);
  t.match(host.argv[0], /pg_dump$/);
  t.match(host.env, { PGHOST: 'db.internal', PGPORT: '5433', PGPASSWORD: 's3cret' });
  t.notOk(host.argv.join(' ').includes('s3cret'));

  const path = process.env.PATH;
  process.env.PATH = `${fakeDocker().dir}:${path}`; // lockTargets asks docker whether the container runs
  t.teardown(() => {
    process.env.PATH = path;
  });
  t.same(
    (await lockTargets(settings({ APP_CONTAINER: 'nextjs-pulse-work' }))).targets,
    [
      {
        name: 'container nextjs-pulse-work',
        prefix: ['docker', 'exec', 'nextjs-pulse-work'],
        path: '/app/maintenance/enabled.lock',
      },
    ],
    "the runbook's container path by default",
  );
});

/**
 * A `docker` that runs `docker exec`'s command here (as `-u USER` when given, through runuser) and
 * answers `docker ps` with $FAKE_TASKS (default two tasks; "none": no task) and `docker inspect`
 * with $FAKE_STATE ("true" running, "false" stopped, "missing" no such container).
 */
function fakeDocker(server?: Target): { dir: string; log: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bm-docker-'));
  const log = join(dir, 'calls.log');
  writeFileSync(
    join(dir, 'docker'),
    `#!/bin/sh
echo "$*" >> ${log}
case "$1" in
  ps) [ "\${FAKE_TASKS:-}" = none ] || for t in \${FAKE_TASKS:-task1aaa task2bbb}; do echo "$t"; done ;;
  inspect) case "\${FAKE_STATE:-true}" in
             missing) echo "Error: No such container: $6" >&2; exit 1 ;;
             *) echo "\${FAKE_STATE:-true}" ;;
           esac ;;
  exec) shift; user=
        while [ $# -gt 0 ]; do
          case "$1" in -i|-t) shift ;; -e) shift 2 ;; -u) user=$2; shift 2 ;; *) break ;; esac
        done
        shift  # the container
        export PATH="${findPgBindir()}:$PATH"  # the container has PostgreSQL's programs
        ${server ? `export PGHOST=${server.host} PGPORT=${server.port}` : ''}
        if [ -n "$user" ]; then exec runuser -u "$user" --preserve-environment -- "$@"; fi
        exec "$@" ;;
  *) echo "fake docker: $1 unsupported" >&2; exit 1 ;;
esac
`,
  );
  chmodSync(join(dir, 'docker'), 0o755);
  return { dir, log };
}

t.test('APP_SERVICE: many tasks sharing one bind folder are cleared at once, none reads an error', async (t) => {
  // Each task reads the lock and removes it, all at once, on the same file: one that tested the file
  // before another removed it, then read it, failed maintenance-off ("cannot read … No such file").
  const docker = fakeDocker();
  const lockDir = join(mkdtempSync(join(tmpdir(), 'bm-app-')), 'maintenance');
  const tasks = Array.from({ length: 4 }, (_, i) => `task${i}`).join(' ');
  // A slow cat (as on a loaded node): between a task's look at the file and its read, another removes it.
  const slow = mkdtempSync(join(tmpdir(), 'bm-slowcat-'));
  writeFileSync(join(slow, 'cat'), '#!/bin/sh\nsleep 0.3\nexec /bin/cat "$@"\n');
  chmodSync(join(slow, 'cat'), 0o755);
  const env = {
    PATH: `${docker.dir}:${slow}:${process.env.PATH}`,
    APP_SERVICE: 'pulse_nextjs',
    MAINTENANCE_DIR: lockDir,
    FAKE_TASKS: tasks,
  };
  for (let round = 0; round < 2; round++) {
    const on = runBin('maintenance.ts', ['on'], env);
    t.equal(on.code, 0, on.stderr);
    const off = runBin('maintenance.ts', ['off'], env);
    t.equal(off.code, 0, `round ${round}: ${off.stderr}`);
    t.notOk(existsSync(join(lockDir, 'enabled.lock')), 'the lock removed');
  }
});

t.test('APP_SERVICE: every task on this node gets the lock, and the output says what it cannot reach', async (t) => {
  const docker = fakeDocker();
  const lockDir = join(mkdtempSync(join(tmpdir(), 'bm-app-')), 'maintenance');
  const env = { PATH: `${docker.dir}:${process.env.PATH}`, APP_SERVICE: 'pulse_nextjs', MAINTENANCE_DIR: lockDir };
  const on = runBin('maintenance.ts', ['on'], env);
  t.equal(on.code, 0, on.stderr);
  t.match(
    on.stdout,
    new RegExp(
      /note: Swarm: 2 task\(s\) of pulse_nextjs on this node were reached; /.source +
        /replicas on other nodes see the lock only through a shared folder/.source,
    ),
  );
  t.ok(existsSync(join(lockDir, 'enabled.lock')));
  const calls = readFileSync(docker.log, 'utf8').trim().split('\n');
  t.ok(calls.includes('ps --quiet --filter label=com.docker.swarm.service.name=pulse_nextjs --filter status=running'));
  t.ok(
    calls.some((c) => c.startsWith('exec task1aaa sh -c ')),
    'task 1 written',
  );
  t.ok(
    calls.some((c) => c.startsWith('exec task2bbb sh -c ')),
    'task 2 written',
  );
  const off = runBin('maintenance.ts', ['off'], env);
  t.equal(off.code, 0, off.stderr);
  t.notOk(existsSync(join(lockDir, 'enabled.lock')));
});

t.test('PG_CONTAINER: dump and restore stream through `docker exec`', async (t) => {
  const plain = await seededDatabase(t, 300);
  const url = { ...plain, password: 'pw-only-in-env' }; // the sandbox trusts any password
  const docker = fakeDocker(url);
  const backups = join(mkdtempSync(join(tmpdir(), 'bm-bk-')), 'b');
  const env = {
    PATH: `${docker.dir}:${findPgBindir()}:${process.env.PATH}`,
    DATABASE_URL: urlOf(url),
    PG_CONTAINER: 'postgres-production',
    BACKUP_DIR: backups,
  };
  const d = runBin('dump.ts', [], env);
  t.equal(d.code, 0, d.stderr);
  const path = d.stdout.trim().split('\n').pop()!;
  const calls = readFileSync(docker.log, 'utf8');
  t.match(
    calls,
    new RegExp(
      /^exec -e PGDATABASE -e PGUSER -e PGPASSWORD -e PGSSLMODE -e PGOPTIONS -e PGAPPNAME postgres-production /.source +
        /pg_dump --format=custom --compress=1 --snapshot=\S+ --no-password$/.source,
      'm',
    ),
  );
  t.match(calls, /^exec -i .*postgres-production pg_restore --list$/m);
  const before = await tableChecksum(url);
  await query(url, `DELETE FROM "User" WHERE role = 'ADMIN'`);
  const r = runBin('restore.ts', [path], { ...env, YES: '1', LIVE: '1' });
  t.equal(r.code, 0, r.stderr);
  const log = readFileSync(docker.log, 'utf8');
  t.match(
    log,
    new RegExp(
      /^exec -i -e PGDATABASE -e PGUSER -e PGPASSWORD -e PGSSLMODE -e PGOPTIONS -e PGAPPNAME /.source +
        /postgres-production pg_restore --clean --if-exists --single-transaction --no-password --file=-$/.source,
      'm',
    ),
  );
  t.match(
    log,
    new RegExp(
      /^exec -i -e PGDATABASE -e PGUSER -e PGPASSWORD -e PGSSLMODE -e PGOPTIONS -e PGAPPNAME /.source +
        /postgres-production psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --no-password --file=-$/.source,
      'm',
    ),
  );
  t.equal(await tableChecksum(url), before, 'restored through the container path');
  t.notMatch(readFileSync(docker.log, 'utf8'), /pw-only-in-env/, 'no password on any docker command line');
  t.notMatch(d.stdout + d.stderr + r.stdout + r.stderr, /pw-only-in-env/, 'nor in any output');
});

t.test(
  "PG_SERVICE: dump, restore and migrate run in the service's task, with no PostgreSQL program on this host",
  async (t) => {
    const url = await seededDatabase(t, 400);
    const docker = fakeDocker(url);
    const noTools = mkdtempSync(join(tmpdir(), 'bm-empty-bindir-'));
    const s = tempSettings(url, {
      PATH: `${docker.dir}:/usr/bin:/bin`,
      PG_SERVICE: 'pulse_postgres',
      PG_BINDIR: noTools,
      FAKE_TASKS: 'pgtask1',
    });
    const before = await snapshot(url);
    const d = runBin('dump.ts', [], s.env);
    t.equal(d.code, 0, d.stderr);
    const calls = () => readFileSync(docker.log, 'utf8');
    t.match(
      calls(),
      /^ps --quiet --filter label=com.docker.swarm.service.name=pulse_postgres --filter status=running$/m,
    );
    t.match(calls(), /^exec (-e \S+ )+pgtask1 pg_dump --format=custom/m, 'pg_dump in the task the service runs now');
    const path = d.stdout.trim().split('\n').pop()!;
    await query(url, `DELETE FROM "User" WHERE role = 'ADMIN'`);
    const r = runBin('restore.ts', [path], { ...s.env, YES: '1', LIVE: '1', FAKE_TASKS: 'pgtask2' });
    t.equal(r.code, 0, r.stderr);
    t.match(
      calls(),
      /^exec -i (-e \S+ )+pgtask2 pg_restore --clean/m,
      'the task asked afresh: a restarted task is another container',
    );
    t.same(await snapshot(url), before, 'every row back');

    const m = runBin('migrate.ts', ['0001'], s.env);
    t.equal(m.code, 0, m.stdout + m.stderr);
    await assertMigrated(t, url, before, s);
    t.notMatch(calls(), /^(?!exec |ps ).+/m, 'docker was asked nothing else');

    const none = runBin('dump.ts', [], { ...s.env, FAKE_TASKS: 'none' });
    t.equal(none.code, 2);
    t.match(
      none.stderr,
      new RegExp(
        /^dump: PG_SERVICE: no running task of service pulse_postgres on this node\.\n/.source +
          /\s*next: Check the name with `docker service ls`/.source,
        'm',
      ),
    );
    const two = runBin('dump.ts', [], { ...s.env, FAKE_TASKS: 'a b' });
    t.equal(two.code, 2);
    t.match(two.stderr, /service pulse_postgres has 2 running tasks on this node/);
  },
);

t.test('preflight: a container or service that is not there is refused before anything changes', async (t) => {
  const url = await seededDatabase(t, 300);
  const docker = fakeDocker(url);
  const base = { PATH: `${docker.dir}:${process.env.PATH}` };
  const data = await tableChecksum(url);
  const cases: [Record<string, string>, RegExp][] = [
    [
      { APP_SERVICE: 'pulse_nextjz', FAKE_TASKS: 'none' },
      /APP_SERVICE: no running task of service pulse_nextjz on this node/,
    ],
    [
      { APP_CONTAINER: 'nextjs-pulse-work', FAKE_STATE: 'missing' },
      /APP_CONTAINER: no container nextjs-pulse-work on this node/,
    ],
    [
      { PG_CONTAINER: 'postgres-production', FAKE_STATE: 'false' },
      /PG_CONTAINER: container postgres-production is not running/,
    ],
    [{ PG_SERVICE: 'pulse_postgrez', FAKE_TASKS: 'none' }, /PG_SERVICE: no running task of service pulse_postgrez/],
  ];
  for (const [extra, cause] of cases) {
    const s = tempSettings(url, { ...base, ...extra });
    const r = runBin('migrate.ts', ['0001'], s.env);
    t.equal(r.code, 2, `${JSON.stringify(extra)}: refused`);
    t.match(r.stderr, cause);
    t.match(r.stderr, /^migrate-0001: (APP|PG)_/, 'the refusal, in preflight');
    t.notMatch(r.stderr, /stays ON|state:/, 'no claim about maintenance: nothing went ON');
    t.notOk(existsSync(s.backupDir) && readdirSync(s.backupDir).some((f) => f.endsWith('.dump')), 'no dump taken');
  }
  t.equal(await tableChecksum(url), data, 'data unchanged');
  t.same(await enumLabels(url), ['USER', 'ADMIN'], 'schema unchanged');
});

t.test(
  "APP_USER: the lock is written as the app's user, and a folder that user cannot write is refused first",
  async (t) => {
    const docker = fakeDocker();
    const root = mkdtempSync(join(tmpdir(), 'bm-appuser-'));
    chmodSync(root, 0o755);
    const lockDir = join(root, 'maintenance');
    mkdirSync(lockDir, { mode: 0o755 }); // root's: the app's user (postgres here) cannot write it
    const env = {
      PATH: `${docker.dir}:${process.env.PATH}`,
      APP_SERVICE: 'pulse_nextjs',
      MAINTENANCE_DIR: lockDir,
      APP_USER: 'postgres',
    };
    const refused = runBin('maintenance.ts', ['on'], env);
    t.equal(refused.code, 2, refused.stdout + refused.stderr);
    t.match(
      refused.stderr,
      new RegExp(
        `^maintenance-on: the maintenance lock cannot be written: task task1aaa of pulse_nextjs: ${lockDir} is not a ` +
          'writable folder for that user; task task2bbb',
      ),
    );
    t.match(refused.stderr, /next: Make \S+ exist and be writable by user postgres/);
    t.notOk(existsSync(join(lockDir, 'enabled.lock')), 'nothing written');
    t.match(readFileSync(docker.log, 'utf8'), /^exec -u postgres task1aaa sh -c /m);

    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    chownSync(lockDir, uid, 0);
    const on = runBin('maintenance.ts', ['on'], env);
    t.equal(on.code, 0, on.stderr);
    const st = statSync(join(lockDir, 'enabled.lock'));
    t.equal(st.uid, uid, "written by the app's user");
    t.equal(st.mode & 0o777, 0o644);
    t.equal(runBin('maintenance.ts', ['off'], env).code, 0);
    t.notOk(existsSync(join(lockDir, 'enabled.lock')));
  },
);

t.test(
  'rehearsal with PG_SERVICE: the same-server copy through the task; ' +
    "REHEARSE_IN=sandbox restores with this host's programs",
  async (t) => {
    const url = await seededDatabase(t, 500);
    const docker = fakeDocker(url);
    const data = await tableChecksum(url);
    const same = tempSettings(url, {
      PATH: `${docker.dir}:/usr/bin:/bin`,
      PG_SERVICE: 'pulse_postgres',
      FAKE_TASKS: 'pgtask1',
      PG_BINDIR: mkdtempSync(join(tmpdir(), 'bm-empty-bindir-')),
    });
    const r = runBin('rehearse.ts', ['0001'], same.env);
    t.equal(r.code, 0, r.stdout + r.stderr);
    t.match(
      readFileSync(docker.log, 'utf8'),
      /^exec -i (-e \S+ )+pgtask1 pg_restore --clean --if-exists --single-transaction --no-owner/m,
      'the copy restored through the task',
    );
    const sandboxNoTools = runBin('rehearse.ts', ['0001'], { ...same.env, REHEARSE_IN: 'sandbox' });
    t.equal(sandboxNoTools.code, 2);
    t.match(
      sandboxNoTools.stderr,
      /^rehearse-0001: REHEARSE_IN=sandbox runs a PostgreSQL on this host, whose programs are missing/m,
    );
    t.match(
      sandboxNoTools.stderr,
      /next: Install them .*or rehearse on production's server: `make rehearse-0001` without REHEARSE_IN/,
    );

    writeFileSync(docker.log, '');
    const sandbox = tempSettings(url, {
      PATH: `${docker.dir}:${process.env.PATH}`,
      PG_SERVICE: 'pulse_postgres',
      FAKE_TASKS: 'pgtask1',
      REHEARSE_IN: 'sandbox',
    });
    const rs = runBin('rehearse.ts', ['0001'], sandbox.env);
    t.equal(rs.code, 0, rs.stdout + rs.stderr);
    t.match(rs.stdout, /into \S+_rehearse_\S+ \(sandbox\)/);
    const log = readFileSync(docker.log, 'utf8');
    t.match(log, /pgtask1 pg_dump --format=custom/, 'production dumped through its task');
    t.notMatch(
      log,
      /pg_restore --clean/,
      "the sandbox restored with this host's pg_restore, not production's container",
    );
    t.equal(await tableChecksum(url), data, 'production data unchanged');
  },
);

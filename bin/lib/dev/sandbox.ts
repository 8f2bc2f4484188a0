// A throwaway PostgreSQL cluster for the tests, the demo and the benchmarks: initdb into a temp
// dir, trust auth, a free loopback port, the unix socket inside the temp dir. As root the server
// runs as the `postgres` user (initdb refuses root). It is stopped and deleted on exit, on Ctrl-C
// and when a test fails; it never touches any other server.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, chownSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debianBinDirs } from '../connection/pgtools.js';
import { Refusal } from '../connection/refusal.js';
import { parseTarget, type Target } from '../connection/target.js';

export interface Sandbox {
  url: string; // postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
  target: Target; // the same, parsed (TLS off)
  bindir: string;
  dir: string;
  stop(): void;
}

/**
 * The machine's PostgreSQL binaries: $PG_BINDIR when set (and only there, as for pg_dump and
 * psql), else `pg_config --bindir`, else the newest /usr/lib/postgresql/N/bin (Debian's server
 * package ships no pg_config on PATH).
 */
export function findPgBindir(
  where: { bindir?: string; pgConfig?: string; root?: string } = process.env.PG_BINDIR
    ? { bindir: process.env.PG_BINDIR }
    : { pgConfig: 'pg_config', root: '/usr/lib/postgresql' },
): string | undefined {
  const candidates: string[] = [];
  if (where.bindir) candidates.push(where.bindir);
  if (where.pgConfig) {
    try {
      candidates.push(
        execFileSync(where.pgConfig, ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
      );
    } catch {
      /* no pg_config: fall back to the packaging layout */
    }
  }
  if (where.root) candidates.push(...debianBinDirs(where.root));
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
}

export function requirePgBindir(where?: Parameters<typeof findPgBindir>[0]): string {
  const bindir = findPgBindir(where);
  if (!bindir) {
    throw new Refusal(
      'sandbox: no PostgreSQL server binaries found (initdb, pg_ctl).',
      'Run `apt-get install -y postgresql`, or set DATABASE_URL to a server you own.',
    );
  }
  return bindir;
}

/** A free TCP port on loopback, chosen by the kernel. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

const isRoot = process.getuid?.() === 0;

function asServerUser(bin: string, args: string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

function run(bin: string, args: string[]): void {
  const [cmd, cmdArgs] = asServerUser(bin, args);
  const res = spawnSync(cmd, cmdArgs, { encoding: 'utf8' });
  if (res.status !== 0) {
    const why = (res.stderr || res.stdout || String(res.error ?? '')).trim().split('\n').pop();
    throw new Error(`sandbox: ${bin.split('/').pop()} failed: ${why}`);
  }
}

export async function startSandbox(opts: { settings?: Record<string, string> } = {}): Promise<Sandbox> {
  const bindir = requirePgBindir();
  const dir = mkdtempSync(join(tmpdir(), 'bm-sandbox-'));
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stop);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (existsSync(join(data, 'postmaster.pid'))) {
      const [cmd, args] = asServerUser(join(bindir, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w']);
      spawnSync(cmd, args, { stdio: 'ignore' });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    stop();
    process.kill(process.pid, signal);
  };
  process.on('exit', stop);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    run(join(bindir, 'initdb'), [
      '-D',
      data,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--no-locale',
      '--no-sync',
    ]);
    const port = await freePort();
    // fsync off: this cluster is thrown away, and durability is not what the tests measure.
    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      port: String(port),
      unix_socket_directories: dir,
      fsync: 'off',
      full_page_writes: 'off',
      synchronous_commit: 'off',
      max_connections: '100',
      ...opts.settings,
    };
    const serverOpts = Object.entries(settings)
      .map(([k, v]) => `-c ${k}=${v}`)
      .join(' ');
    run(join(bindir, 'pg_ctl'), [
      'start',
      '-D',
      data,
      '-w',
      '-t',
      '60',
      '-l',
      join(dir, 'server.log'),
      '-o',
      serverOpts,
    ]);
    const url = `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
    return { url, target: parseTarget(url), bindir, dir, stop };
  } catch (err) {
    stop();
    throw err;
  }
}

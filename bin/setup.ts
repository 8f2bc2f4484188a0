#!/usr/bin/env tsx
// What `make demo`, `make test` and `make bench` need from the machine: PostgreSQL's server
// programs (initdb, pg_ctl: the throwaway sandbox) and client programs (psql, pg_dump,
// pg_restore). Found where the sandbox looks (PG_BINDIR, pg_config, /usr/lib/postgresql/N/bin);
// when missing, installed from Debian as root, else one line saying exactly what to run.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { main, Refusal, type Command } from './lib/cli/cli.js';
import { findPgBindir } from './lib/dev/sandbox.js';
import { isMain } from './lib/cli/entry.js';

const SERVER = ['initdb', 'pg_ctl'];
const CLIENT = ['psql', 'pg_dump', 'pg_restore'];
const INSTALL = 'apt-get install -y postgresql';

/** The PostgreSQL programs the sandbox cannot find, as the sandbox searches for them. */
export function missingPrograms(bindir = findPgBindir()): string[] {
  if (!bindir) return [...SERVER, ...CLIENT];
  return CLIENT.filter((p) => !existsSync(join(bindir, p)));
}

export type SetupAction =
  | { action: 'ok' }
  | { action: 'install'; line: string }
  | { action: 'refuse'; message: string; next: string };

/** What to do about missing programs on this machine. */
export function decide(m: { missing: string[]; pgBindir?: string; isRoot: boolean; hasApt: boolean }): SetupAction {
  if (!m.missing.length) return { action: 'ok' };
  const what = `PostgreSQL's programs are missing (${m.missing.join(', ')})`;
  if (m.pgBindir) {
    // PG_BINDIR says where to look, and only there: installing a package would not change that.
    return {
      action: 'refuse',
      message: `setup: ${what} in PG_BINDIR=${m.pgBindir}.`,
      next: 'Point PG_BINDIR at the folder holding initdb and pg_dump, or unset it.',
    };
  }
  if (m.isRoot && m.hasApt) {
    return { action: 'install', line: `setup: ${what}; installing Debian's postgresql (${INSTALL})` };
  }
  return {
    action: 'refuse',
    message: `setup: ${what}, and this ${m.isRoot ? 'machine has no apt-get' : 'user is not root'} to install them.`,
    next: m.hasApt
      ? `Run \`sudo ${INSTALL}\`, then this again (or set PG_BINDIR to where initdb is).`
      : "Install PostgreSQL's server and client programs (15 or newer), " +
        'then set PG_BINDIR to the folder holding initdb.',
  };
}

export async function ensurePostgres(log: (l: string) => void = console.log): Promise<'present' | 'installed'> {
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
  const plan = decide({
    missing: missingPrograms(),
    pgBindir: process.env.PG_BINDIR || undefined,
    isRoot: process.getuid?.() === 0,
    hasApt,
  });
  if (plan.action === 'ok') return 'present';
  if (plan.action === 'refuse') throw new Refusal(plan.message, plan.next, 2);
  log(plan.line);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', 'postgresql'],
  ]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (r.status !== 0) {
      throw new Refusal(
        `setup: apt-get ${args[0]} failed (exit ${r.status}).`,
        `Run \`${INSTALL}\` by hand and read its error.`,
        1,
      );
    }
  }
  const still = missingPrograms();
  if (still.length) {
    throw new Refusal(
      `setup: Debian's postgresql is installed, but ${still.join(', ')} still cannot be found.`,
      'Set PG_BINDIR to the folder holding initdb.',
      1,
    );
  }
  return 'installed';
}

/** The command, for the entry point's verb table (bin/breaking-migrations.ts) and for running this file. */
export function command(_args: string[]): Command {
  return {
    name: 'setup',
    usage: 'usage: make setup   (run by make demo, make test, make bench)',
    help: `
Checks that PostgreSQL's server programs (initdb, pg_ctl) and client programs (psql, pg_dump,
pg_restore) are where the sandbox looks: PG_BINDIR when set (and only there), else pg_config
--bindir, else the newest /usr/lib/postgresql/N/bin. When they are missing: as root with apt-get,
installs Debian's postgresql (one line saying so, then apt-get's own progress); otherwise refuses
in one line naming the command to run. Silent when everything is there.
Exit codes: 0 present or installed, 1 the install failed, 2 missing and not installable here.`,
    async run() {
      if ((await ensurePostgres()) === 'installed') console.log('setup: PostgreSQL installed');
    },
  };
}

if (isMain(import.meta.url)) await main(command(process.argv.slice(2)));

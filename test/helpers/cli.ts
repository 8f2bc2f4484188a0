// Run a bin/ script as a user would: its own process, a chosen environment and working dir.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = fileURLToPath(new URL('../..', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `tsx bin/<script>` with only the variables given (plus PATH/HOME, and MIGRATIONS_DIR at this
 * checkout's migrations/ unless given, whatever the working directory): no inherited DATABASE_URL.
 */
export function runBin(
  script: string,
  args: string[],
  env: Record<string, string | undefined> = {},
  opts: { cwd?: string; input?: string } = {},
): Run {
  const res = spawnSync(`${repo}/node_modules/.bin/tsx`, [`${repo}/bin/${script}`, ...args], {
    cwd: opts.cwd ?? repo,
    input: opts.input,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      MIGRATIONS_DIR: join(repo, 'migrations'),
      ...env,
    } as NodeJS.ProcessEnv,
  });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr };
}

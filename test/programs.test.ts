// The programs the toolkit runs through zx never read the operator's ~/.bashrc. zx starts each in
// bash; a bash whose stdin is a socket and whose SHLVL is below 2 (started by cron, systemd, a
// container's exec) sources ~/.bashrc as if sshd had started it: seconds of pyenv or nvm inside
// the window, and its output mixed into what the toolkit parses (docker ps, dbmate, the lock file).
import t from 'tap';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx';
import { quiet } from '../bin/lib/connection/programs.js';
import { lockFolderFault, readLock, removeLock, writeLock } from '../bin/lib/maintenance/lockfile.js';
import { dbmate } from '../bin/lib/runbook/dbmate.js';
import { resolveTarget } from '../bin/lib/connection/target.js';

t.test('no program the toolkit runs reads ~/.bashrc, whatever SHLVL says', async (t) => {
  const home = t.testdir({ '.bashrc': 'echo from-bashrc; touch "$HOME/bashrc-read"\n' });
  const marker = join(home, 'bashrc-read');
  const saved = { HOME: process.env.HOME, SHLVL: process.env.SHLVL };
  process.env.HOME = home;
  process.env.SHLVL = '0';
  t.teardown(() => Object.assign(process.env, saved));

  // The trap is real on this machine: a plain zx call with a pipe for stdin reads the file.
  const plain = await $({ quiet: true, nothrow: true, input: '' })`${['echo', 'out']}`;
  t.ok(existsSync(marker), 'control: a zx call whose stdin is a pipe sources ~/.bashrc');
  t.equal(plain.stdout, 'from-bashrc\nout\n', "control: and its output is mixed into the program's");
  rmSync(marker);

  const out = await quiet`${['echo', 'out']}`;
  t.equal(out.stdout, 'out\n', "quiet: the program's output only");
  const lock = join(home, 'maintenance', 'enabled.lock');
  t.equal(await lockFolderFault([], lock), undefined, 'the lock folder check');
  const content = {
    since: '2026-12-03T16:00:00.000Z',
    reason: 'migration 0001',
    retryAfter: 300,
    by: 'a@b',
    message: 'Back at 5 % past: "soon"',
  };
  await writeLock([], lock, content);
  t.equal(
    readFileSync(lock, 'utf8'),
    `${JSON.stringify(content, null, 2)}\n`,
    'the lock file holds the JSON exactly, % and quotes included, one newline at the end',
  );
  t.equal(statSync(lock).mode & 0o777, 0o644, 'readable by the app (0644)');
  t.same(await readLock([], lock), content, 'read back');
  await removeLock([], lock);
  t.notOk(existsSync(lock), 'removed');
  const unreachable = await resolveTarget('postgresql://nobody@127.0.0.1:1/none?sslmode=disable');
  const refused = await dbmate(unreachable, [], 'status').catch((e: Error) => e);
  t.match(
    String((refused as Error).message),
    /127\.0\.0\.1:1|not reachable|refused/i,
    'dbmate ran (and found no server)',
  );
  t.notOk(existsSync(marker), '~/.bashrc never read: not by quiet, the lock file, nor dbmate');
});

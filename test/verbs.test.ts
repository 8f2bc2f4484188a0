// The verb table of the one entry point (bin/breaking-migrations.ts) is the user interface: the
// Makefile runs each verb through it, `make help` lists them, the README's table says the same.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findVerb, VERBS } from '../bin/breaking-migrations.js';
import { repo } from './helpers/cli.js';

const own = readFileSync(join(repo, 'Makefile'), 'utf8');
const fragment = readFileSync(join(repo, 'breaking-migrations.mk'), 'utf8'); // what an app includes
const makefile = `${own}\n${fragment}`;
const targets = (text: string) =>
  [...text.matchAll(/^([a-z0-9%-]+):.*\n\t@\$\(BREAKING_MIGRATIONS\) (\S+)/gm)]
    .map((m) => ({ target: m[1], verb: m[2] }))
    .filter((c) => c.target !== 'help'); // make help prints the table itself

t.test("the app's make fragment has every verb of the package, and only those", async (t) => {
  t.match(own, /^include breaking-migrations\.mk$/m, 'this Makefile includes the fragment as an app does');
  t.same(
    targets(fragment).map((c) => c.target.replace('%', 'NNNN')),
    VERBS.filter((v) => !v.checkout).map((v) => v.verb),
    'the package verbs, in the table order',
  );
  t.notMatch(fragment, /\$\((NPM|TSX|ROWS)\)|node_modules\/\.package-lock/, "nothing of this repository's own");
});

t.test('every make target that runs a verb names a row of the table, and every row has its target', async (t) => {
  const calls = targets(makefile);
  t.ok(calls.length >= VERBS.length, `${calls.length} targets run the entry point`);
  for (const c of calls) {
    t.equal(c.verb.replace('$*', 'NNNN'), c.target.replace('%', 'NNNN'), `${c.target} runs its own verb`);
    t.ok(findVerb(c.verb.replace('$*', '0001')), `${c.verb} is in the table`);
  }
  for (const v of VERBS)
    t.ok(
      calls.some((c) => c.target.replace('%', 'NNNN') === v.verb),
      `make ${v.verb} exists`,
    );
  t.notMatch(makefile, /^\t.*\$\(TSX\) (bin|verify|bench)\//m, 'no target runs a command file directly');
});

t.test('findVerb: exact names and four-digit ids only', async (t) => {
  t.equal(findVerb('migrate-0001')?.id, '0001');
  t.equal(findVerb('dump')?.verb.verb, 'dump');
  t.equal(findVerb('migrate-1'), undefined);
  t.equal(findVerb('migrate-00011'), undefined);
  t.equal(findVerb('dumpx'), undefined);
});

t.test('make help lists every verb; an unknown verb is refused with the list', async (t) => {
  const help = spawnSync('make', ['-s', 'help'], { cwd: repo, encoding: 'utf8' });
  t.equal(help.status, 0, help.stderr);
  for (const v of VERBS)
    t.match(
      help.stdout,
      new RegExp(`^ {2}${v.verb} +${v.does.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'),
    );
  const bad = spawnSync(`${repo}/node_modules/.bin/tsx`, [join(repo, 'bin/breaking-migrations.ts'), 'migrat-0001'], {
    encoding: 'utf8',
  });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /^breaking-migrations: unknown verb "migrat-0001"\.\nusage: /);
});

t.test("the README's verb table is the entry point's", async (t) => {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const rows = [...readme.matchAll(/^\| `make ([a-zA-Z0-9-]+)` \| (.*?) \| (.*?) \| (.*?) \|$/gm)];
  t.same(
    rows.map((r) => r[1]),
    VERBS.map((v) => v.verb),
    'the same verbs, in the same order',
  );
  for (const [i, v] of VERBS.entries()) {
    t.same(
      rows[i]?.slice(2, 5),
      [v.does, v.changes, v.exits],
      `${v.verb}: what it does, what it changes, its exit codes`,
    );
  }
});

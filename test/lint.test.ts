// make lint fails on each kind of fault it exists for (issue 20.5): a layer violation, a
// formatting fault, a lint finding and a line over 120 columns, each planted in a copy of the tree.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo } from './helpers/cli.js';

/** A git checkout of the tree as committed plus the working tree's files, node_modules linked. */
function copy(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'bm-lint-')), 'tree');
  const parts = [
    'bin',
    'verify',
    'bench',
    'test',
    'e2e',
    'nextjs',
    'db',
    'sql',
    'migrations',
    'Makefile',
    'breaking-migrations.mk',
    'biome.json',
    '.dependency-cruiser.cjs',
    'tsconfig.json',
    'package.json',
    'package-lock.json',
    '.gitignore',
  ];
  for (const p of parts)
    cpSync(join(repo, p), join(dir, p), {
      recursive: true,
      preserveTimestamps: true,
      filter: (src) => !src.includes('/artifacts'),
    });
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  const git = (...args: string[]) => spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
  git('init', '-q');
  git('add', '-A');
  return dir;
}

const lint = (dir: string) => {
  // -o: never remake node_modules here (npm ci would empty the linked, real node_modules).
  const r = spawnSync('make', ['-s', '-o', 'node_modules/.package-lock.json', 'lint'], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  });
  return { code: r.status, out: r.stdout + r.stderr };
};

t.test('make lint passes on the tree as it is', async (t) => {
  const r = lint(copy());
  t.equal(r.code, 0, r.out);
});

t.test('and fails on each fault, naming it', async (t) => {
  const cases: [string, (dir: string) => void, RegExp][] = [
    [
      'a lower layer importing a higher one',
      (dir) =>
        appendFileSync(
          join(dir, 'bin/lib/connection/target.ts'),
          "\nexport { openRun } from '../runbook/journal.js';\n",
        ),
      /connection-below-.*bin\/lib\/connection\/target\.ts → .*bin\/lib\/runbook\/journal\.ts/s,
    ],
    [
      'shared code importing a command',
      (dir) => appendFileSync(join(dir, 'bin/lib/backup/manifest.ts'), "\nexport { command } from '../../dump.js';\n"),
      /lib-never-imports-a-command/,
    ],
    [
      'a formatting fault',
      (dir) =>
        writeFileSync(
          join(dir, 'bin/lib/cli/entry.ts'),
          readFileSync(join(dir, 'bin/lib/cli/entry.ts'), 'utf8').replaceAll("'", '"'),
        ),
      /entry\.ts format/,
    ],
    [
      'a line over 120 columns',
      (dir) => appendFileSync(join(dir, 'sql/history.sql'), `-- ${'x'.repeat(130)}\n`),
      /sql\/history\.sql:\d+: 133 columns \(at most 120\)/,
    ],
  ];
  for (const [what, plant, says] of cases) {
    const dir = copy();
    plant(dir);
    const r = lint(dir);
    t.not(r.code, 0, `${what}: make lint fails`);
    t.match(r.out, says, `${what}: named`);
  }
});

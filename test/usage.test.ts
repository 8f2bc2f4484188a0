// What `--help` and `help` print is what works where they run: in the installed package
// `npx breaking-migrations VERB …` (or the make verb), in this checkout the make verb; the package's
// `help` lists only the package's verbs. test/package.test.ts checks the same from the packed tarball.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { entryUsage, findVerb, VERBS, verbTable } from '../bin/breaking-migrations.js';
import { usageLine } from '../bin/lib/cli/cli.js';
import { repo } from './helpers/cli.js';

const PACKAGE_FORM = /^usage: breaking-migrations (\S+)(?: .*?)? {3}\((make .+)\)$/;

t.test("every verb's usage names its verb, and its make verb", async (t) => {
  for (const v of VERBS) {
    const typed = v.verb.replace('NNNN', '0001');
    const found = findVerb(typed);
    const { usage } = (await v.load()).command(v.args(found?.id ?? ''));
    t.notMatch(usage, /\btsx\b|bin\/|\.ts\b/, `${v.verb}: no file to run by path`);
    if (v.verb === 'init') {
      t.match(usage, /^usage: npx breaking-migrations init /, 'init: the command that creates the make include');
    } else if (v.checkout) {
      t.match(usage, new RegExp(`^usage: make ${v.verb}\\b`), `${v.verb}: a checkout's verb, its make verb`);
    } else {
      const m = PACKAGE_FORM.exec(usage);
      t.ok(m, `${v.verb}: usage: breaking-migrations VERB …   (make VERB …)`);
      t.ok(m?.[1].split('|').includes(v.verb), `${v.verb}: among the verbs it names (${m?.[1]})`);
      t.match(m?.[2], new RegExp(`\\bmake (?:[a-z-]+\\|)*${v.verb}\\b`), `${v.verb}: its make verb`);
    }
  }
});

t.test('usageLine: the npx command in the package, the make verb in this checkout', async (t) => {
  const usage = 'usage: breaking-migrations restore DUMP   (make restore DUMP=backups/….dump [YES=1])';
  t.equal(
    usageLine(usage, false),
    'usage: npx breaking-migrations restore DUMP   (make restore DUMP=backups/….dump [YES=1])',
  );
  t.equal(usageLine(usage, true), 'usage: make restore DUMP=backups/….dump [YES=1]');
  t.equal(
    usageLine('usage: make demo [ROWS=100000]', false),
    'usage: make demo [ROWS=100000]',
    'other forms as written',
  );
});

t.test("help: the package's verbs in the package, every verb in this checkout", async (t) => {
  const checkoutOnly = VERBS.filter((v) => v.checkout);
  t.ok(checkoutOnly.length >= 5, 'baseline, seed, demo, bench, setup');
  const inPackage = verbTable(false);
  for (const v of VERBS)
    (v.checkout ? t.notMatch : t.match)(inPackage, new RegExp(`^ {2}${v.verb} `, 'm'), `package: ${v.verb}`);
  for (const v of VERBS) t.match(verbTable(true), new RegExp(`^ {2}${v.verb} `, 'm'), `checkout: ${v.verb}`);
  t.match(entryUsage(false), /^usage: npx breaking-migrations <verb> /);
  t.match(entryUsage(true), /^usage: make <verb> /);

  const r = spawnSync(
    join(repo, 'node_modules/.bin/tsx'),
    [join(repo, 'bin/breaking-migrations.ts'), 'restore', '-h'],
    {
      encoding: 'utf8',
    },
  );
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.split('\n')[0], 'usage: make restore DUMP=backups/….dump [YES=1] [LIVE=1]', 'in this checkout');
});

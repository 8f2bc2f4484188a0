// sql/NNNN/enum.json is hand-editable: it is checked field by field on load, and a faulty one
// stops a command before anything changes, naming each fault (issue 20.4).
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enumSpecFaults, readEnumSpec } from '../bin/lib/enum/enum-spec.js';
import { repo } from './helpers/cli.js';
import { enumLabels, seededDatabase, tableChecksum, urlOf } from './helpers/database.js';

const good = JSON.parse(readFileSync(join(repo, 'migrations/0001/enum.json'), 'utf8'));

t.test("0001's spec is valid and reads back as it is", async (t) => {
  t.same(enumSpecFaults(good), []);
  t.same(readEnumSpec('0001'), good);
  t.equal(readEnumSpec('9999'), undefined, 'no file: not an enum migration');
});

t.test('each fault, in its own words', async (t) => {
  const faults = (change: Record<string, unknown>) => enumSpecFaults({ ...good, ...change });
  t.same(enumSpecFaults([1]), ['it is not a JSON object']);
  t.same(faults({ type: 'Ro le' }), ['"type" must be the enum\'s name, e.g. "Role"']);
  t.same(faults({ from: [] }).slice(0, 1), ['"from" must be a non-empty list of labels, e.g. ["USER", "ADMIN"]']);
  t.same(faults({ to: ['EMPLOYEE', 'ADMIN', 'EMPLOYEE'] }), ['"to" lists EMPLOYEE twice']);
  t.same(faults({ map: { GUEST: 'EMPLOYEE' } }), ['"map" moves GUEST, which is not in "from" (USER, ADMIN)']);
  t.same(faults({ map: { USER: 'STAFF' } }), [
    '"map" moves USER to "STAFF", which is not in "to" (EMPLOYEE, MANAGER, ADMIN)',
  ]);
  t.same(faults({ map: [] }), [
    '"map" must be an object from a label of "from" to a label of "to", e.g. {"USER": "EMPLOYEE"}',
  ]);
  t.same(faults({ to: ['USER', 'ADMIN'], map: {} }), [
    '"from" and "to" are the same and nothing is mapped: there is nothing to migrate',
  ]);
  t.same(faults({ name: 'Role Change' }), [
    '"name" must be the Prisma migration\'s name: lowercase letters, digits, _',
  ]);
  t.same(faults({ expand: 'role_expand' }), [
    '"expand" must be its dbmate file\'s name without .sql: <14-digit version>_<name>',
  ]);
  t.same(faults({ expand: good.contract, contract: good.expand }), [
    '"expand" must sort before "contract" (dbmate runs versions in order)',
  ]);
  t.same(faults({ tpye: 'Role' }), ['"tpye" is not a field (type, from, to, map, name, expand, contract)']);
  t.equal(
    faults({ type: 1, from: 'USER', name: '' }).length,
    4,
    'every fault at once (type, from, the map of USER, name)',
  );
});

t.test('a faulty enum.json stops migrate-NNNN before anything changes, naming the faults', async (t) => {
  const db = await seededDatabase(t, 200);
  const copy = mkdtempSync(join(tmpdir(), 'bm-spec-'));
  for (const part of ['bin', 'db', 'sql', 'migrations', 'verify', 'package.json', 'tsconfig.json'])
    cpSync(join(repo, part), join(copy, part), { recursive: true });
  symlinkSync(join(repo, 'node_modules'), join(copy, 'node_modules'));
  writeFileSync(join(copy, 'migrations/0001/enum.json'), JSON.stringify({ ...good, map: { USER: 'STAFF' } }));
  const data = await tableChecksum(db);
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: urlOf(db),
    MAINTENANCE_DIR: join(copy, 'm'),
    BACKUP_DIR: join(copy, 'b'),
  };
  const r = spawnSync(join(copy, 'node_modules/.bin/tsx'), [join(copy, 'bin/migrate.ts'), '0001'], {
    cwd: copy,
    env,
    encoding: 'utf8',
  });
  t.equal(r.status, 2, r.stderr);
  t.match(r.stderr, /^migrate-0001: migrations\/0001\/enum\.json: "map" moves USER to "STAFF", which is not in "to"/);
  t.match(r.stderr, /next: Fix each field named, then run again\./);
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  t.equal(await tableChecksum(db), data, 'data unchanged');
  t.same(await enumLabels(db), ['USER', 'ADMIN']);
  writeFileSync(join(copy, 'migrations/0001/enum.json'), '{ "type": "Role",');
  const broken = spawnSync(join(copy, 'node_modules/.bin/tsx'), [join(copy, 'bin/migrate.ts'), '0001'], {
    cwd: copy,
    env,
    encoding: 'utf8',
  });
  t.equal(broken.status, 2);
  t.match(broken.stderr, /^migrate-0001: migrations\/0001\/enum\.json is not valid JSON/);
});

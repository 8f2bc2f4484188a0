// The next migration: every verb works for any migration folder, an enum change is generated,
// and a hand-written one starts from a skeleton that refuses to run until it is written. New
// migrations are written into a throwaway copy of the repository, never into this one.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enumMigrationFiles } from '../bin/lib/enum/enum-migration.js';
import { loadEnumSpec } from '../bin/lib/enum/enum-spec.js';
import { enumSpec } from '../bin/new-migration.js';
import { repo, type Run } from './helpers/cli.js';
import { catalogSnapshot, query, tableChecksum, testDatabase, urlOf } from './helpers/database.js';
import type { Target } from '../bin/lib/connection/target.js';

/** A copy of what the commands need of the repository (node_modules linked), for new migrations. */
function repoCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bm-repo-'));
  for (const part of ['bin', 'db', 'sql', 'migrations', 'verify', 'package.json', 'tsconfig.json'])
    cpSync(join(repo, part), join(dir, part), { recursive: true });
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** Runs a script of that copy (bin/… or verify/…) as a user would. */
function run(copy: string, script: string, args: string[], env: Record<string, string>): Run {
  const r = spawnSync(join(copy, 'node_modules/.bin/tsx'), [join(copy, script), ...args], {
    cwd: copy,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const labels = async (db: Target, type: string) =>
  (
    await query<{ l: string }>(
      db,
      `SELECT enumlabel AS l FROM pg_enum WHERE enumtypid = to_regtype($1) ORDER BY enumsortorder`,
      [type],
    )
  ).map((r) => r.l);
const planCounts = (db: Target) =>
  query(
    db,
    `
  SELECT 'Account.plan' AS col, plan::text AS label, count(*)::int AS n FROM "Account" GROUP BY 2
  UNION ALL SELECT 'Bundle.plans', p::text, count(*)::int FROM "Bundle", unnest(plans) p GROUP BY 2 ORDER BY 1, 2`,
  );

/** A database with enum "Plan" in two tables: a column with DEFAULT 'BASIC', and an array. */
async function planDatabase(t: Parameters<typeof testDatabase>[0]): Promise<Target> {
  const db = await testDatabase(t);
  await query(
    db,
    `CREATE TYPE "Plan" AS ENUM ('FREE', 'BASIC', 'PRO');
    CREATE TABLE "Account" (id serial PRIMARY KEY, email text NOT NULL UNIQUE, plan "Plan" NOT NULL DEFAULT 'BASIC');
    CREATE TABLE "Bundle" (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), plans "Plan"[] NOT NULL);
    INSERT INTO "Account" (email, plan)
      SELECT 'a' || i || '@x', (ARRAY['FREE', 'BASIC', 'BASIC', 'PRO'])[1 + i % 4]::"Plan"
      FROM generate_series(1, 2000) i;
    INSERT INTO "Bundle" (plans) SELECT ARRAY['BASIC', 'PRO']::"Plan"[] FROM generate_series(1, 30)
      UNION ALL SELECT ARRAY['FREE']::"Plan"[] FROM generate_series(1, 10)`,
  );
  return db;
}

t.test("generating 0001's spec gives exactly what migrations/0001 holds", async (t) => {
  const files = enumMigrationFiles('0001', loadEnumSpec('0001', 'test'));
  const dir = join(repo, 'migrations/0001');
  t.ok(Object.keys(files).length >= 14, `${Object.keys(files).length} files`);
  for (const [path, text] of Object.entries(files)) t.equal(readFileSync(join(dir, path), 'utf8'), text, path);
  const onDisk = [
    ...readdirSync(dir).filter((f) => f.endsWith('.sql')),
    ...['expand', 'contract'].flatMap((d) => readdirSync(join(dir, d)).map((f) => `${d}/${f}`)),
  ];
  t.same(onDisk.sort(), Object.keys(files).sort(), 'and nothing else');
});

t.test('bad specs are refused, naming the problem', async (t) => {
  const base = { TYPE: 'Plan', FROM: 'FREE,BASIC,PRO', TO: 'FREE,STARTER,PRO' };
  const cases: [Record<string, string>, RegExp][] = [
    [{ MAP: 'GOLD=STARTER' }, /MAP maps GOLD, which is not in FROM \(FREE, BASIC, PRO\)/],
    [{ MAP: 'BASIC=GOLD' }, /MAP maps BASIC to GOLD, which is not in TO \(FREE, STARTER, PRO\)/],
    [{ MAP: 'BASIC=STARTER,BASIC=PRO' }, /MAP maps BASIC twice/],
    [{ FROM: 'FREE,FREE,PRO' }, /FROM has FREE twice/],
    [{ TO: 'FREE,PRO,PRO' }, /TO has PRO twice/],
    [{ TYPE: 'Plan; DROP TABLE x' }, /TYPE "Plan; DROP TABLE x" is not a valid enum name/],
    [{ TO: 'FREE,bad label' }, /TO has "bad label", not a valid label/],
    [{ MAP: 'BASIC' }, /MAP has "BASIC", not label=label/],
  ];
  for (const [change, why] of cases) t.throws(() => enumSpec({ ...base, ...change }), why);
  const copy = repoCopy();
  const r = run(copy, 'bin/new-migration.ts', ['enum'], { ID: '0002', ...base, MAP: 'GOLD=STARTER' });
  t.equal(r.code, 2);
  t.match(
    r.stderr,
    new RegExp(
      /^new-enum-migration: new-migration: MAP maps GOLD, which is not in FROM \(FREE, BASIC, PRO\); /.source +
        /nothing was written\.\n  next: /.source,
    ),
  );
  t.same(
    readdirSync(join(copy, 'migrations')).filter((f) => f === '0002'),
    [],
    'nothing written',
  );
});

t.test(
  'a generated enum migration on another enum, end to end with each strategy it offers; a second run changes nothing',
  async (t) => {
    const copy = repoCopy();
    const gen = run(copy, 'bin/new-migration.ts', ['enum'], {
      ID: '0002',
      TYPE: 'Plan',
      FROM: 'FREE,BASIC,PRO',
      TO: 'FREE,STARTER,PRO,ENTERPRISE',
      MAP: 'BASIC=STARTER',
    });
    t.equal(gen.code, 0, gen.stderr);
    t.match(gen.stdout, /new-migration: \d+ files for migration 0002 \(strategies: update, rewrite, rename\)/);
    for (const strategy of ['update', 'rewrite', 'rename']) {
      const db = await planDatabase(t);
      const env = {
        DATABASE_URL: urlOf(db),
        MAINTENANCE_DIR: join(copy, `m-${strategy}`),
        BACKUP_DIR: join(copy, `b-${strategy}`),
        STRATEGY: strategy,
      };
      const emails = await tableChecksum(db, '(SELECT id, email FROM "Account")');
      const typeOid = await query(db, `SELECT to_regtype('"Plan"')::oid::int AS oid`);
      const xmins = await query(db, `SELECT sum(xmin::text::int8)::text AS x FROM "Account"`);
      const r = run(copy, 'bin/migrate.ts', ['0002'], env);
      t.equal(r.code, 0, `${strategy}: ${r.stderr}`);
      t.same(await labels(db, '"Plan"'), ['FREE', 'STARTER', 'PRO', 'ENTERPRISE'], `${strategy}: labels in TO's order`);
      t.same(
        await planCounts(db),
        [
          { col: 'Account.plan', label: 'FREE', n: 500 },
          { col: 'Account.plan', label: 'PRO', n: 500 },
          { col: 'Account.plan', label: 'STARTER', n: 1000 },
          { col: 'Bundle.plans', label: 'FREE', n: 10 },
          { col: 'Bundle.plans', label: 'PRO', n: 30 },
          { col: 'Bundle.plans', label: 'STARTER', n: 30 },
        ],
        `${strategy}: every BASIC is STARTER, in the column and in the arrays`,
      );
      const [def] = await query(
        db,
        `SELECT pg_get_expr(adbin, adrelid) AS d FROM pg_attrdef WHERE adrelid = '"Account"'::regclass AND adnum = 3`,
      );
      t.equal(def.d, `'STARTER'::"Plan"`, `${strategy}: the default follows`);
      t.equal(
        await tableChecksum(db, '(SELECT id, email FROM "Account")'),
        emails,
        `${strategy}: nothing else changed`,
      );
      if (strategy === 'rename') {
        t.same(
          await query(db, `SELECT to_regtype('"Plan"')::oid::int AS oid`),
          typeOid,
          'rename: the type keeps its OID',
        );
        t.same(
          await query(db, `SELECT sum(xmin::text::int8)::text AS x FROM "Account"`),
          xmins,
          'rename: no row written',
        );
      }
      const data = await tableChecksum(db, '"Account"');
      const catalog = await catalogSnapshot(db);
      const again = run(copy, 'bin/migrate.ts', ['0002'], env);
      t.equal(again.code, 0, again.stderr);
      t.match(again.stdout, /migrate-0002: already applied; final checks pass; nothing changed/);
      t.equal(await tableChecksum(db, '"Account"'), data);
      t.same(await catalogSnapshot(db), catalog);
    }
    const db = await planDatabase(t);
    const plan = run(copy, 'bin/plan.ts', ['0002'], { DATABASE_URL: urlOf(db) });
    t.equal(plan.code, 0, plan.stderr);
    t.match(plan.stdout, /public\."Account"\.plan ~\d+ rows \(~\d+ to change\)/);
    t.match(plan.stdout, /recommended: rename/);
    const st = run(copy, 'bin/status.ts', [], { DATABASE_URL: urlOf(db), MIGRATION: '0002' });
    t.match(st.stdout, /public\."Bundle"\.plans \(elements\) +FREE=10 +BASIC=30 +PRO=30/);
  },
);

t.test('removing a label without a mapping while rows hold it: refused before any change', async (t) => {
  const copy = repoCopy();
  t.equal(
    run(copy, 'bin/new-migration.ts', ['enum'], { ID: '0003', TYPE: 'Plan', FROM: 'FREE,BASIC,PRO', TO: 'FREE,PRO' })
      .code,
    0,
  );
  const db = await planDatabase(t);
  const catalog = await catalogSnapshot(db);
  const data = await tableChecksum(db, '"Account"');
  const r = run(copy, 'bin/migrate.ts', ['0003'], {
    DATABASE_URL: urlOf(db),
    MAINTENANCE_DIR: join(copy, 'm'),
    BACKUP_DIR: join(copy, 'b'),
  });
  t.equal(r.code, 2);
  t.match(r.stderr, /^migrate-0003: preflight: /);
  t.match(r.stderr, /the contract would be refused: 1000 rows still hold BASIC in public\."Account"\.plan/);
  t.match(r.stderr, /the contract would be refused: 30 rows still hold BASIC in public\."Bundle"\.plans/);
  t.match(r.stderr, /next: Nothing was changed/);
  t.same(await catalogSnapshot(db), catalog);
  t.equal(await tableChecksum(db, '"Account"'), data);
});

t.test(
  'a skeleton run as it is is refused; the username migration written from it goes through every verb',
  async (t) => {
    const copy = repoCopy();
    const sk = run(copy, 'bin/new-migration.ts', ['skeleton'], { ID: '0004', NAME: 'username' });
    t.equal(sk.code, 0, sk.stderr);
    t.match(sk.stdout, /wrote migrations\/0004\/invariants\.sql/);
    const db = await testDatabase(t);
    await query(
      db,
      `CREATE TABLE "User" (id text PRIMARY KEY, email text NOT NULL UNIQUE);
    INSERT INTO "User" SELECT 'u' || i, 'Person.' || i || '@Example.com' FROM generate_series(1, 1500) i`,
    );
    const env = { DATABASE_URL: urlOf(db), MAINTENANCE_DIR: join(copy, 'm'), BACKUP_DIR: join(copy, 'b') };
    const catalog = await catalogSnapshot(db);
    const skeleton = run(copy, 'bin/migrate.ts', ['0004'], env);
    t.equal(skeleton.code, 2, 'the skeleton is refused');
    t.match(skeleton.stderr, /^migrate-0004: preflight: migrations\/0004\/preflight\.sql is still the skeleton's/);
    const verifySkeleton = run(copy, 'verify/verify.ts', ['0004'], env);
    t.equal(verifySkeleton.code, 1);
    t.match(
      verifySkeleton.stderr,
      /migration 0004: migrations\/0004\/lock\.sql is still the skeleton's\n  next: Write migrations\/0004\/lock\.sql/,
    );
    t.same(await catalogSnapshot(db), catalog, 'nothing changed');

    // The username migration, written into the skeleton's files.
    const expand = readdirSync(join(copy, 'migrations/0004/expand'))[0];
    const contract = readdirSync(join(copy, 'migrations/0004/contract'))[0];
    const w = (path: string, text: string) => writeFileSync(join(copy, path), text);
    w(
      `migrations/0004/expand/${expand}`,
      '-- migrate:up\nALTER TABLE "User" ADD COLUMN IF NOT EXISTS username text;\n' +
        '-- migrate:down\nALTER TABLE "User" DROP COLUMN username;\n',
    );
    w(
      `migrations/0004/contract/${contract}`,
      `-- migrate:up
DO $$ BEGIN
  IF EXISTS (SELECT FROM "User" WHERE username IS NULL) THEN
    RAISE EXCEPTION 'contract 0004: users without a username' USING HINT = 'Backfill first: make verify-0004.';
  END IF;
END $$;
ALTER TABLE "User" ALTER COLUMN username SET NOT NULL;
CREATE UNIQUE INDEX "User_username_key" ON "User" (username);
-- migrate:down
DROP INDEX "User_username_key";
ALTER TABLE "User" ALTER COLUMN username DROP NOT NULL;
`,
    );
    w(
      'migrations/0004/preflight.sql',
      `SELECT 'two e-mails give the same username' AS problem FROM "User"
GROUP BY lower(split_part(email, '@', 1)) HAVING count(*) > 1;\n`,
    );
    w('migrations/0004/lock.sql', 'LOCK TABLE "User" IN EXCLUSIVE MODE;\n');
    w(
      'migrations/0004/counts.sql',
      `SELECT count(*) AS total, count(username) AS named, sum(hashtextextended(id || email, 0))::text AS identity
FROM "User";\n`,
    );
    w(
      'migrations/0004/mutation.sql',
      `UPDATE "User" SET username = lower(split_part(email, '@', 1)) WHERE username IS NULL;\n`,
    );
    w(
      'migrations/0004/invariants.sql',
      `WITH b AS (SELECT * FROM jsonb_to_record($1::jsonb) x(total int8, named int8, identity text)),
     a AS (SELECT * FROM jsonb_to_record($2::jsonb) x(total int8, named int8, identity text))
SELECT c.* FROM a, b, LATERAL (VALUES
  ('every user named', a.total::text, a.named::text),
  ('rows updated = users without a username before', (b.total - b.named)::text, $3::text),
  ('total unchanged', b.total::text, a.total::text),
  ('(id, email) unchanged', b.identity, a.identity)) AS c("check", expected, actual);\n`,
    );
    w(
      'migrations/0004/final_checks.sql',
      `SELECT 'username NOT NULL' AS check, 'schema' AS kind, 'NO' AS expected, is_nullable AS actual
FROM information_schema.columns WHERE table_name = 'User' AND column_name = 'username';\n`,
    );
    w(
      'migrations/0004/plan.sql',
      `SELECT '"User"' AS table_name, 'username' AS column_name, pg_total_relation_size('"User"')::int8 AS bytes,
  GREATEST(reltuples, 0)::int8 AS rows, GREATEST(reltuples, 0)::int8 AS rows_to_change,
  'planner statistics' AS estimated_by, false AS rename_available
FROM pg_class WHERE oid = '"User"'::regclass;\n`,
    );
    w(
      'migrations/0004/status.sql',
      `SELECT 'users without a username' AS item, count(*) FILTER (WHERE username IS NULL)::text AS detail FROM "User"
  WHERE to_regclass('"User"') IS NOT NULL
    AND EXISTS (SELECT FROM information_schema.columns WHERE table_name = 'User' AND column_name = 'username');\n`,
    );

    const plan = run(copy, 'bin/plan.ts', ['0004'], env);
    t.equal(plan.code, 0, plan.stderr);
    t.match(plan.stdout, /^ {2}update /m);
    t.match(plan.stdout, /^ {2}STRATEGY unset: update: the migration has no rewrite.sql$/m);
    t.notMatch(plan.stdout, /^ {2}(rewrite|rename) /m, 'only the strategies it has files for');
    const early = run(copy, 'bin/schema.ts', ['contract'], { ...env, MIGRATION: '0004' });
    t.equal(early.code, 2, 'contract before expand is refused');
    t.equal(run(copy, 'bin/schema.ts', ['expand'], { ...env, MIGRATION: '0004' }).code, 0);
    const refused = run(copy, 'bin/schema.ts', ['contract'], { ...env, MIGRATION: '0004' });
    t.equal(refused.code, 1);
    t.match(
      refused.stderr,
      /^contract 0004: users without a username\n  next: Backfill first: make verify-0004\.\n$/,
      "next: is the migration's own HINT",
    );
    const dry = run(copy, 'verify/verify.ts', ['0004', '--dry-run'], env);
    t.equal(dry.code, 0, dry.stderr);
    t.match(dry.stdout, /verify 0004: 1500 row\(s\) updated, 4 checks passed, rolled back \(dry run\)/);
    t.same(await query(db, `SELECT count(username)::int AS n FROM "User"`), [{ n: 0 }], 'the dry run changed nothing');
    const st = run(copy, 'bin/status.ts', [], { ...env, MIGRATION: '0004' });
    t.match(st.stdout, /users without a username +1500/);
    t.match(st.stdout, /\[X\] \d+_username_expand\.sql\n {2}\[ \] \d+_username_contract\.sql/);
    const rehearse = run(copy, 'bin/rehearse.ts', ['0004'], env);
    t.equal(rehearse.code, 0, rehearse.stderr);
    const m = run(copy, 'bin/migrate.ts', ['0004'], env);
    t.equal(m.code, 0, m.stderr);
    t.same(await query(db, `SELECT count(*)::int AS n FROM "User" WHERE username = lower(split_part(email, '@', 1))`), [
      { n: 1500 },
    ]);

    // Rollback stays in 0004's folders: contract, expand, then "nothing left"; the toolkit stays.
    const toolkit = `SELECT count(*)::int AS n FROM pg_proc WHERE pronamespace = 'breaking_migrations'::regnamespace`;
    const [functions] = await query(db, toolkit);
    const rb = () => run(copy, 'bin/schema.ts', ['rollback'], { ...env, MIGRATION: '0004' });
    t.match(rb().stdout, /Rolled back: \d+_username_contract\.sql/);
    t.match(rb().stdout, /Rolled back: \d+_username_expand\.sql/);
    const third = rb();
    t.equal(third.code, 2);
    t.match(third.stderr, /^rollback: nothing of 0004 left to roll back/);
    t.same(await query(db, toolkit), [functions], "the toolkit's functions are all still there");
    t.same(
      await query(
        db,
        `SELECT count(*)::int AS n FROM information_schema.columns
        WHERE table_name = 'User' AND column_name = 'username'`,
      ),
      [{ n: 0 }],
    );
  },
);

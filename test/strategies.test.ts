// STRATEGY=rewrite and STRATEGY=rename reach the same final state, verified by the same invariants.
import t from 'tap';
import { migrate } from '../bin/migrate.js';
import { runBin } from './helpers/cli.js';
import { catalogSnapshot, enumLabels, query, seededDatabase, tableChecksum } from './helpers/database.js';
import { assertMigrated, snapshot, tempSettings } from './helpers/runbook.js';
import { connect } from '../bin/lib/connection/db.js';
import { loadMigration } from '../bin/lib/runbook/migration.js';
import { chooseStrategy, ranAs, strategy as pickStrategy, updateObservers } from '../bin/lib/runbook/strategy.js';
import { InvariantFailed, verify } from '../verify/verifier.js';

for (const name of ['rewrite', 'rename'] as const) {
  t.test(`STRATEGY=${name}: same final state, same invariants, then nothing to do`, async (t) => {
    const url = await seededDatabase(t, 6000);
    await query(url, `ALTER TABLE "User" ALTER COLUMN role SET DEFAULT 'USER'`);
    const s = tempSettings(url);
    const before = await snapshot(url);
    const r = await migrate(url, '0001', s, { strategy: name, log: () => {} });
    t.equal(r.strategy, name);
    const skipped = r.steps.filter((x) => x.skipped).map((x) => x.step);
    t.same(
      skipped,
      name === 'rename' ? ['expand', 'contract'] : ['contract'],
      'the steps this strategy does inside the verifier',
    );
    t.equal(r.verifier?.updated, null, 'no row UPDATE');
    t.ok(
      r.checks.every((c) => c.ok),
      'final checks pass',
    );
    await assertMigrated(t, url, before, s);
    const [def] = await query(
      url,
      `SELECT pg_get_expr(adbin, adrelid) AS d FROM pg_attrdef WHERE adrelid = '"User"'::regclass`,
    );
    t.equal(def.d, `'EMPLOYEE'::"Role"`, 'the default follows');
    const versions = (await query(url, `SELECT version FROM breaking_migrations.schema_migrations ORDER BY 1`)).map(
      (v) => v.version,
    );
    t.same(
      versions,
      ['20240101000000', '20250101000000', '20250101000001', '20250115000001', '20250115000002'],
      'dbmate sees expand and contract applied',
    );
    const data = await tableChecksum(url);
    const again = await migrate(url, '0001', s, { log: () => {} }); // STRATEGY unset
    t.equal(again.alreadyApplied, true);
    t.equal(again.strategy, name, 'already applied: the result names the strategy that finished it');
    t.equal(await tableChecksum(url), data);
  });
}

t.test('STRATEGY=rename refuses in preflight, changing nothing, when the change is not a pure rename', async (t) => {
  const url = await seededDatabase(t, 100);
  const { schema } = await import('../bin/schema.js');
  await schema(url, 'expand'); // EMPLOYEE exists already: renaming USER onto it is impossible
  const s = tempSettings(url);
  const catalog = await catalogSnapshot(url);
  const r = runBin('migrate.ts', ['0001'], { ...s.env, STRATEGY: 'rename' });
  t.equal(r.code, 2);
  t.match(
    r.stderr,
    new RegExp(
      /^migrate-0001: preflight: rename 0001: "Role" has labels \{USER,EMPLOYEE,MANAGER,ADMIN\}, /.source +
        /not USER, ADMIN: the change is not a pure rename from here/.source,
    ),
  );
  t.same(await catalogSnapshot(url), catalog);
  t.same(await enumLabels(url), ['USER', 'EMPLOYEE', 'MANAGER', 'ADMIN']);
  const unknown = runBin('migrate.ts', ['0001'], { ...s.env, STRATEGY: 'teleport' });
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /unknown STRATEGY "teleport"/);
});

t.test('STRATEGY=rewrite maps every column of the type, arrays included', async (t) => {
  const url = await seededDatabase(t, 500);
  const s = tempSettings(url);
  await query(
    url,
    `CREATE TABLE "Team" (id int PRIMARY KEY, roles "Role"[]); INSERT INTO "Team" VALUES (1, '{USER,ADMIN}')`,
  );
  const r = await migrate(url, '0001', s, { strategy: 'rewrite', log: () => {} });
  t.ok(r.checks.every((c) => c.ok));
  t.same(
    await query(url, `SELECT roles::text[] AS r FROM "Team"`),
    [{ r: ['EMPLOYEE', 'ADMIN'] }],
    'arrays are mapped by the rewrite too',
  );
});

// STRATEGY=rename proves its invariants from the catalog instead of counting: each premise of
// that proof, broken on purpose, must fail the verifier and roll everything back.
t.test(
  'STRATEGY=rename: the catalog proof fails, and rolls back, when one of its premises does not hold',
  async (t) => {
    const url = await seededDatabase(t, 2000);
    const { schema } = await import('../bin/schema.js');
    await schema(url, 'toolkit');
    const m = loadMigration('0001');
    const rename = pickStrategy('rename', m);
    const data = await tableChecksum(url);
    const catalog = await catalogSnapshot(url);
    const broken: [string, string, RegExp, Partial<typeof m.sql>?][] = [
      [
        'a row written too',
        `${rename.mutationSql}; UPDATE "User" SET email = email || '.x' WHERE id IN (SELECT id FROM "User" LIMIT 3)`,
        /rows updated = 0 \(no row written: relabelled in the catalog\) \(expected 0, got 3\)/,
      ],
      [
        'the table rewritten (no row counted as written)',
        `${rename.mutationSql}; CLUSTER "User" USING "User_pkey"`,
        new RegExp(
          /identity of every row unchanged \(no rewrite: same files\) /.source +
            /\(expected \{"public\.\\"User\\"": "\d+"\}, got \{"public\.\\"User\\"": "\d+"\}\)/.source,
        ),
      ],
      [
        'the labels swapped instead of renamed',
        `ALTER TYPE "Role" RENAME VALUE 'USER' TO 'TMP'; ALTER TYPE "Role" RENAME VALUE 'ADMIN' TO 'EMPLOYEE';
      ALTER TYPE "Role" RENAME VALUE 'TMP' TO 'ADMIN'; ALTER TYPE "Role" ADD VALUE 'MANAGER' BEFORE 'ADMIN'`,
        new RegExp(
          /EMPLOYEE after = EMPLOYEE before \+ USER before \(EMPLOYEE is USER's label OID\) /.source +
            /\(expected \d+, got \d+\); ADMIN unchanged \(same label OID\)/.source,
        ),
      ],
      [
        'writers not locked out',
        rename.mutationSql,
        /rows unchanged \(no row written, other writers locked out\) \(expected true, got false\)/,
        { lock: 'SELECT 1' },
      ],
    ];
    for (const [what, mutationSql, failure, sqlOverride] of broken) {
      const sql = connect(url);
      const err = await verify(
        sql,
        { ...m, sql: { ...m.sql, ...sqlOverride } },
        { mutation: { ...rename.proof!, sql: mutationSql, updatesRows: false } },
      )
        .then(
          () => undefined,
          (e: Error) => e,
        )
        .finally(() => sql.end());
      t.ok(err instanceof InvariantFailed, `${what}: the verifier refuses`);
      t.match(err?.message, failure, `${what}: it names the check that failed`);
      t.same(await enumLabels(url), ['USER', 'ADMIN'], `${what}: labels rolled back`);
    }
    t.equal(await tableChecksum(url), data, 'every row as before');
    t.same(await catalogSnapshot(url), catalog, 'the catalog as before');
  },
);

// The counts alone cannot tell a label given to the wrong row: moving EMPLOYEE to one ADMIN row and
// ADMIN to one former USER row keeps every count. The identities' hash per label does, and it is
// the only proof of which rows a rewrite changed (it has no UPDATE row count).
t.test('the invariants prove which rows hold each label, not only how many (plain and array columns)', async (t) => {
  const url = await seededDatabase(t, 3000);
  await query(
    url,
    `CREATE TABLE "Team" (id int PRIMARY KEY, roles "Role"[]);
     INSERT INTO "Team" VALUES (1, '{USER,USER}'), (2, '{ADMIN}'), (3, NULL);
     -- an array column where no row holds an element yet: still an array to the checks
     CREATE TABLE "Squad" (id int PRIMARY KEY, roles "Role"[]);
     INSERT INTO "Squad" VALUES (1, NULL), (2, '{}')`,
  );
  const { schema } = await import('../bin/schema.js');
  await schema(url, 'expand');
  const m = loadMigration('0001');
  const rewrite = pickStrategy('rewrite', m);
  const data = await tableChecksum(url);
  const catalog = await catalogSnapshot(url);
  const wrongRow = `WITH a AS (SELECT id FROM "User" WHERE role = 'EMPLOYEE' ORDER BY id LIMIT 1),
                         b AS (SELECT id FROM "User" WHERE role = 'ADMIN' ORDER BY id LIMIT 1)
    UPDATE "User" u SET role = CASE WHEN u.id IN (SELECT id FROM a) THEN 'ADMIN' ELSE 'EMPLOYEE' END::"Role"
    WHERE u.id IN (SELECT id FROM a UNION ALL SELECT id FROM b)`;
  const broken: [string, string, RegExp][] = [
    [
      "a plain column: two rows given each other's label",
      `${rewrite.mutationSql}; ${wrongRow}`,
      /public\."User"\.role: rows holding ADMIN after = rows holding ADMIN before \(expected -?\d+, got -?\d+\)/,
    ],
    [
      'an array: an element moved to another row',
      `${rewrite.mutationSql};
       UPDATE "Team" SET roles = CASE id WHEN 1 THEN '{EMPLOYEE,ADMIN}' ELSE '{EMPLOYEE}' END::"Role"[] WHERE id < 3`,
      /public\."Team"\.roles: rows holding EMPLOYEE after = rows holding EMPLOYEE or USER before \(expected/,
    ],
    [
      'an array: a NULL array made empty (both hold no label)',
      `${rewrite.mutationSql}; UPDATE "Team" SET roles = '{}' WHERE id = 3`,
      /public\."Team"\.roles: rows with a NULL array unchanged \(expected -?\d+, got 0\)/,
    ],
    [
      'an array no row holds an element of: its NULL array made empty',
      `${rewrite.mutationSql}; UPDATE "Squad" SET roles = '{}' WHERE id = 1`,
      /public\."Squad"\.roles: rows with a NULL array unchanged \(expected -?\d+, got 0\)/,
    ],
  ];
  for (const [what, mutationSql, failure] of broken) {
    const sql = connect(url);
    const err = await verify(sql, m, { mutation: { sql: mutationSql, updatesRows: false } })
      .then(
        () => undefined,
        (e: Error) => e,
      )
      .finally(() => sql.end());
    t.ok(err instanceof InvariantFailed, `${what}: the verifier refuses`);
    t.match(err?.message, failure, `${what}: it names which rows`);
    t.notMatch(err?.message, /: (EMPLOYEE|ADMIN) after = /, `${what}: every count still matched`);
    t.same(await enumLabels(url), ['USER', 'EMPLOYEE', 'MANAGER', 'ADMIN'], `${what}: the swap rolled back`);
  }
  t.equal(await tableChecksum(url), data, 'every row as before');
  t.same(await catalogSnapshot(url), catalog, 'the catalog as before');
  const sql = connect(url);
  const ok = await verify(sql, m, { mutation: { sql: rewrite.mutationSql, updatesRows: false } }).finally(() =>
    sql.end(),
  );
  type Ids = {
    tables: Record<string, { identities: Record<string, Record<string, string>>; nulls: Record<string, string> }>;
  };
  const team = (c: unknown) => (c as Ids).tables['public."Team"'].identities.roles;
  const nulls = (c: unknown) => (c as Ids).tables['public."Team"'].nulls.roles;
  t.ok(nulls(ok.before) && nulls(ok.before) !== '0', 'the NULL array row is measured');
  t.equal(nulls(ok.after), nulls(ok.before), 'and stays NULL');
  const squad = (c: unknown) => (c as Ids).tables['public."Squad"'].nulls.roles;
  t.not(squad(ok.before), '0', 'an array column without elements is measured too');
  t.equal(squad(ok.after), squad(ok.before));
  t.same(
    team(ok.after),
    { EMPLOYEE: team(ok.before).USER, ADMIN: team(ok.before).ADMIN },
    "the right mapping passes: each element's row moved with its label",
  );
});

// STRATEGY unset folds the mapping into the swap only while nothing would see the UPDATE it skips.
t.test('STRATEGY unset: update when a trigger sees the UPDATE (it fires for every row), else rewrite', async (t) => {
  const url = await seededDatabase(t, 800);
  const s = tempSettings(url);
  await query(
    url,
    `CREATE TABLE role_audit (id text, old_role text, new_role text);
     CREATE FUNCTION audit_role() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN INSERT INTO role_audit VALUES (NEW.id, OLD.role::text, NEW.role::text); RETURN NEW; END $$;
     CREATE TRIGGER user_audit AFTER UPDATE ON "User" FOR EACH ROW EXECUTE FUNCTION audit_role()`,
  );
  const [{ n: users }] = await query(url, `SELECT count(*)::int AS n FROM "User" WHERE role = 'USER'`);
  const lines: string[] = [];
  const r = await migrate(url, '0001', s, { log: (l) => lines.push(l) });
  t.equal(r.strategy, 'update');
  t.match(
    lines.join('\n'),
    /^ {2}strategy update \(STRATEGY unset\): an UPDATE is seen by trigger user_audit on "User", which a rewrite/m,
  );
  t.same(
    await query(url, `SELECT old_role, new_role, count(*)::int AS n FROM role_audit GROUP BY 1, 2`),
    [{ old_role: 'USER', new_role: 'EMPLOYEE', n: users }],
    'the trigger saw every row the mutation changed',
  );
  t.same(r.verifier?.updated, { 'public."User"': { role: users } });
  // without the trigger a fresh choice would be rewrite: an applied run still names what finished it
  await query(url, `DROP TRIGGER user_audit ON "User"`);
  const again = await migrate(url, '0001', s, { log: () => {} });
  t.equal(again.alreadyApplied, true);
  t.equal(again.strategy, 'update', 'already applied: the strategy that ran, not the one chosen today');
});

t.test('what sees an UPDATE: triggers (partitions too), rules, publications; not what would not fire', async (t) => {
  const url = await seededDatabase(t, 10);
  const m = loadMigration('0001');
  const observers = async () => {
    const sql = connect(url);
    return updateObservers(sql, m).finally(() => sql.end());
  };
  await query(
    url,
    `CREATE FUNCTION noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
     CREATE TRIGGER on_insert AFTER INSERT ON "User" FOR EACH ROW EXECUTE FUNCTION noop();
     CREATE TRIGGER disabled AFTER UPDATE ON "User" FOR EACH ROW EXECUTE FUNCTION noop();
     ALTER TABLE "User" DISABLE TRIGGER disabled;
     CREATE PUBLICATION inserts_only FOR TABLE "User" WITH (publish = 'insert');
     CREATE TABLE "Member" (id int, role "Role") PARTITION BY RANGE (id);
     CREATE TABLE "Member_1" PARTITION OF "Member" FOR VALUES FROM (0) TO (100);
     CREATE TABLE "Unrelated" (id int);
     CREATE TRIGGER elsewhere AFTER UPDATE ON "Unrelated" FOR EACH ROW EXECUTE FUNCTION noop()`,
  );
  const { defaultChoice } = await import('../bin/lib/runbook/strategy.js');
  t.same(await observers(), [], 'an INSERT trigger, a disabled one, an insert-only publication, another table: none');
  t.equal(defaultChoice({ hasRewrite: true, provesRows: true, observers: [] }).name, 'rewrite');
  await query(
    url,
    `CREATE TRIGGER member_sync BEFORE UPDATE ON "Member_1" FOR EACH ROW EXECUTE FUNCTION noop();
     CREATE RULE keep_copy AS ON UPDATE TO "User" DO ALSO NOTIFY role_changed;
     CREATE PUBLICATION cdc FOR TABLE "Member"`,
  );
  const seen = await observers();
  t.same(
    seen,
    ['publication cdc', 'rule keep_copy on "User"', 'trigger member_sync on "Member_1"'],
    "a partition's trigger, an ON UPDATE rule, a publication of the partitioned table",
  );
  t.same(defaultChoice({ hasRewrite: true, provesRows: true, observers: seen }), {
    name: 'update',
    why:
      'an UPDATE is seen by publication cdc, rule keep_copy on "User", trigger member_sync on "Member_1", ' +
      'which a rewrite would skip',
  });
  const sql = connect(url);
  const explicit = await chooseStrategy(sql, pickStrategy('rewrite', m), m).finally(() => sql.end());
  t.equal(
    explicit.note,
    'STRATEGY=rewrite writes no UPDATE: publication cdc, rule keep_copy on "User", trigger member_sync on "Member_1" ' +
      'will not see the change',
    'an explicit rewrite says what it will not fire',
  );
  t.match(defaultChoice({ hasRewrite: false, provesRows: true, observers: [] }), {
    name: 'update',
    why: 'the migration has no rewrite.sql',
  });
  t.match(defaultChoice({ hasRewrite: true, provesRows: false, observers: [] }), {
    name: 'update',
    why: /^its invariants.sql does not prove which rows hold each label/,
  });
});

t.test(
  'make migrate-0001 with STRATEGY unset says which strategy it took, why, and the values it relabelled',
  async (t) => {
    const url = await seededDatabase(t, 500);
    const s = tempSettings(url);
    const [{ n: users }] = await query(url, `SELECT count(*)::int AS n FROM "User" WHERE role = 'USER'`);
    const r = runBin('migrate.ts', ['0001'], s.env);
    t.equal(r.code, 0, r.stderr);
    t.match(
      r.stdout,
      /^ {2}strategy rewrite \(STRATEGY unset\): one table rewrite instead of an UPDATE and a rewrite; /m,
    );
    t.match(r.stdout, /^• contract: skipped \(done by STRATEGY=rewrite\)$/m);
    t.match(
      r.stdout,
      new RegExp(`^migrate-0001: done; ${users} values relabelled in the table rewrite; strategy rewrite;`, 'm'),
    );
  },
);

t.test(
  "a migration written by an earlier release: its invariants don't prove which rows, so STRATEGY unset takes " +
    'update; its journal still passes final checks',
  async (t) => {
    const url = await seededDatabase(t, 600);
    const s = tempSettings(url);
    const { cpSync, mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'bm-old-migrations-'));
    cpSync(join(import.meta.dirname, '../migrations/0001'), join(dir, '0001'), { recursive: true });
    // invariants.sql as the generator wrote it before the which-rows check: no 'identities'
    const file = join(dir, '0001/invariants.sql');
    writeFileSync(file, readFileSync(file, 'utf8').replaceAll("'identities'", "'identities_of_no_release'"));
    const r = runBin('migrate.ts', ['0001'], { ...s.env, MIGRATIONS_DIR: dir });
    t.equal(r.code, 0, r.stderr);
    t.match(
      r.stdout,
      /strategy update \(STRATEGY unset\): its invariants.sql does not prove which rows hold each label/,
    );
    t.match(r.stdout, /^migrate-0001: done; \d+ rows updated; strategy update;/m);

    // The verifier's committed counts as an earlier release journaled them (no identities): the
    // final checks compare them in those measures, and still see a changed row.
    const { finalChecks } = await import('../bin/lib/runbook/runbook.js');
    const [last] = await query(
      url,
      `SELECT detail -> 'after' AS after FROM breaking_migrations.journal WHERE step = 'mutate' AND event = 'done'`,
    );
    const old = structuredClone(last.after) as { tables: Record<string, Record<string, unknown>> };
    for (const v of Object.values(old.tables)) delete v.identities;
    const m = loadMigration('0001');
    const sql = connect(url);
    try {
      const checks = await finalChecks(sql, m, old);
      t.ok(checks.length === 2 && checks.every((c) => c.ok), 'an earlier journal passes');
      await query(url, `UPDATE "User" SET email = 'x' || email WHERE id = (SELECT min(id) FROM "User")`);
      const changed = await finalChecks(sql, m, old);
      t.same(
        changed.filter((c) => !c.ok).map((c) => c.check),
        ['public."User" as committed'],
        'and it still sees a changed row',
      );
    } finally {
      await sql.end();
    }
  },
);

t.test('the journal names the strategy that ran; none when applied outside the toolkit', async (t) => {
  t.equal(ranAs(undefined, '0001'), undefined, 'no mutation row: no strategy');
  t.equal(ranAs({}, '0001'), 'update', "an earlier release's row without a strategy: the UPDATE");
  t.equal(ranAs({ strategy: 'default' }, '0001'), 'update');
  t.equal(ranAs({ strategy: 'rename' }, '0001'), 'rename');
  t.throws(
    () => ranAs({ strategy: 'swap' }, '0001'),
    { message: /ran as strategy swap, which this release of the toolkit does not know; nothing changed\.$/ },
    "a later release's strategy is refused, not guessed",
  );
  const url = await seededDatabase(t, 50);
  const { schema } = await import('../bin/schema.js');
  await schema(url, 'expand');
  await query(url, `UPDATE "User" SET role = 'EMPLOYEE' WHERE role = 'USER'`);
  await schema(url, 'contract');
  const data = await tableChecksum(url);
  const r = await migrate(url, '0001', tempSettings(url), { log: () => {} });
  t.equal(r.alreadyApplied, true);
  t.equal(r.strategy, undefined, 'applied by hand: no strategy is claimed');
  t.equal(await tableChecksum(url), data, 'nothing changed');
});

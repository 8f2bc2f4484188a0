// make migrate-0001 on a database shaped like a real Prisma app's: "Role" reused by "User",
// "Invite" (DEFAULT 'USER') and "Team" ("Role"[]), uuid ids, foreign keys ON UPDATE CASCADE,
// a second enum, _prisma_migrations. Every strategy must convert and verify every column, leave
// everything else as it was, and the run's dump must bring back the exact data.
import t from 'tap';
import { migrate } from '../bin/migrate.js';
import { restore } from '../bin/lib/backup/restore.js';
import { STRATEGY_NAMES } from '../bin/lib/runbook/strategy.js';
import { runBin } from './helpers/cli.js';
import { enumLabels, query, tableChecksum, urlOf } from './helpers/database.js';
import { checksumWithout, prismaDatabase, roleColumns } from './helpers/prisma.js';
import { tempSettings } from './helpers/runbook.js';

const quiet = () => {};
const OTHER_TABLES = ['"Post"', '"_prisma_migrations"'];

async function untouched(db: Parameters<typeof tableChecksum>[0]) {
  return {
    user: await checksumWithout(db, '"User"', ['role']),
    invite: await checksumWithout(db, '"Invite"', ['role']),
    team: await checksumWithout(db, '"Team"', ['roles']),
    ...Object.fromEntries(await Promise.all(OTHER_TABLES.map(async (name) => [name, await tableChecksum(db, name)]))),
    foreignKeys: await query(
      db,
      `SELECT conname, confupdtype, confdeltype, convalidated FROM pg_constraint WHERE contype = 'f' ORDER BY 1`,
    ),
    joins: await query(
      db,
      `SELECT (SELECT count(*) FROM "Post" p JOIN "User" u ON u.id = p."authorId")::int AS posts,
        (SELECT count(*) FROM "Invite" i JOIN "User" u ON u.id = i."invitedById")::int AS invites`,
    ),
    status: await query(db, `SELECT status::text, count(*)::int AS n FROM "Invite" GROUP BY 1 ORDER BY 1`),
  };
}

/** What 0001 must leave: every USER mapped to EMPLOYEE in every column, other labels kept. */
function mapped(before: Record<string, Record<string, number>>): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [col, labels] of Object.entries(before)) {
    const { USER = 0, EMPLOYEE = 0, ...rest } = labels;
    out[col] = { ...rest, ...(USER + EMPLOYEE ? { EMPLOYEE: USER + EMPLOYEE } : {}) };
  }
  return out;
}

for (const strategy of STRATEGY_NAMES) {
  t.test(
    `STRATEGY=${strategy}: every column of "Role" converted and verified; nothing else moves; ` +
      'the dump brings it all back',
    async (t) => {
      const db = await prismaDatabase(t, { users: 2000 });
      const s = tempSettings(db);
      const before = await roleColumns(db);
      t.equal(before['Invite.role'].USER, 450, 'the fixture has 450 invites holding USER');
      t.ok(before['Team.roles'].USER > 0, 'and arrays holding USER');
      const others = await untouched(db);
      const dataBefore = {
        user: await tableChecksum(db, '"User"'),
        invite: await tableChecksum(db, '"Invite"'),
        team: await tableChecksum(db, '"Team"'),
      };

      const r = await migrate(db, '0001', s, { strategy, log: quiet });
      t.equal(r.strategy, strategy);
      t.same(
        await roleColumns(db),
        mapped(before),
        'every column: USER became EMPLOYEE, the rest kept (arrays element by element)',
      );
      t.same(await enumLabels(db), ['EMPLOYEE', 'MANAGER', 'ADMIN']);
      const defaults = await query(
        db,
        `SELECT attrelid::regclass::text AS t, pg_get_expr(adbin, adrelid) AS d FROM pg_attrdef
      JOIN pg_attribute ON attrelid = adrelid AND attnum = adnum WHERE attname = 'role' ORDER BY 1`,
      );
      t.same(
        defaults,
        [
          { t: '"Invite"', d: '\'EMPLOYEE\'::"Role"' },
          { t: '"User"', d: '\'EMPLOYEE\'::"Role"' },
        ],
        '@default(USER) is now EMPLOYEE',
      );
      t.same(await untouched(db), others, 'every other column, table, foreign key and join unchanged');
      if (strategy !== 'rename') {
        const checks = r.checks
          .filter((c) => c.kind === 'data')
          .map((c) => c.check)
          .sort();
        t.same(
          checks,
          ['public."Invite" as committed', 'public."Team" as committed', 'public."User" as committed'],
          'final checks per table',
        );
        const after = r.verifier?.after.tables as Record<string, { columns: Record<string, Record<string, number>> }>;
        t.same(
          after['public."Team"'].columns.roles,
          mapped(before)['Team.roles'],
          'the verifier counted array elements',
        );
      }
      if (strategy === 'update') {
        t.same(
          r.verifier?.updated,
          {
            'public."User"': { role: before['User.role'].USER },
            'public."Invite"': { role: 450 },
            'public."Team"': { roles: 20 },
          },
          'rows updated per table and column',
        );
      }

      // The run's dump is the way back: exact data and type, then the migration runs again.
      const back = await restore(db, s, r.dump!, { log: quiet });
      t.equal(back.countsMatch, true);
      t.same(await roleColumns(db), before, 'restored: labels as before');
      t.same(
        {
          user: await tableChecksum(db, '"User"'),
          invite: await tableChecksum(db, '"Invite"'),
          team: await tableChecksum(db, '"Team"'),
        },
        dataBefore,
        'restored: exact rows',
      );
      t.same(await enumLabels(db), ['USER', 'ADMIN']);
      t.same(await untouched(db), others);
      const again = await migrate(db, '0001', s, { strategy, log: quiet });
      t.notOk(again.alreadyApplied, 'after the restore the migration runs for real again');
      t.same(await roleColumns(db), mapped(before), 'and converts every column again');
    },
  );
}

t.test('preflight lists every column of "Role" with its rows per label; status shows each column', async (t) => {
  const db = await prismaDatabase(t, { users: 300 });
  const s = tempSettings(db);
  const lines: string[] = [];
  await migrate(db, '0001', s, { log: (l) => lines.push(l) });
  const out = lines.join('\n');
  t.match(out, /preflight: public\."Invite": 500 rows; role USER=450 ADMIN=50/);
  t.match(out, /preflight: public\."Team": 40 rows; roles (USER=30 ADMIN=20|ADMIN=20 USER=30)/);
  t.match(out, /preflight: public\."User": 300 rows; role (USER=270 ADMIN=30|ADMIN=30 USER=270)/);
  const st = runBin('status.ts', [], { DATABASE_URL: urlOf(db) });
  t.equal(st.code, 0, st.stderr);
  t.match(st.stdout, /public\."Invite"\.role +EMPLOYEE=450 +MANAGER=0 +ADMIN=50/);
  t.match(st.stdout, /public\."Team"\.roles \(elements\) +EMPLOYEE=30 +MANAGER=0 +ADMIN=20/);
  const json = JSON.parse(runBin('status.ts', ['--json'], { DATABASE_URL: urlOf(db) }).stdout);
  t.same(json.items, [
    { item: '"Role" labels, in order', detail: 'EMPLOYEE, MANAGER, ADMIN' },
    { item: 'public."Invite".role', detail: 'EMPLOYEE=450  MANAGER=0  ADMIN=50' },
    { item: 'public."Team".roles (elements)', detail: 'EMPLOYEE=30  MANAGER=0  ADMIN=20' },
    { item: 'public."User".role', detail: 'EMPLOYEE=270  MANAGER=0  ADMIN=30' },
  ]);
});

// enum_counts' hash of every row's identity: as a record for common key types (no text per row),
// as the row's text for types without a hash function (json, geometric); both see a changed row.
import t from 'tap';
import { query, seededDatabase } from './helpers/database.js';

t.test('identity hash: a record for text keys, the text for json, and both change with the rows', async (t) => {
  const url = await seededDatabase(t, 300);
  const { schema } = await import('../bin/schema.js');
  await schema(url, 'toolkit');
  await query(
    url,
    `CREATE TABLE "Audit" (role "Role", payload json, at point);
     INSERT INTO "Audit" SELECT 'USER', json_build_object('n', i), point(i, i) FROM generate_series(1, 50) i`,
  );
  const counts = async () =>
    (await query(url, `SELECT breaking_migrations.enum_counts('"Role"') AS c`))[0].c as Record<
      string,
      { rows: number; identity: string }
    >;
  const c = await counts();
  const [oracle] = await query(
    url,
    `SELECT (SELECT sum(hash_record_extended(ROW(id, email), 0))::text FROM "User") AS users,
            (SELECT sum(hashtextextended(ROW(payload, at)::text, 0))::text FROM "Audit") AS audit`,
  );
  t.equal(c['public."User"'].identity, oracle.users, '"User" (id, email): hashed as a record');
  t.equal(c['public."Audit"'].identity, oracle.audit, '"Audit" (json, point): hashed as text');
  t.equal(c['public."Audit"'].rows, 50);
  await query(url, `UPDATE "Audit" SET payload = '{"n": 999}' WHERE (payload ->> 'n')::int = 7`);
  await query(url, `UPDATE "User" SET email = 'x' || email WHERE id = (SELECT min(id) FROM "User")`);
  const after = await counts();
  t.not(after['public."Audit"'].identity, c['public."Audit"'].identity, 'a changed json row changes the hash');
  t.not(after['public."User"'].identity, c['public."User"'].identity, 'a changed email changes the hash');
});

// Test databases on a real PostgreSQL: the server DATABASE_URL points at, or a throwaway sandbox
// started once per test file. Each call creates its own database and drops it afterwards, so
// test files can run in parallel and never see each other's data.
import type { Test } from 'tap';
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { resolveTarget, targetUrl, withDatabase, type Target } from '../../bin/lib/connection/target.js';
import { startSandbox, type Sandbox } from '../../bin/lib/dev/sandbox.js';
import { schema } from '../../bin/schema.js';
import { seed } from '../../bin/seed.js';

let sandbox: Promise<Sandbox> | undefined;

/** The server the tests use: DATABASE_URL's, or this file's own sandbox. */
export async function serverTarget(): Promise<Target> {
  if (process.env.DATABASE_URL) return resolveTarget(process.env.DATABASE_URL);
  sandbox ??= startSandbox(); // stopped and deleted when the process exits
  return (await sandbox).target;
}

/** A target's URL with its password, for a command's DATABASE_URL in a test. */
export const urlOf = (target: Target) => targetUrl(target, { password: true });

/** A fresh, empty database for this test; dropped at its end. */
export async function testDatabase(t: Test): Promise<Target> {
  const admin = await serverTarget();
  const name = `bm_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await query(admin, `CREATE DATABASE ${name}`);
  t.teardown(() => query(admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  return withDatabase(admin, name);
}

/**
 * A login role for this test, named `prefix_…`: at the test's end the database (which it may own)
 * is dropped first, then the role.
 */
export async function throwawayRole(t: Test, db: Target, prefix: string): Promise<string> {
  const role = `${prefix}_${randomBytes(3).toString('hex')}`;
  await query(db, `CREATE ROLE ${role} LOGIN`);
  t.teardown(async () => {
    await query({ ...db, database: 'postgres' }, `DROP DATABASE IF EXISTS "${db.database}" WITH (FORCE)`);
    await query({ ...db, database: 'postgres' }, `DROP ROLE IF EXISTS ${role}`);
  });
  return role;
}

/** A database in the "before" state: baseline schema and `rows` seeded users. */
export async function seededDatabase(t: Test, rows: number): Promise<Target> {
  const url = await testDatabase(t);
  await schema(url, 'baseline');
  if (rows > 0) await seed(url, rows);
  return url;
}

// ---- the oracle: node-postgres, independent of the postgres.js code under test -------------

/** pg's own config for a target: the oracle reads the fields, not the toolkit's derivations. */
export function oracleConfig(db: Target): pg.ClientConfig {
  return {
    host: db.host,
    port: db.port,
    database: db.database,
    user: db.user,
    password: db.password,
    ssl: db.tls ? { rejectUnauthorized: false } : false,
    options: db.schema ? `-c search_path="${db.schema}"` : undefined,
  };
}

export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(
  db: Target,
  text: string,
  params: unknown[] = [],
): Promise<R[]> {
  // Named like the toolkit so that the maintenance guard spares the tests' observer; a
  // terminated session surfaces as the query's error, not as an unhandled event.
  const client = new pg.Client({ ...oracleConfig(db), application_name: 'breaking-migrations-test-oracle' });
  client.on('error', () => {});
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** Labels of an enum, in pg_enum sort order. */
export async function enumLabels(url: Target, type = '"Role"'): Promise<string[]> {
  const rows = await query<{ l: string }>(
    url,
    `SELECT enumlabel AS l FROM pg_enum WHERE enumtypid = to_regtype($1) ORDER BY enumsortorder`,
    [type],
  );
  return rows.map((r) => r.l);
}

/** Rows per role label, and the total. */
export async function roleCounts(url: Target): Promise<Record<string, number>> {
  const rows = await query<{ role: string; n: string }>(
    url,
    `SELECT role::text AS role, count(*) AS n FROM "User" GROUP BY 1`,
  );
  const counts: Record<string, number> = { total: 0 };
  for (const r of rows) {
    counts[r.role] = Number(r.n);
    counts.total += Number(r.n);
  }
  return counts;
}

/** A checksum of every (id, email) pair: the identity of the users, whatever their role. */
export async function identityChecksum(url: Target): Promise<string> {
  const [r] = await query<{ sum: string }>(
    url,
    `SELECT count(*) || ':' || coalesce(md5(string_agg(id || ' ' || email, ',' ORDER BY id)), '') AS sum FROM "User"`,
  );
  return r.sum;
}

/** A checksum of a whole table's rows, role included. */
export async function tableChecksum(url: Target, table = '"User"'): Promise<string> {
  const [r] = await query<{ sum: string }>(
    url,
    `SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') AS sum FROM ${table} t`,
  );
  return r.sum;
}

/** Catalog facts a swap would change: enum labels, every column's type and default, indexes. */
export async function catalogSnapshot(url: Target): Promise<unknown> {
  const columns = await query(
    url,
    `
    SELECT c.oid::regclass::text AS rel, a.attname, format_type(a.atttypid, a.atttypmod) AS type,
           a.attnotnull, pg_get_expr(d.adbin, d.adrelid) AS def
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    ORDER BY 1, 2`,
  );
  const indexes = await query(url, `SELECT indexdef FROM pg_indexes WHERE schemaname NOT IN ('pg_catalog') ORDER BY 1`);
  const types = await query(
    url,
    `SELECT t.oid::regtype::text AS name, array_agg(e.enumlabel ORDER BY e.enumsortorder)::text AS labels
    FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY 1 ORDER BY 1`,
  );
  return { columns, indexes, types };
}

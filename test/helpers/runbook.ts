// Helpers for runbook tests: settings in temp folders, and the state a finished 0001 must leave.
import type { Test } from 'tap';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settings, type Settings } from '../../bin/lib/connection/config.js';
import pg from 'pg';
import { enumLabels, identityChecksum, oracleConfig, query, roleCounts, urlOf } from './database.js';
import type { Target } from '../../bin/lib/connection/target.js';

export function tempSettings(
  url: Target,
  extra: Record<string, string> = {},
): Settings & { env: Record<string, string> } {
  const root = mkdtempSync(join(tmpdir(), 'bm-run-'));
  const env = {
    DATABASE_URL: urlOf(url),
    MAINTENANCE_DIR: join(root, 'maintenance'),
    BACKUP_DIR: join(root, 'backups'),
    ...extra,
  };
  return { ...settings(env), env };
}

export interface Snapshot {
  counts: Record<string, number>;
  identity: string;
}

export async function snapshot(url: Target): Promise<Snapshot> {
  return { counts: await roleCounts(url), identity: await identityChecksum(url) };
}

/** Every USER became EMPLOYEE, nothing else moved, the type is final, maintenance is off. */
export async function assertMigrated(t: Test, url: Target, before: Snapshot, s: Settings): Promise<void> {
  t.same(await enumLabels(url), ['EMPLOYEE', 'MANAGER', 'ADMIN'], 'final labels, in order');
  const counts = await roleCounts(url);
  const employees = (before.counts.USER ?? 0) + (before.counts.EMPLOYEE ?? 0);
  t.same(
    counts,
    {
      total: before.counts.total,
      ...(employees ? { EMPLOYEE: employees } : {}),
      ...(before.counts.ADMIN ? { ADMIN: before.counts.ADMIN } : {}),
    },
    'every USER is EMPLOYEE, ADMIN kept',
  );
  t.equal(await identityChecksum(url), before.identity, '(id, email) checksum unchanged');
  t.notOk(existsSync(join(s.maintenanceDir, 'enabled.lock')), 'lock file removed');
  const [g] = await query(
    url,
    `SELECT count(*)::int AS n FROM pg_db_role_setting
    WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())`,
  );
  t.equal(g.n, 0, 'guard off');
}

/**
 * A trigger that rewrites role on update, so that the verifier's invariants fail: EMPLOYEE rows
 * silently become MANAGER.
 */
export async function addSneakyTrigger(url: Target): Promise<void> {
  await query(
    url,
    `CREATE FUNCTION sneaky() RETURNS trigger LANGUAGE plpgsql AS $$
                      BEGIN IF NEW.role::text = 'EMPLOYEE' THEN NEW.role := 'MANAGER'; END IF; RETURN NEW; END $$;
                    CREATE TRIGGER sneaky BEFORE UPDATE ON "User" FOR EACH ROW EXECUTE FUNCTION sneaky()`,
  );
}

/**
 * Holds a running `make migrate-*` at its next journal write (the journal locked in a writable
 * session, which the guard allows), so that a test can act inside the window before the runner
 * reaches its next step. Returns the release.
 */
export async function holdRunner(t: Test, url: Target): Promise<() => Promise<void>> {
  const c = new pg.Client(oracleConfig(url));
  await c.connect();
  await c.query('BEGIN READ WRITE');
  await c.query('LOCK TABLE breaking_migrations.journal IN EXCLUSIVE MODE');
  let held = true;
  const release = async () => {
    if (!held) return;
    held = false;
    await c.query('COMMIT');
    await c.end();
  };
  t.teardown(release); // a test that fails while holding lets the runner go
  return release;
}

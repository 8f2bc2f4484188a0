// The app's instances and the labels their client knows (sql/app_instances.sql; the app side is
// databaseProbe's `enums` in nextjs/maintenance.ts). The runbook reads them to refuse a migration
// a running replica cannot read, and to keep maintenance ON while one is up after the contract.
import { setTimeout as sleep } from 'node:timers/promises';
import { readSql } from '../connection/config.js';
import { tableExists, type Sql } from '../connection/db.js';
import { Refusal } from '../connection/refusal.js';
import { appContainers } from '../connection/docker.js';
import type { Settings } from '../connection/config.js';
import type { EnumSpec } from '../enum/enum-spec.js';

/** How often an instance reports (the app's timer): one interval is how long a new table waits. */
export const REPORT_INTERVAL_MS = 5000;

export interface Instance {
  instance: string;
  build: string | null;
  enums: Record<string, string[]>;
  seen: Date;
  started: Date; // when the app's process started (its own clock, sent in its report)
}

/** The table exists afterwards; true when this call created it. */
export async function ensureInstanceTable(sql: Sql): Promise<boolean> {
  const [{ present }] = await sql`SELECT to_regclass('breaking_migrations.app_instances') IS NOT NULL AS present`;
  if (present) return false;
  await sql.unsafe(readSql('app_instances.sql'));
  return true;
}

/** Instances seen in the last `seenS` seconds (or since `since`), newest first. */
export async function seenInstances(sql: Sql, opts: { seenS: number; since?: Date }): Promise<Instance[]> {
  const rows = await sql`
    SELECT instance, build, enums, seen, started FROM breaking_migrations.app_instances
    WHERE seen > now() - make_interval(secs => ${opts.seenS}) AND seen > ${opts.since ?? new Date(0)}
    ORDER BY seen DESC, instance`;
  return rows.map((r) => ({
    instance: r.instance,
    build: r.build,
    enums: r.enums,
    seen: new Date(r.seen),
    started: new Date(r.started),
  }));
}

/** The labels of `labels` an instance's client does not know (all of them when it reports no such type). */
export function unknownLabels(i: Instance, type: string, labels: string[]): string[] {
  const known = i.enums[type];
  return Array.isArray(known) ? labels.filter((l) => !known.includes(l)) : labels;
}

/** "host:123 (build v1) knows USER, ADMIN" */
export function describeInstance(i: Instance, type: string): string {
  const known = i.enums[type];
  const labels = Array.isArray(known) ? known.join(', ') : `no ${type}`;
  return `${i.instance}${i.build ? ` (build ${i.build})` : ''} knows ${labels}`;
}

/**
 * Sessions on this database that are not the toolkit's: an app that may be about to report. A role
 * that is not a superuser sees another role's sessions without their backend_type (NULL).
 */
async function otherSessions(sql: Sql): Promise<number> {
  const [{ n }] = await sql`SELECT count(*)::int AS n FROM pg_stat_activity
    WHERE datname = current_database() AND pid <> pg_backend_pid()
      AND COALESCE(backend_type, 'client backend') = 'client backend' AND usesysid IS NOT NULL
      AND application_name NOT LIKE 'breaking-migrations%'`;
  return n;
}

/**
 * The instances seen recently that cannot read `labels` of `type`, and those seen. When the table
 * had to be created now and other clients are connected, waits one report interval first: their
 * apps could not report before the table existed. With nobody else connected there is no app to wait for.
 */
export async function instancesThatCannotRead(
  sql: Sql,
  type: string,
  labels: string[],
  seenS: number,
  log: (line: string) => void = () => {},
): Promise<{ seen: Instance[]; cannot: Instance[] }> {
  if ((await ensureInstanceTable(sql)) && (await otherSessions(sql)) > 0) {
    log(`  waiting ${REPORT_INTERVAL_MS / 1000} s for the app's instances to report (their table is new)…`);
    await sleep(REPORT_INTERVAL_MS + 500);
  }
  const seen = await seenInstances(sql, { seenS });
  return { seen, cannot: seen.filter((i) => unknownLabels(i, type, labels).length > 0) };
}

/**
 * Preflight: every app instance seen recently (APP_SEEN_S) must know the labels rows hold after
 * the mutation; an app whose Prisma client does not know them fails on every such row once
 * the site is back (prisma/orm#24288). None reporting: one line, or a refusal with APP_CHECK=require.
 */
export async function appPreflight(
  sql: Sql,
  id: string,
  spec: EnumSpec,
  s: Settings,
  log: (l: string) => void,
): Promise<void> {
  const after = [...new Set([...Object.values(spec.map), ...spec.from.filter((l) => spec.to.includes(l))])];
  const { seen, cannot } = await instancesThatCannotRead(sql, spec.type, after, s.appSeenS, log);
  if (!seen.length) {
    const line = `no app instance reported its labels in the last ${s.appSeenS} s (databaseProbe's enums)`;
    if (s.appCheck === 'require') {
      throw new Refusal(
        `migrate-${id}: preflight: APP_CHECK=require and ${line}.`,
        'Nothing was changed. Start the app with its report on (see the README, "The app\'s labels"), then run again.',
      );
    }
    return log(`  preflight: ${line}; going on (APP_CHECK=require refuses instead)`);
  }
  if (cannot.length) {
    const each = cannot.map(
      (i) => `${describeInstance(i, spec.type)}, not ${unknownLabels(i, spec.type, after).join(', ')}`,
    );
    if (s.appImage && s.appService) {
      // They sit behind the maintenance page from maintenance-on until the new image replaces them,
      // and maintenance stays ON while any instance seen after the deploy cannot read the final labels.
      return log(
        `  preflight: ${cannot.length} of ${seen.length} app instance(s) cannot read the labels the mutation writes ` +
          `(${each.join('; ')}); APP_IMAGE=${s.appImage} replaces ${s.appService}'s tasks inside the window`,
      );
    }
    throw new Refusal(
      `migrate-${id}: preflight: ${cannot.length} of ${seen.length} app instance(s) seen in the last ${s.appSeenS} s ` +
        `cannot read the labels the mutation writes: ${each.join('; ')}.`,
      `Nothing was changed. Deploy an app whose client knows ${[...new Set([...spec.from, ...after])].join(', ')} ` +
        "first (old and new labels: the runbook's step 1), wait until `make app-status` shows no old instance, " +
        'then run again; or, in a Swarm, run again with APP_SERVICE=<the service> APP_IMAGE=<the final image> ' +
        'to ship the final app inside the window.',
    );
  }
  log(`  preflight: ${seen.length} app instance(s) can read ${after.join(', ')}`);
}

/**
 * Before maintenance-off: every instance seen since the contract knows every label of the final
 * type, or maintenance stays ON. Reports come every few seconds, so it waits until one report
 * interval has passed since the contract, so that an old replica still up has spoken — or, where
 * docker says which containers run the app (APP_SERVICE, APP_CONTAINER), until each of them has
 * reported since the contract: a replica with visitors does within a fraction of a second while
 * maintenance is ON (nextjs/maintenance.ts's PROMPT_REPORT_MS), and a task that starts meanwhile
 * is waited for too. After APP_IMAGE shipped, the instances it replaced (`replaced`) no longer
 * count: the deploy waited for the new ones' reports, so there is nothing to wait for.
 */
export async function appsReadFinalLabels(
  sql: Sql,
  spec: EnumSpec,
  s: Settings,
  contractedAt?: Date,
  replaced?: string[],
  log: (line: string) => void = () => {},
): Promise<void> {
  if (!(await tableExists(sql, 'breaking_migrations.app_instances'))) return;
  if (!(await seenInstances(sql, { seenS: s.appSeenS })).length) return;
  const since = contractedAt ?? new Date(Date.now() - s.appSeenS * 1000);
  const deadline = since.getTime() + REPORT_INTERVAL_MS + 1000;
  if (!replaced && Date.now() < deadline) log(await waitForReports(sql, s, since, deadline));
  const gone = new Set(replaced);
  const after = (await seenInstances(sql, { seenS: s.appSeenS, since })).filter((i) => !gone.has(i.instance));
  const cannot = after.filter((i) => unknownLabels(i, spec.type, spec.to).length > 0);
  if (cannot.length) {
    const each = cannot.map(
      (i) => `${describeInstance(i, spec.type)}, not ${unknownLabels(i, spec.type, spec.to).join(', ')}`,
    );
    throw new Error(
      `${cannot.length} app instance(s) up since the contract cannot read ${spec.type}'s labels ` +
        `${spec.to.join(', ')}: ${each.join('; ')}; maintenance stays ON until they are replaced`,
    );
  }
}

/** Waits as appsReadFinalLabels says; returns the line that says what it waited for. */
async function waitForReports(sql: Sql, s: Settings, since: Date, deadline: number): Promise<string> {
  const t0 = Date.now();
  const waited = () => `waited ${((Date.now() - t0) / 1000).toFixed(1)} s`;
  if (!s.appService && !s.appContainer) {
    await sleep(deadline - Date.now());
    return (
      `  the app's instances had one report interval to speak since the contract (${waited()}; ` +
      'with APP_SERVICE or APP_CONTAINER the toolkit waits only until each running one has)'
    );
  }
  for (;;) {
    const containers = await appContainers(s); // each by its names: ID and name, or hostname
    const reported = new Set(
      (await seenInstances(sql, { seenS: s.appSeenS, since })).map((i) => i.instance.replace(/:\d+$/, '')),
    );
    const silent = containers?.filter((names) => !names.some((n) => reported.has(n))).map((n) => n.join(' '));
    if (silent && !silent.length)
      return `  each of the app's ${containers?.length} running container(s) reported since the contract (${waited()})`;
    if (Date.now() >= deadline)
      return silent
        ? `  ${silent.length} running app container(s) did not report since the contract (${waited()}; ` +
            `stopped, or reporting under another name than its hostname): ${silent.join(', ')}`
        : `  docker could not list the app's containers: they had one report interval to speak (${waited()})`;
    await sleep(Math.min(250, deadline - Date.now()));
  }
}

// What a dump's <dump>.manifest.json holds: the facts restore checks the database against.
import { existsSync, readFileSync } from 'node:fs';
export interface Manifest {
  database: string;
  serverVersion: string;
  pgDumpVersion: string;
  createdAt: string;
  file: string;
  bytes: number;
  sha256: string;
  tables: Record<string, number>;
  writes?: Record<string, number>; // sql/table_writes.sql at the dump: restore measures writes since
}

/**
 * Rows inserted, updated or deleted since the dump, per table: sql/table_writes.sql now minus the
 * manifest's; the toolkit's own schema (its journal, the instances' reports) left out. A table
 * whose counters went back (statistics reset, crash) is not measured.
 */
export function writesSince(
  manifest: Manifest,
  now: { name: unknown; writes: unknown }[],
): { total: number; tables: Record<string, number>; unmeasured: string[] } {
  const tables: Record<string, number> = {};
  const unmeasured: string[] = [];
  for (const r of now) {
    const name = String(r.name);
    if (name.startsWith('breaking_migrations.')) continue;
    if (!manifest.writes) {
      unmeasured.push(name); // a dump from before manifests kept the counters
      continue;
    }
    const since = Number(r.writes) - (manifest.writes?.[name] ?? 0);
    if (since < 0) unmeasured.push(name);
    else if (since > 0) tables[name] = since;
  }
  return { total: Object.values(tables).reduce((a, b) => a + b, 0), tables, unmeasured };
}

/** A dump's manifest (<dump>.manifest.json), as dump.ts wrote it; null when the dump has none. */
export function readManifest(dumpPath: string): Manifest | null {
  const file = `${dumpPath}.manifest.json`;
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Manifest) : null;
}

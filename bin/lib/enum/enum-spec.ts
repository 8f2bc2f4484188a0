// An enum migration described as data (NNNN/enum.json): the type, its labels before and
// after, and where the rows of a removed label go. What `make prisma-NNNN` needs to tell Prisma
// about the change (the migration folder, schema.prisma).
import { existsSync, readFileSync } from 'node:fs';
import { migrationPath, shownPath } from '../connection/config.js';
import { Refusal } from '../connection/refusal.js';

export interface EnumSpec {
  type: string; // the enum's name, as in schema.prisma and the database: Role
  from: string[]; // labels before, in order
  to: string[]; // labels after, in order
  map: Record<string, string>; // a label of `from` → a label of `to`: its rows are moved there
  name: string; // the Prisma migration folder's name after its timestamp
  expand: string; // NNNN/expand/<this>.sql: dbmate version and name
  contract: string; // NNNN/contract/<this>.sql
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const VERSIONED = /^\d{14}_[a-z0-9_]+$/; // dbmate's <version>_<name>

/**
 * What is wrong with a parsed enum.json, one fault per line (empty when it is a valid spec): the
 * file is hand-editable, so it is checked field by field before anything is generated or run.
 */
export function enumSpecFaults(raw: unknown): string[] {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return ['it is not a JSON object'];
  const o = raw as Record<string, unknown>;
  const faults: string[] = [];
  const known = ['type', 'from', 'to', 'map', 'name', 'expand', 'contract'];
  for (const k of Object.keys(o)) if (!known.includes(k)) faults.push(`"${k}" is not a field (${known.join(', ')})`);
  if (typeof o.type !== 'string' || !IDENT.test(o.type)) faults.push('"type" must be the enum\'s name, e.g. "Role"');
  const labels = (field: 'from' | 'to'): string[] => {
    const v = o[field];
    if (!Array.isArray(v) || v.length === 0 || !v.every((l) => typeof l === 'string' && l !== '')) {
      faults.push(`"${field}" must be a non-empty list of labels, e.g. ["USER", "ADMIN"]`);
      return [];
    }
    const twice = v.filter((l, i) => v.indexOf(l) !== i);
    if (twice.length) faults.push(`"${field}" lists ${[...new Set(twice)].join(', ')} twice`);
    const long = v.filter((l) => Buffer.byteLength(l) > 63);
    if (long.length) faults.push(`"${field}" has labels over PostgreSQL's 63 bytes: ${long.join(', ')}`);
    return v as string[];
  };
  const [from, to] = [labels('from'), labels('to')];
  const map = o.map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    faults.push('"map" must be an object from a label of "from" to a label of "to", e.g. {"USER": "EMPLOYEE"}');
  } else {
    for (const [a, b] of Object.entries(map)) {
      if (!from.includes(a)) faults.push(`"map" moves ${a}, which is not in "from" (${from.join(', ')})`);
      if (typeof b !== 'string' || !to.includes(b)) {
        faults.push(`"map" moves ${a} to ${JSON.stringify(b)}, which is not in "to" (${to.join(', ')})`);
      }
    }
    const mapped = Object.keys(map).length;
    if (from.length && to.length && from.join(',') === to.join(',') && !mapped) {
      faults.push('"from" and "to" are the same and nothing is mapped: there is nothing to migrate');
    }
  }
  if (typeof o.name !== 'string' || !/^[a-z0-9_]{1,60}$/.test(o.name)) {
    faults.push('"name" must be the Prisma migration\'s name: lowercase letters, digits, _');
  }
  for (const field of ['expand', 'contract'] as const) {
    if (typeof o[field] !== 'string' || !VERSIONED.test(o[field] as string)) {
      faults.push(`"${field}" must be its dbmate file's name without .sql: <14-digit version>_<name>`);
    }
  }
  if (!faults.length && (o.expand as string) >= (o.contract as string)) {
    faults.push('"expand" must sort before "contract" (dbmate runs versions in order)');
  }
  return faults;
}

/** NNNN/enum.json checked and typed; undefined when the migration has none. */
export function readEnumSpec(id: string): EnumSpec | undefined {
  const file = migrationPath(id, 'enum.json');
  if (!existsSync(file)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Refusal(
      `${shownPath(file)} is not valid JSON (${(err as Error).message}).`,
      'Fix the file, then run again.',
    );
  }
  const faults = enumSpecFaults(raw);
  if (faults.length) {
    throw new Refusal(`${shownPath(file)}: ${faults.join('; ')}.`, 'Fix each field named, then run again.');
  }
  return raw as EnumSpec;
}

/** NNNN/enum.json, or a refusal saying that this migration is not an enum change. */
export function loadEnumSpec(id: string, command: string): EnumSpec {
  const spec = readEnumSpec(id);
  if (!spec) {
    throw new Refusal(
      `${command}: migration ${id} has no ${shownPath(migrationPath(id, 'enum.json'))}: ` +
        'it is not an enum change the toolkit can describe to Prisma.',
      'Edit schema.prisma and write the Prisma migration by hand, then `prisma migrate resolve --applied <name>`.',
    );
  }
  return spec;
}

/** A quoted SQL identifier and a quoted SQL literal, for the SQL generated from a spec. */
export const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
export const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** "a" → its label after the change (mapped, kept, or undefined when removed without a mapping). */
export const labelAfter = (spec: EnumSpec, label: string): string | undefined =>
  spec.map[label] ?? (spec.to.includes(label) ? label : undefined);

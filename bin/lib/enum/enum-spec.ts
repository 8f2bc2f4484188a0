// An enum migration described as data (sql/NNNN/enum.json): the type, its labels before and
// after, and where the rows of a removed label go. What `make prisma-NNNN` needs to tell Prisma
// about the change (the migration folder, schema.prisma).
import { existsSync, readFileSync } from 'node:fs';
import { repoPath } from '../connection/config.js';
import { Refusal } from '../connection/refusal.js';

export interface EnumSpec {
  type: string; // the enum's name, as in schema.prisma and the database: Role
  from: string[]; // labels before, in order
  to: string[]; // labels after, in order
  map: Record<string, string>; // a label of `from` → a label of `to`: its rows are moved there
  name: string; // the Prisma migration folder's name after its timestamp
  expand: string; // db/NNNN/expand/<this>.sql: dbmate version and name
  contract: string; // db/NNNN/contract/<this>.sql
}

/** sql/NNNN/enum.json, or a refusal saying that this migration is not an enum change. */
export function loadEnumSpec(id: string, command: string): EnumSpec {
  const file = repoPath('sql', id, 'enum.json');
  if (!existsSync(file)) {
    throw new Refusal(
      `${command}: migration ${id} has no sql/${id}/enum.json: ` +
        'it is not an enum change the toolkit can describe to Prisma.',
      'Edit schema.prisma and write the Prisma migration by hand, then `prisma migrate resolve --applied <name>`.',
    );
  }
  return JSON.parse(readFileSync(file, 'utf8')) as EnumSpec;
}

/** A quoted SQL identifier and a quoted SQL literal, for the SQL generated from a spec. */
export const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
export const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** "a" → its label after the change (mapped, kept, or undefined when removed without a mapping). */
export const labelAfter = (spec: EnumSpec, label: string): string | undefined =>
  spec.map[label] ?? (spec.to.includes(label) ? label : undefined);

// The migration.sql Prisma's history gets for an enum change the toolkit applied. On production
// it is recorded as applied (never run there); on a database built from the earlier migrations
// (a developer's, CI, a preview) `prisma migrate deploy` sends it as one script and it must do
// the same change there: the type swap Prisma itself writes for enums, with the label mapping
// folded into USING (a label added in a transaction cannot be used in it: 55P04, see NOTES).
import { lit, q, type EnumSpec } from './enum-spec.js';

export interface EnumColumn {
  schema_name: string;
  table_name: string;
  column_name: string;
  is_array: boolean;
  default_expr: string | null;
}

export function prismaMigrationSql(
  spec: EnumSpec,
  columns: EnumColumn[],
  appSchema: string,
  note: { migration: string; runId?: string },
): string {
  const table = (c: EnumColumn) => (c.schema_name === appSchema ? '' : `${q(c.schema_name)}.`) + q(c.table_name);
  const alter = (c: EnumColumn) => `ALTER TABLE ${table(c)} ALTER COLUMN ${q(c.column_name)}`;
  const type = q(spec.type);
  const next = q(`${spec.type}_new`);
  const mapped = Object.entries(spec.map);
  const using = (c: EnumColumn) => {
    const col = q(c.column_name);
    if (c.is_array) {
      const expr = mapped.reduce((e, [from, to]) => `array_replace(${e}, ${lit(from)}, ${lit(to)})`, `${col}::text[]`);
      return `(${expr})::${next}[]`;
    }
    const cases = mapped.map(([from, to]) => `WHEN ${lit(from)} THEN ${lit(to)}`).join(' ');
    return mapped.length ? `(CASE ${col}::text ${cases} ELSE ${col}::text END)::${next}` : `(${col}::text)::${next}`;
  };
  const withDefault = columns.filter((c) => c.default_expr !== null);
  const lines = [
    `-- Migration ${note.migration} (breaking-migrations): enum ${type} ` +
      `${spec.from.join(', ')} -> ${spec.to.join(', ')}` +
      (mapped.length ? `; ${mapped.map(([a, b]) => `every ${a} becomes ${b}`).join(', ')}.` : '.'),
    `-- Applied to production by \`make migrate-${note.migration}\`${note.runId ? ` (run ${note.runId})` : ''}, ` +
      'and recorded there as applied in',
    '-- _prisma_migrations: `prisma migrate deploy` does not run it there. On a database built from the',
    '-- earlier migrations it makes the same change, data included, in one transaction.',
    '',
    'BEGIN;',
    '',
    '-- AlterEnum',
    `CREATE TYPE ${next} AS ENUM (${spec.to.map(lit).join(', ')});`,
    ...withDefault.map((c) => `${alter(c)} DROP DEFAULT;`),
    ...columns.map((c) => `${alter(c)} TYPE ${next}${c.is_array ? '[]' : ''} USING ${using(c)};`),
    `ALTER TYPE ${type} RENAME TO ${q(`${spec.type}_old`)};`,
    `ALTER TYPE ${next} RENAME TO ${type};`,
    `DROP TYPE ${q(`${spec.type}_old`)};`,
    // Production's defaults, as PostgreSQL prints them, now that the type has its name back.
    ...withDefault.map((c) => `${alter(c)} SET DEFAULT ${c.default_expr};`),
    '',
    'COMMIT;',
    '',
  ];
  return lines.join('\n');
}

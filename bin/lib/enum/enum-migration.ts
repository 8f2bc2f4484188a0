// The files of an enum migration, generated from its spec (NNNN/enum.json): plain SQL for a
// DBA to review. Every column of the type or of its array, in every schema, is mapped in the
// verifier's transaction and checked column by column; the contract swaps the type through
// breaking_migrations.swap_enum. The SQL is in templates/*.sql, with named holes ({{type}}) for what
// is particular to a migration; this file computes the holes. Migration 0001 is its output for its spec.
import { readFileSync } from 'node:fs';
import { lit, q, type EnumSpec } from './enum-spec.js';

const json = (o: Record<string, string>) => lit(JSON.stringify(o).replace(/":"/g, '": "').replace(/","/g, '", "'));
const arr = (xs: string[]) => `ARRAY[${xs.map(lit).join(', ')}]`;

export interface EnumFiles {
  [path: string]: string;
}

/** Where each new label goes when the expand adds it: before the next label of `to` that exists. */
function addValues(spec: EnumSpec, labels: string[], exists: string[]): string[] {
  const present = [...exists];
  return labels.map((label) => {
    const i = spec.to.indexOf(label);
    const next = spec.to.slice(i + 1).find((l) => present.includes(l));
    const prev = [...spec.to.slice(0, i)].reverse().find((l) => present.includes(l));
    present.push(label);
    const where = next ? ` BEFORE ${lit(next)}` : prev ? ` AFTER ${lit(prev)}` : '';
    return `ALTER TYPE ${q(spec.type)} ADD VALUE IF NOT EXISTS ${lit(label)}${where};`;
  });
}

/** The change is a pure rename when every mapped label goes to a new one, one to one, order kept. */
export function isPureRename(spec: EnumSpec): boolean {
  const targets = Object.values(spec.map);
  const renamed = spec.from.map((l) => spec.map[l] ?? l);
  const removedUnmapped = spec.from.some((l) => !spec.to.includes(l) && !spec.map[l]);
  return (
    !removedUnmapped &&
    new Set(targets).size === targets.length &&
    targets.every((t) => !spec.from.includes(t)) &&
    renamed.join(',') === spec.to.filter((l) => renamed.includes(l)).join(',')
  );
}

/** A map read the other way: {EMPLOYEE: USER} for {USER: EMPLOYEE}. */
const flip = (m: Record<string, string>) => Object.fromEntries(Object.entries(m).map(([a, b]) => [b, a]));

/** A spec's labels that change name (USER → EMPLOYEE), and those it adds that no old label becomes (MANAGER). */
export function renamedAndNew(spec: EnumSpec): { mapped: Record<string, string>; newOnes: string[] } {
  const mapped = Object.fromEntries(Object.entries(spec.map).filter(([a, b]) => a !== b));
  const newOnes = spec.to.filter((l) => !spec.from.includes(l) && !Object.values(mapped).includes(l));
  return { mapped, newOnes };
}

export function enumMigrationFiles(id: string, spec: EnumSpec): EnumFiles {
  const T = q(spec.type);
  const typeLit = lit(T);
  const { mapped, newOnes } = renamedAndNew(spec);
  const mapText = Object.keys(mapped).length ? json(mapped) : "'{}'";
  const added = spec.to.filter((l) => !spec.from.includes(l));
  const removed = spec.from.filter((l) => !spec.to.includes(l));
  const all = [...spec.from, ...added];
  const reverse = Object.fromEntries(
    Object.entries(mapped)
      .filter(([, b]) => !spec.from.includes(b))
      .map(([a, b]) => [b, a]),
  );
  const mapValues = all
    .map((l) => `(${lit(l)}, ${spec.to.includes(l) && !mapped[l] ? lit(l) : mapped[l] ? lit(mapped[l]) : 'NULL'})`)
    .join(',\n                                           ');
  const change = `${T} ${spec.from.join(', ')} -> ${spec.to.join(', ')}${
    Object.keys(mapped).length
      ? `; ${Object.entries(mapped)
          .map(([a, b]) => `${a} -> ${b}`)
          .join(', ')}`
      : ''
  }`;
  // Every hole of the templates (templates/*.sql): what is particular to this migration.
  const holes: Record<string, string> = {
    id,
    change,
    type: T,
    type_literal: typeLit,
    type_in_text: T.replace(/'/g, "''"), // the type's name inside a SQL string
    from_list: spec.from.join(', '),
    to_list: spec.to.join(', '),
    added_list: added.join(', ') || 'no new label',
    added_or: added.join(' or ') || 'a new label',
    removed_or: removed.join(' or ') || 'an old label',
    gone: removed.length ? `; ${removed.join(', ')} ${removed.length > 1 ? 'are' : 'is'} gone` : '',
    all_labels: arr(all),
    kept_labels: arr(spec.from.filter((l) => spec.to.includes(l))),
    from_labels: arr(spec.from),
    to_labels: arr(spec.to),
    to_labels_text: lit(`{${spec.to.join(',')}}`),
    map: mapText,
    reverse_map: Object.keys(reverse).length ? json(reverse) : "'{}'",
    map_values: mapValues,
    mapped_list: Object.keys(mapped).join(', ') || 'none',
    mapped_labels: arr(Object.keys(mapped)),
    mutation_summary:
      Object.entries(mapped)
        .map(([a, b]) => `every ${a} becomes ${b}`)
        .join(', ') || 'no label is mapped',
    add_values: addValues(spec, added, spec.from).join('\n'),
    restore_removed:
      removed
        .map((l) => {
          const before = mapped[l] ?? spec.from.slice(spec.from.indexOf(l) + 1).find((x) => spec.to.includes(x));
          return `ALTER TYPE ${T} ADD VALUE IF NOT EXISTS ${lit(l)}${before ? ` BEFORE ${lit(before)}` : ''};`;
        })
        .join('\n') || 'SELECT 1; -- no label was removed',
    // The rename's start: the old labels, or the state its way back leaves (the added labels unused).
    rename_available: isPureRename(spec)
      ? `breaking_migrations.enum_labels(${typeLit}) IN (${arr(spec.from)},
${' '.repeat(45)}${arr(inverseLabels(spec, mapped))})`
      : 'false',
  };
  const files: EnumFiles = {
    [`expand/${spec.expand}.sql`]: render('expand', holes),
    [`contract/${spec.contract}.sql`]: render('contract', holes),
  };
  for (const name of [
    'preflight',
    'lock',
    'counts',
    'mutation',
    'invariants',
    'final_checks',
    'status',
    'plan',
    'rewrite',
  ]) {
    files[`${name}.sql`] = render(name, holes);
  }
  if (isPureRename(spec)) {
    const renames = { ...holes, ...renameHoles(spec, T, mapped, newOnes) };
    for (const name of ['rename', 'rename_facts', 'rename_invariants']) files[`${name}.sql`] = render(name, renames);
    // Its way back (`make rollback` after a rename run): the same rename, mapped the other way,
    // proved by the same facts; the labels it added stay, unused.
    const back = flip(mapped);
    const inverse = { ...spec, from: spec.to, to: inverseLabels(spec, mapped), map: back };
    const inverseHoles = {
      ...holes,
      ...renameHoles(inverse, T, back, []),
      proved: `The way back from STRATEGY=rename (make rollback, rename_inverse.sql)`,
      kept_labels: arr(spec.to.filter((l) => !newOnes.includes(l))),
      new_or: newOnes.join(' or '),
      new_list: newOnes.join(', '),
      inverse_list: inverse.to.join(', '),
    };
    files['rename_inverse.sql'] = render('rename_inverse', inverseHoles);
    files['rename_inverse_invariants.sql'] = render('rename_invariants', inverseHoles);
  }
  return files;
}

/** The labels after a rename's way back: the old names again, the added labels kept (unused) in place. */
function inverseLabels(spec: EnumSpec, mapped: Record<string, string>): string[] {
  const back = flip(mapped);
  return spec.to.map((l) => back[l] ?? l);
}

/** The holes only STRATEGY=rename's files have: the renames, the labels added after, their checks. */
function renameHoles(
  spec: EnumSpec,
  T: string,
  mapped: Record<string, string>,
  newOnes: string[],
): Record<string, string> {
  const renamedFrom = spec.from.map((l) => mapped[l] ?? l);
  const checks = [
    ...Object.entries(mapped).map(
      ([o, n]) => `  (${lit(`no ${o} left (${o} is no longer a label)`)}, 'false', (a.oids ? ${lit(o)})::text),
  (${lit(`${n} after = ${n} before + ${o} before (${n} is ${o}'s label OID)`)},
     CASE WHEN b.oids ? ${lit(n)} THEN '${n} existed before' ELSE b.oids ->> ${lit(o)} END,
     COALESCE(a.oids ->> ${lit(n)}, 'missing'))`,
    ),
    ...spec.from
      .filter((l) => !mapped[l])
      .map(
        (l) =>
          `  (${lit(`${l} unchanged (same label OID)`)}, b.oids ->> ${lit(l)}, ` +
          `COALESCE(a.oids ->> ${lit(l)}, 'missing'))`,
      ),
    // A new label, or the same one when an earlier rename's way back left it (unused) in the type.
    ...newOnes.map(
      (l) => `  (${lit(`${l} added (a new label OID, or the one a rollback left)`)},
     COALESCE(b.oids ->> ${lit(l)}, 'new'),
     CASE WHEN NOT a.oids ? ${lit(l)} THEN 'missing' WHEN b.oids ? ${lit(l)} THEN a.oids ->> ${lit(l)}
          WHEN EXISTS (SELECT FROM jsonb_each_text(b.oids) e WHERE e.value = a.oids ->> ${lit(l)})
          THEN 'an old label OID' ELSE 'new' END)`,
    ),
    `  ('rows updated = 0 (no row written: relabelled in the catalog)', '0',
     (a.rows_written + COALESCE($3::int8, 0))::text)`,
    `  ('rows unchanged (no row written, other writers locked out)', 'true',
     (a.rows_written = 0 AND b.locked AND a.locked)::text)`,
    `  ('identity of every row unchanged (no rewrite: same files)', b.filenode, a.filenode)`,
  ];
  const start = inverseLabels(spec, mapped); // rename.sql also starts from what its way back leaves
  return {
    proved: 'STRATEGY=rename',
    inverse_labels: arr(start),
    inverse_text: start.join(', '),
    rename_summary: Object.entries(mapped)
      .map(([a, b]) => `${a} is renamed ${b}`)
      .join(', '),
    then_added: newOnes.length ? `, then ${newOnes.join(', ')} ${newOnes.length > 1 ? 'are' : 'is'} added` : '',
    rename_values: Object.entries(mapped)
      .map(([a, b]) => `ALTER TYPE ${T} RENAME VALUE ${lit(a)} TO ${lit(b)};`)
      .join('\n'),
    add_values: addValues(spec, newOnes, renamedFrom).join('\n'),
    rename_checks: checks.join(',\n'),
  };
}

/**
 * A template of templates/ with its holes ({{name}}) filled. Every hole must be known: a typo in a
 * template fails the generator (and its test), it never writes "{{…}}" into a migration.
 */
function render(name: string, holes: Record<string, string>): string {
  const text = readFileSync(new URL(`./templates/${name}.sql`, import.meta.url), 'utf8');
  return text.replace(/\{\{(\w+)\}\}/g, (_, hole: string) => {
    if (!(hole in holes)) throw new Error(`templates/${name}.sql: unknown hole {{${hole}}}`);
    return holes[hole];
  });
}

// The files of an enum migration, generated from its spec (sql/NNNN/enum.json): plain SQL for a
// DBA to review. Every column of the type or of its array, in every schema, is mapped in the
// verifier's transaction and checked column by column; the contract swaps the type through
// breaking_migrations.swap_enum. Migration 0001 is this generator's output for its spec.
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

export function enumMigrationFiles(id: string, spec: EnumSpec): EnumFiles {
  const T = q(spec.type);
  const typeLit = lit(T);
  const mapped = Object.fromEntries(Object.entries(spec.map).filter(([a, b]) => a !== b));
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
  const head = (what: string) => `-- Migration ${id} (generated from sql/${id}/enum.json: ${change}).\n-- ${what}\n`;
  // Pieces the templates below repeat: the type's name inside a SQL string, the label lists.
  const typeInText = T.replace(/'/g, "''");
  const fromList = spec.from.join(', ');
  const kept = arr(spec.from.filter((l) => spec.to.includes(l)));
  const gone = removed.length ? `; ${removed.join(', ')} ${removed.length > 1 ? 'are' : 'is'} gone` : '';
  const files: EnumFiles = {};

  files[`db/${id}/expand/${spec.expand}.sql`] =
    `${head(`Expand: ${T} gets ${added.join(', ') || 'no new label'}, so that old and new labels coexist.`)}` +
    `-- Additive only: old code keeps working; new labels are usable once this has committed (PostgreSQL
-- refuses to use a label in the transaction that added it). Idempotent (IF NOT EXISTS).

-- migrate:up
DO $$
DECLARE
  labels text[] := breaking_migrations.enum_labels(${typeLit});
BEGIN
  IF NOT labels <@ ${arr(all)} OR NOT ${kept}::text[] <@ labels THEN
    RAISE EXCEPTION 'expand ${id}: ${typeInText} has labels % where ${fromList} '
                    '(or a state migration ${id} left) was expected', labels
      USING HINT = 'This database is not in the state migration ${id} starts from; '
                   'check \`make status MIGRATION=${id}\`.';
  END IF;
END $$;

${addValues(spec, added, spec.from).join('\n')}

-- migrate:down
-- Back to ${fromList}.
-- Refuses (and changes nothing) while any row holds ${added.join(' or ') || 'a new label'}.
SET LOCAL lock_timeout = '10s';
SELECT breaking_migrations.swap_enum(
  ${typeLit},
  ${arr(spec.from)},
  default_map => ${Object.keys(reverse).length ? json(reverse) : "'{}'"},
  context     => 'rollback of expand ${id}'
);
`;

  files[`db/${id}/contract/${spec.contract}.sql`] =
    `${head(`Contract: ${T} becomes exactly ${spec.to.join(', ')}${gone}.`)}` +
    `-- PostgreSQL has no DROP VALUE, so this swaps the type: every column of ${T} or ${T}[] in any schema is
-- converted in one transaction (NOT NULL and indexes kept; constant defaults follow the mapping).
-- It first checks the catalog and the data and refuses, changing nothing, when a row still holds
-- a removed label or an object (view, CHECK, partial index, function, trigger, policy, domain, …)
-- would break the swap. lock_timeout stops it from queueing behind a long transaction.

-- migrate:up
SET LOCAL lock_timeout = '10s';
SELECT breaking_migrations.swap_enum(
  ${typeLit},
  ${arr(spec.to)},
  default_map => ${mapText},
  context     => 'contract ${id}',
  hint        => 'Rows still holding ${removed.join(' or ') || 'an old label'}: run the mutation first '
                 '(\`make migrate-${id}\` does, or \`make verify-${id}\`). '
                 'Objects listed: drop them before the swap and recreate them after. '
                 'Then \`make contract MIGRATION=${id}\` again.'
);

-- migrate:down
-- Back to the expanded type: catalog only, never blocked by data.
${
  removed
    .map((l) => {
      const before = mapped[l] ?? spec.from.slice(spec.from.indexOf(l) + 1).find((x) => spec.to.includes(x));
      return `ALTER TYPE ${T} ADD VALUE IF NOT EXISTS ${lit(l)}${before ? ` BEFORE ${lit(before)}` : ''};`;
    })
    .join('\n') || 'SELECT 1; -- no label was removed'
}
`;

  const sql = (name: string, text: string) => (files[`sql/${id}/${name}.sql`] = text);
  sql(
    'preflight',
    `-- Would migration ${id} fail later? One row per reason; no row means go. Runs before maintenance
-- mode, with the toolkit's functions loaded, in a transaction that is rolled back.
-- Rows holding a label the mutation maps are not a problem (it maps them); rows holding a label
-- removed without a mapping are, and so is any object that would break the contract's swap.
WITH labels AS (SELECT breaking_migrations.enum_labels(${typeLit}) AS l)
SELECT format('${typeInText} has labels %s; migration ${id} starts from ${fromList} (or a state it left)', l)
       AS problem
FROM labels
WHERE NOT l <@ ${arr(all)} OR NOT ${kept}::text[] <@ l
UNION ALL
SELECT 'the contract would be refused: ' || problem
FROM breaking_migrations.enum_blockers(${typeLit}, ${arr(spec.to)},
                                       default_map => ${mapText}, row_map => ${mapText});
`,
  );
  sql(
    'lock',
    `-- Stop concurrent writes to every table with a column of ${T} (or ${T}[]) until the mutation's
-- transaction ends; reads go on. The caller sets lock_timeout: a long transaction holding one of
-- them makes this fail fast instead of queueing every query of the site behind it.
SELECT breaking_migrations.lock_enum_tables(${typeLit}, 'EXCLUSIVE') AS tables_locked;
`,
  );
  sql(
    'counts',
    `-- One scan of each table with a column of ${T} (or ${T}[]), in every schema: its rows, an
-- order-independent hash of every row's identity (primary key and NOT NULL unique columns), and
-- rows per label in each such column (arrays: elements per label, and rows holding each label).
-- One JSON value keyed by table: {"public.\\"T\\"": {"rows": …, "identity": …, "columns": {…}, "holding": {…}}}
SELECT breaking_migrations.enum_counts(${typeLit}) AS tables;
`,
  );
  sql(
    'mutation',
    `-- The data change of migration ${id}: ${
      Object.entries(mapped)
        .map(([a, b]) => `every ${a} becomes ${b}`)
        .join(', ') || 'no label is mapped'
    }, in every column of
-- ${T} and every element of every ${T}[] column, in every schema. Nothing else changes. One UPDATE
-- per column, of the rows holding a mapped label only; returns the rows each one changed.
SELECT table_name, column_name, updated
FROM breaking_migrations.map_enum_rows(${typeLit}, row_map => ${mapText});
`,
  );
  sql(
    'invariants',
    `-- The checks of migration ${id}, as data: one row per check with its expected and actual value;
-- any row where they differ rolls the mutation back. For every table with a column of ${T} and for
-- every such column (arrays: element by element), each label after = the labels that map to it
-- before, every label mapped away is gone, and rows updated = rows that held a mapped label; for
-- every table, its rows and every row's identity are unchanged; no column appears or vanishes.
-- $1 = counts.sql before, $2 = after (JSON); $3 = mutation.sql's rows updated as
-- {"table": {"column": n}}, NULL for the strategies that relabel without an UPDATE.
WITH map(old_label, new_label) AS (VALUES ${mapValues}),
     b AS (SELECT $1::jsonb -> 'tables' AS j), a AS (SELECT $2::jsonb -> 'tables' AS j), u AS (SELECT $3::jsonb AS j),
     tbl AS (SELECT t, b.j -> t AS bt, a.j -> t AS at FROM b, a,
             (SELECT jsonb_object_keys(b.j) AS t FROM b UNION SELECT jsonb_object_keys(a.j) FROM a) k),
     col AS (SELECT tbl.*, c, COALESCE(bt -> 'columns' -> c, '{}') AS bc, COALESCE(at -> 'columns' -> c, '{}') AS ac,
                    COALESCE(bt -> 'holding' -> c, '{}') AS bh, (bt -> 'holding') ? c AS is_array
             FROM tbl CROSS JOIN LATERAL (SELECT jsonb_object_keys(COALESCE(bt -> 'columns', '{}')) UNION
                                          SELECT jsonb_object_keys(COALESCE(at -> 'columns', '{}'))) AS k(c))
SELECT x.name AS check, x.expected AS expected, x.actual AS actual
FROM (
  SELECT 'tables and columns of ${T.replace(/'/g, "''")}' AS name,
         (SELECT string_agg(t || '.' || c, ', ' ORDER BY t, c) FROM col WHERE bt -> 'columns' ? c) AS expected,
         (SELECT string_agg(t || '.' || c, ', ' ORDER BY t, c) FROM col WHERE at -> 'columns' ? c) AS actual
  UNION ALL
  -- each label after the change: itself before, plus every label mapped to it
  SELECT format('%s.%s: %s after = %s', t, c, m.new_label,
                string_agg(m.old_label || ' before', ' + ' ORDER BY m.old_label <> m.new_label, m.old_label)),
         sum(COALESCE((bc ->> m.old_label)::int8, 0))::text, COALESCE(ac ->> m.new_label, '0')
  FROM col, (SELECT old_label, new_label FROM map WHERE new_label IS NOT NULL
             UNION SELECT new_label, new_label FROM map WHERE new_label IS NOT NULL) m
  GROUP BY t, c, ac, m.new_label
  UNION ALL
  -- every label mapped away (or removed) is gone
  SELECT format('%s.%s: no %s left', t, c, m.old_label), '0', COALESCE(ac ->> m.old_label, '0')
  FROM col, map m WHERE m.new_label IS DISTINCT FROM m.old_label
  UNION ALL
  SELECT format('%s.%s: NULL unchanged', t, c), COALESCE(bc ->> '', '0'), COALESCE(ac ->> '', '0') FROM col
  UNION ALL
  -- rows updated: a plain column's rows holding a mapped label; an array's rows holding one
  -- (at least the most held, at most their sum when a row may hold several)
  SELECT format('%s.%s: rows updated = rows holding a mapped label before', t, c),
         CASE WHEN NOT is_array THEN sum(COALESCE((bc ->> m.old_label)::int8, 0))::text ELSE 'true' END,
         CASE WHEN NOT is_array THEN COALESCE(u.j -> t ->> c, 'not updated')
              ELSE (COALESCE((u.j -> t ->> c)::int8, -1) BETWEEN COALESCE(max((bh ->> m.old_label)::int8), 0)
                                                             AND COALESCE(sum((bh ->> m.old_label)::int8), 0))::text END
  FROM col, u, map m WHERE u.j IS NOT NULL AND m.new_label IS NOT NULL AND m.new_label <> m.old_label
  GROUP BY t, c, is_array, u.j
  UNION ALL
  SELECT y.* FROM tbl, LATERAL (VALUES
    (format('%s: rows unchanged', t), bt ->> 'rows', at ->> 'rows'),
    (format('%s: identity of every row unchanged', t), bt ->> 'identity', at ->> 'identity')) AS y
) AS x;
`,
  );
  sql(
    'final_checks',
    `-- After the contract: ${T} is exactly ${spec.to.join(', ')} (kind 'schema'), and the data is what the
-- verifier committed (kind 'data'): every table with a column of ${T}, its rows, its rows' identity
-- and its rows per label, unchanged since. $1 = counts.sql's row after the mutation (JSON), $2 =
-- counts.sql now. Without committed counts both are '{}' and only the schema checks count (after
-- STRATEGY=rename, whose data was proved in the verifier's transaction). The runner enforces
-- 'data' checks when the write guard held other writers back since the mutation.
WITH v AS (SELECT COALESCE($1::jsonb -> 'tables', '{}') AS j),
     n AS (SELECT COALESCE($2::jsonb -> 'tables', '{}') AS j)
SELECT '${typeInText} labels, in order' AS check, 'schema' AS kind, ${lit(`{${spec.to.join(',')}}`)} AS expected,
       breaking_migrations.enum_labels(${typeLit})::text AS actual
UNION ALL
SELECT format('%s as committed', tb.key), 'data', tb.value::text, (n.j -> tb.key)::text
FROM v, n, jsonb_each(v.j) tb;
`,
  );
  sql(
    'status',
    `-- What \`make status MIGRATION=${id}\` shows besides dbmate's list (status.sql's contract: rows of
-- (item, detail)): the labels of ${T} in order, then every column of ${T} or ${T}[] in any table and
-- schema with its rows per label (arrays: elements). One scan per table; changes nothing.
WITH labels AS (SELECT array_agg(enumlabel::text ORDER BY enumsortorder) AS l
                FROM pg_enum WHERE enumtypid = to_regtype(${typeLit})),
     counts AS (SELECT t.key AS tbl, t.value AS v
                FROM jsonb_each(CASE WHEN to_regtype(${typeLit}) IS NOT NULL
                                     THEN breaking_migrations.enum_counts(${typeLit}) ELSE '{}' END) t)
SELECT '${typeInText} labels, in order' AS item,
       COALESCE(array_to_string(l, ', '), '(no ${typeInText} type)') AS detail
FROM labels
UNION ALL
(SELECT format('%s.%s%s', tbl, c.key, CASE WHEN v -> 'holding' ? c.key THEN ' (elements)' ELSE '' END),
        (SELECT string_agg(format('%s=%s', lbl, COALESCE(c.value ->> lbl, '0')), '  ' ORDER BY o)
         FROM labels, unnest(l) WITH ORDINALITY u(lbl, o))
 FROM counts, jsonb_each(v -> 'columns') c
 ORDER BY 1);
`,
  );
  const renameAvailable = isPureRename(spec)
    ? `breaking_migrations.enum_labels(${typeLit}) = ${arr(spec.from)}`
    : 'false';
  sql(
    'plan',
    `-- What \`make plan-${id}\` needs (plan.sql's contract: one row per column the migration changes, with
-- table_name, column_name, bytes, rows, rows_to_change, estimated_by, rename_available; see
-- sql/README.md), for every column of ${T} (or ${T}[]) in any table: the table's size, its rows and
-- the rows holding a label the mutation maps (${Object.keys(mapped).join(', ') || 'none'}), and whether the change is
-- still a pure rename.
-- Rows come from the planner's statistics (no scan); a table never analysed (reltuples = -1) is
-- sampled instead: about a thousand of its pages (TABLESAMPLE SYSTEM), scaled to its size.
WITH mapped AS (SELECT ${arr(Object.keys(mapped))}::text[] AS l),
cols AS (
  SELECT c.table_name, c.column_name, c.is_array, c.relid, cl.reltuples, cl.relname, n.nspname,
         GREATEST(1, pg_relation_size(c.relid) / current_setting('block_size')::int8) AS pages
  FROM breaking_migrations.enum_columns c
  JOIN pg_class cl ON cl.oid = c.relid
  JOIN pg_namespace n ON n.oid = cl.relnamespace
  WHERE c.enum_type = to_regtype(${typeLit})
),
sampled AS (
  SELECT cols.*, LEAST(100, 100.0 * 1000 / pages) AS percent,
         query_to_xml(format('SELECT count(*) AS n, count(*) FILTER (WHERE %s) AS u '
                             'FROM %s TABLESAMPLE SYSTEM (%s) REPEATABLE (1)',
                             CASE WHEN is_array THEN format('%I::text[] && %L::text[]', column_name, mapped.l)
                                  ELSE format('%I::text = ANY (%L::text[])', column_name, mapped.l) END,
                             table_name, LEAST(100, 100.0 * 1000 / pages)), false, true, '') AS x
  FROM cols, mapped WHERE reltuples < 0
)
SELECT c.table_name, c.column_name,
       pg_total_relation_size(c.relid)::int8 AS bytes,
       CASE WHEN c.reltuples >= 0 THEN c.reltuples::int8
            ELSE ((xpath('/row/n/text()', s.x))[1]::text::numeric * 100 / s.percent)::int8 END AS rows,
       CASE WHEN c.reltuples >= 0 THEN
              COALESCE((SELECT (SELECT sum(st.most_common_freqs[array_position(st.most_common_vals::text::text[], m)])
                                FROM unnest(mapped.l) m)
                               * c.reltuples FROM pg_stats st
                        WHERE st.schemaname = c.nspname AND st.tablename = c.relname
                          AND st.attname = c.column_name AND NOT c.is_array),
                       CASE WHEN cardinality(mapped.l) = 0 THEN 0 ELSE c.reltuples END)::int8
            ELSE ((xpath('/row/u/text()', s.x))[1]::text::numeric * 100 / s.percent)::int8 END AS rows_to_change,
       CASE WHEN c.reltuples >= 0 THEN 'planner statistics'
            ELSE format('a %s%% sample of its pages (never analysed)', round(s.percent, 1)) END AS estimated_by,
       ${renameAvailable} AS rename_available
FROM cols c CROSS JOIN mapped LEFT JOIN sampled s USING (relid, column_name)
ORDER BY c.table_name, c.column_name;
`,
  );
  sql(
    'rewrite',
    `-- STRATEGY=rewrite: the mutation folded into the contract's type swap. One table rewrite maps the
-- labels (USING CASE …) instead of an UPDATE followed by a rewrite. Runs inside the verifier's
-- transaction, between its two counts; the expand step has committed before it.
SELECT breaking_migrations.swap_enum(
  ${typeLit},
  ${arr(spec.to)},
  default_map => ${mapText},
  row_map     => ${mapText},
  context     => 'rewrite ${id}'
);
`,
  );
  return { ...files, ...(isPureRename(spec) ? renameFiles(id, spec, typeLit, T, mapped, added, head) : {}) };
}

function renameFiles(
  id: string,
  spec: EnumSpec,
  typeLit: string,
  T: string,
  mapped: Record<string, string>,
  added: string[],
  head: (what: string) => string,
): EnumFiles {
  const newOnes = added.filter((l) => !Object.values(mapped).includes(l));
  const renamedFrom = spec.from.map((l) => mapped[l] ?? l);
  const typeInText = T.replace(/'/g, "''");
  const fromList = spec.from.join(', ');
  const thenAdded = newOnes.length ? `, then ${newOnes.join(', ')} ${newOnes.length > 1 ? 'are' : 'is'} added` : '';
  return {
    [`sql/${id}/rename.sql`]: `-- STRATEGY=rename: ${Object.entries(mapped)
      .map(([a, b]) => `${a} is renamed ${b}`)
      .join(', ')} in the catalog (every row holding it now
-- reads the new name: same label, new name)${thenAdded}.
-- No row is written, no table is rewritten: the time does not grow with the tables. Only valid
-- from exactly ${fromList}; anything else is refused here, before any change (the runner also
-- tries this file in preflight).
DO $$
DECLARE labels text[] := breaking_migrations.enum_labels(${typeLit});
BEGIN
  IF labels IS DISTINCT FROM ${arr(spec.from)} THEN
    RAISE EXCEPTION 'rename ${id}: ${typeInText} has labels %, not ${fromList}: '
                    'the change is not a pure rename from here', labels
      USING HINT = 'Use the default strategy (STRATEGY unset), which handles every state.';
  END IF;
END $$;
${Object.entries(mapped)
  .map(([a, b]) => `ALTER TYPE ${T} RENAME VALUE ${lit(a)} TO ${lit(b)};`)
  .join('\n')}
${addValues(spec, newOnes, renamedFrom).join('\n')}
`,
    [`sql/${id}/rename_facts.sql`]:
      `${head("STRATEGY=rename's stand-in for counts.sql, read before and after rename.sql in the verifier's")}` +
      `-- transaction, without reading a row: each label of ${T} with its OID, and for every table with a
-- column of ${T} or ${T}[]: its file (a rewrite changes it), the rows this transaction wrote in it,
-- and whether this transaction holds lock.sql's EXCLUSIVE lock on it (nobody else writes it).
SELECT (SELECT jsonb_object_agg(enumlabel, oid::int8)::text FROM pg_enum
        WHERE enumtypid = breaking_migrations.resolve_enum(${typeLit}))   AS label_oids,
       breaking_migrations.enum_table_facts(${typeLit})                    AS tables;
`,
    [`sql/${id}/rename_invariants.sql`]: `-- STRATEGY=rename: invariants.sql's checks, proved from rename_facts.sql
-- instead of counted, for every column of ${T} at once. The argument: while this transaction
-- holds the EXCLUSIVE lock on every table with a column of ${T}, nobody else writes them; if it
-- wrote no row and rewrote no file either, every row still holds the label OID it held, so rows
-- per label after = rows per label before, read through the new names.
-- $1 = facts before, $2 = after (JSON), $3 = NULL. Any mismatch rolls back.
WITH facts AS (
       SELECT v.which, f.label_oids::jsonb AS oids,
              (SELECT jsonb_object_agg(key, value -> 'filenode') FROM jsonb_each(f.tables))::text AS filenode,
              (SELECT COALESCE(sum((value ->> 'rows_written')::int8), 0) FROM jsonb_each(f.tables)) AS rows_written,
              (SELECT COALESCE(bool_and((value ->> 'writers_locked')::boolean), false)
               FROM jsonb_each(f.tables)) AS locked
       FROM (VALUES ($1::jsonb, 'before'), ($2::jsonb, 'after')) AS v(j, which),
            jsonb_to_record(v.j) AS f(label_oids text, tables jsonb)),
     b AS (SELECT * FROM facts WHERE which = 'before'), a AS (SELECT * FROM facts WHERE which = 'after')
SELECT c.name AS check, c.expected AS expected, c.actual AS actual
FROM a, b, LATERAL (VALUES
${[
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
  ...newOnes.map(
    (l) => `  (${lit(`${l} unchanged (0: a new label OID)`)}, 'new',
     CASE WHEN b.oids ? ${lit(l)} THEN 'existed before' WHEN NOT a.oids ? ${lit(l)} THEN 'missing'
          WHEN EXISTS (SELECT FROM jsonb_each_text(b.oids) e WHERE e.value = a.oids ->> ${lit(l)})
          THEN 'an old label OID' ELSE 'new' END)`,
  ),
  `  ('rows updated = 0 (no row written: relabelled in the catalog)', '0',
     (a.rows_written + COALESCE($3::int8, 0))::text)`,
  `  ('rows unchanged (no row written, other writers locked out)', 'true',
     (a.rows_written = 0 AND b.locked AND a.locked)::text)`,
  `  ('identity of every row unchanged (no rewrite: same files)', b.filenode, a.filenode)`,
].join(',\n')}
) AS c(name, expected, actual);
`,
  };
}

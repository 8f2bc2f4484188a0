-- The toolkit's helpers for a data change on every column of an enum, wherever it is used.
-- Prisma reuses an enum across models: "Role" may be "User".role, "Invite".role (DEFAULT 'USER')
-- and "Team".roles ("Role"[]). A migration that maps labels must map them in every such column,
-- in every schema, and check each one:
--
--   breaking_migrations.enum_tables(type)          each table with a column of the enum or its
--                                                  array, and the columns that identify a row
--   breaking_migrations.lock_enum_tables(type, m)  lock all of them (writers wait), in name order
--   breaking_migrations.enum_counts(type)          ONE scan per table: rows, a hash of every row's
--                                                  identity, and rows per label in each column, with
--                                                  the hash of the identities of those rows
--   breaking_migrations.map_enum_rows(type, map)   UPDATE each column through a label map
--   breaking_migrations.enum_table_facts(type)     for a catalog-only change: each table's file,
--                                                  rows written by this transaction, lock held

-- migrate:up
-- An earlier release's versions of these functions were dropped by the toolkit's first file.
CREATE OR REPLACE FUNCTION breaking_migrations.enum_tables(type_name text)
RETURNS TABLE (relid oid, table_name text, columns text[], is_array boolean[], identity_columns text[])
LANGUAGE sql STABLE AS $$
  WITH cols AS (
    SELECT c.relid, c.table_name, array_agg(c.column_name ORDER BY c.attnum) AS columns,
           array_agg(c.is_array ORDER BY c.attnum) AS is_array
    FROM breaking_migrations.enum_columns c
    WHERE c.enum_type = breaking_migrations.resolve_enum(type_name)
    GROUP BY c.relid, c.table_name
  )
  SELECT cols.relid, cols.table_name, cols.columns, cols.is_array,
         -- A row's identity: its primary key and NOT NULL unique columns ("User": id and email);
         -- a table without such keys: every other column. The enum's own columns never count.
         COALESCE(
           (SELECT array_agg(k.attname ORDER BY k.attnum) FROM (
              SELECT DISTINCT a.attnum, a.attname::text AS attname
              FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
              WHERE i.indrelid = cols.relid AND i.indpred IS NULL AND i.indexprs IS NULL
                AND (i.indisprimary OR (i.indisunique AND a.attnotnull))
                AND a.attname::text <> ALL (cols.columns)) k),
           (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
            WHERE a.attrelid = cols.relid AND a.attnum > 0 AND NOT a.attisdropped
              AND a.attname::text <> ALL (cols.columns)),
           '{}') AS identity_columns
  FROM cols;
$$;

CREATE OR REPLACE FUNCTION breaking_migrations.lock_enum_tables(type_name text, lock_mode text DEFAULT 'EXCLUSIVE')
RETURNS int
LANGUAGE plpgsql AS $$
DECLARE tbl record; n int := 0;
BEGIN
  IF lock_mode NOT IN ('EXCLUSIVE', 'ACCESS EXCLUSIVE') THEN
    RAISE EXCEPTION 'lock_enum_tables: lock mode % is not EXCLUSIVE or ACCESS EXCLUSIVE', lock_mode;
  END IF;
  -- Always in the same order, so that two such transactions cannot deadlock.
  FOR tbl IN SELECT table_name FROM breaking_migrations.enum_tables(type_name) ORDER BY table_name LOOP
    EXECUTE format('LOCK TABLE %s IN %s MODE', tbl.table_name, lock_mode);
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;

-- One scan per table. The result, per table:
--   {"rows": 200, "identity": "-8123…", "columns": {"role": {"USER": 180, "ADMIN": 20}},
--    "identities": {"role": {"USER": "-5120…", "ADMIN": "-3003…"}}, "holding": {"roles": {"USER": 7}},
--    "nulls": {"roles": "-1234…"}}
-- "columns" counts values (array elements, for an array column; NULL counts under ""),
-- "identities" sums, per column and label, the identity hash of the rows holding it (of each
-- element's row, for an array): the mutation's checks compare them to prove WHICH rows hold each
-- label after, not only how many; "holding" counts, for array columns, the rows whose array
-- holds each label; "nulls", for array columns, the sum of the identity hashes of the rows whose
-- array is NULL ("0": none), which an empty array would otherwise pass for. Every array column has
-- a key in both, so that the checks know it for an array even when no row holds an element.
CREATE OR REPLACE FUNCTION breaking_migrations.enum_counts(type_name text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  t regtype := breaking_migrations.resolve_enum(type_name);
  tbl record;
  identity text;
  branches text[];
  counted jsonb;
  result jsonb := '{}';
BEGIN
  FOR tbl IN SELECT * FROM breaking_migrations.enum_tables(type_name) ORDER BY table_name LOOP
    -- The identity columns hashed as a record (no text per row: three times faster) when each is
    -- of a common type with a hash function; otherwise (json, geometric types…) as the row's text.
    identity := format(
      CASE WHEN NOT EXISTS (
             SELECT FROM pg_attribute a
             WHERE a.attrelid = tbl.relid AND a.attname::text = ANY (tbl.identity_columns)
               AND a.atttypid::regtype::text NOT IN ('text', 'character varying', 'character', 'smallint',
                   'integer', 'bigint', 'numeric', 'uuid', 'date', 'timestamp without time zone',
                   'timestamp with time zone', 'bytea', 'boolean'))
           THEN 'hash_record_extended(ROW(%s), 0)' ELSE 'hashtextextended(ROW(%s)::text, 0)' END,
      COALESCE((SELECT string_agg(format('t.%I', c), ', ') FROM unnest(tbl.identity_columns) c), ''));
    IF cardinality(tbl.columns) = 1 AND NOT tbl.is_array[1] THEN
      -- The common case, one plain column: group by the stored label itself (no text per row).
      EXECUTE format($q$
        SELECT jsonb_build_object('rows', COALESCE(sum(n), 0), 'identity', COALESCE(sum(h), 0)::text,
                                  'columns', jsonb_build_object(%1$L,
                                               COALESCE(jsonb_object_agg(COALESCE(l::text, ''), n), '{}')),
                                  'identities', jsonb_build_object(%1$L,
                                               COALESCE(jsonb_object_agg(COALESCE(l::text, ''), h::text), '{}')),
                                  'holding', '{}'::jsonb)
        FROM (SELECT t.%2$I AS l, count(*) AS n, sum(%3$s) AS h FROM %4$s t GROUP BY t.%2$I) g$q$,
        tbl.columns[1], tbl.columns[1], identity, tbl.table_name) INTO counted;
    ELSE
      -- Several columns, or arrays: each row yields its identity (hashed once, i.h: OFFSET 0 keeps
      -- the planner from copying the expression into every branch), then one entry per value.
      branches := ARRAY[format('SELECT NULL::text AS col, NULL::%s AS l, i.h', t)];
      FOR i IN 1 .. cardinality(tbl.columns) LOOP
        IF tbl.is_array[i] THEN
          branches := branches
            || format('SELECT %L, e, i.h FROM unnest(t.%I) e', tbl.columns[i], tbl.columns[i])
            || format('SELECT %L, e, NULL FROM (SELECT DISTINCT unnest(t.%I)) d(e)',
                      '#' || tbl.columns[i], tbl.columns[i])
            -- a NULL array and an empty one both unnest to nothing: the NULL ones counted apart
            || format('SELECT %L, NULL, i.h WHERE t.%I IS NULL', '!' || tbl.columns[i], tbl.columns[i]);
        ELSE
          branches := branches || format('SELECT %L, t.%I, i.h', tbl.columns[i], tbl.columns[i]);
        END IF;
      END LOOP;
      EXECUTE format($q$
        WITH g AS (SELECT x.col, x.l, count(*) AS n, sum(x.h) AS h
                   FROM %1$s t CROSS JOIN LATERAL (SELECT %4$s AS h OFFSET 0) i CROSS JOIN LATERAL (%2$s) x
                   GROUP BY x.col, x.l),
             c AS (SELECT col, jsonb_object_agg(COALESCE(l::text, ''), n) AS labels,
                          jsonb_object_agg(COALESCE(l::text, ''), h::text) AS ids
                   FROM g WHERE col IS NOT NULL GROUP BY col)
        SELECT jsonb_build_object(
          'rows', COALESCE((SELECT n FROM g WHERE col IS NULL), 0),
          'identity', COALESCE((SELECT h FROM g WHERE col IS NULL), 0)::text,
          'columns', (SELECT jsonb_object_agg(col, COALESCE((SELECT labels FROM c WHERE c.col = k), '{}'))
                      FROM unnest(%3$L::text[]) k(col)),
          'identities', (SELECT jsonb_object_agg(col, COALESCE((SELECT ids FROM c WHERE c.col = k), '{}'))
                         FROM unnest(%3$L::text[]) k(col)),
          -- every array column has both keys, even when no row holds an element or none is NULL
          'holding', COALESCE((SELECT jsonb_object_agg(k, COALESCE((SELECT labels FROM c WHERE c.col = '#' || k), '{}'))
                               FROM unnest(%5$L::text[]) k), '{}'),
          'nulls', COALESCE((SELECT jsonb_object_agg(k, COALESCE((SELECT ids -> '' FROM c WHERE c.col = '!' || k),
                                                                  '"0"'))
                             FROM unnest(%5$L::text[]) k), '{}'))$q$,
        tbl.table_name, array_to_string(branches, ' UNION ALL '), tbl.columns, identity,
        (SELECT array_agg(c) FROM unnest(tbl.columns, tbl.is_array) AS u(c, a) WHERE a)) INTO counted;
    END IF;
    result := result || jsonb_build_object(tbl.table_name, counted);
  END LOOP;
  RETURN result;
END $$;

-- Maps labels in every column of the enum (and its arrays) through row_map ({"USER": "EMPLOYEE"}),
-- one UPDATE per column, touching only the rows that hold a mapped label. Returns the rows
-- each UPDATE changed. The new labels must already be committed (55P04 otherwise).
CREATE OR REPLACE FUNCTION breaking_migrations.map_enum_rows(type_name text, row_map jsonb)
RETURNS TABLE (table_name text, column_name text, updated int8)
LANGUAGE plpgsql AS $$
DECLARE
  t regtype := breaking_migrations.resolve_enum(type_name);
  col record;
  old_labels text := (SELECT array_agg(k)::text FROM jsonb_object_keys(row_map) k);
  expr text;
  pair record;
BEGIN
  IF row_map = '{}' THEN RETURN; END IF;
  FOR col IN SELECT * FROM breaking_migrations.enum_columns c WHERE c.enum_type = t ORDER BY c.table_name, c.attnum LOOP
    IF col.is_array THEN
      expr := format('%I', col.column_name);
      FOR pair IN SELECT key, value FROM jsonb_each_text(row_map) LOOP
        expr := format('array_replace(%s, %L::%s, %L::%s)', expr, pair.key, t, pair.value, t);
      END LOOP;
      EXECUTE format('UPDATE %s SET %I = %s WHERE %I && %L::%s[]',
                     col.table_name, col.column_name, expr, col.column_name, old_labels, t);
    ELSIF (SELECT count(*) FROM jsonb_object_keys(row_map)) = 1 THEN
      -- One label mapped (0001's USER -> EMPLOYEE): the plain statement a DBA would write.
      SELECT key, value INTO pair FROM jsonb_each_text(row_map);
      EXECUTE format('UPDATE %s SET %I = %L::%s WHERE %I = %L::%s', col.table_name, col.column_name,
                     pair.value, t, col.column_name, pair.key, t);
    ELSE
      expr := (SELECT string_agg(format('WHEN %L::%s THEN %L::%s', key, t, value, t), ' ')
               FROM jsonb_each_text(row_map));
      EXECUTE format('UPDATE %s SET %I = CASE %I %s END WHERE %I = ANY (%L::%s[])', col.table_name, col.column_name,
                     col.column_name, expr, col.column_name, old_labels, t);
    END IF;
    table_name := col.table_name;
    column_name := col.column_name;
    GET DIAGNOSTICS updated = ROW_COUNT;
    RETURN NEXT;
  END LOOP;
END $$;

-- For a change that writes no row (a catalog-only rename): facts that prove it, per table,
-- read without a scan: its file (a rewrite changes it), the rows this transaction inserted,
-- updated or deleted in it, and whether this transaction holds a lock that keeps writers out.
CREATE OR REPLACE FUNCTION breaking_migrations.enum_table_facts(type_name text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
  SELECT COALESCE(jsonb_object_agg(e.table_name, jsonb_build_object(
           'filenode', pg_relation_filenode(e.relid),
           'rows_written', pg_stat_get_xact_tuples_inserted(e.relid) + pg_stat_get_xact_tuples_updated(e.relid)
                           + pg_stat_get_xact_tuples_deleted(e.relid),
           'writers_locked', EXISTS (SELECT FROM pg_locks l WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation'
                                     AND l.granted AND l.relation = e.relid
                                     AND l.mode IN ('ExclusiveLock', 'AccessExclusiveLock')))),
         '{}')
  FROM breaking_migrations.enum_tables(type_name) e;
$$;

-- migrate:down
DROP FUNCTION breaking_migrations.enum_table_facts(text);
DROP FUNCTION breaking_migrations.map_enum_rows(text, jsonb);
DROP FUNCTION breaking_migrations.enum_counts(text);
DROP FUNCTION breaking_migrations.lock_enum_tables(text, text);
DROP FUNCTION breaking_migrations.enum_tables(text);

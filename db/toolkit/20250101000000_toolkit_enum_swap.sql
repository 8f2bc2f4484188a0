-- The toolkit's helpers, in their own schema so that Prisma's drift check never sees them.
--
--   breaking_migrations.enum_labels(type)      labels of an enum, in sort order
--   breaking_migrations.enum_blockers(...)     everything that would stop a type swap (read-only)
--   breaking_migrations.swap_enum(...)         replace an enum by one with other labels
--
-- PostgreSQL has no ALTER TYPE ... DROP VALUE. Removing a label means: rename the old type,
-- create the new one, convert every column that uses it, drop the old one. That swap fails,
-- often half way into a long rewrite, on objects that embed the old type; so we look for all
-- of them in the catalog first and refuse, naming each one, before anything changes.

-- migrate:up
CREATE SCHEMA IF NOT EXISTS breaking_migrations;

-- An earlier release's toolkit functions go first, this file's and the next's, whatever their
-- signatures: a signature that changed would otherwise stay beside the new one, and calls would
-- become ambiguous. Every function of the schema is the toolkit's but the app's report_instance
-- (sql/app_instances.sql). The toolkit's files, run in order, replace them all and can run again
-- (bin/lib/runbook/toolkit.ts); two sessions doing so at once take turns (the lock lasts until
-- their transaction ends).
SELECT pg_advisory_xact_lock(hashtext('breaking_migrations.toolkit'));
DO $$
DECLARE f text;
BEGIN
  FOR f IN SELECT p.oid::regprocedure::text FROM pg_proc p
           WHERE p.pronamespace = to_regnamespace('breaking_migrations') AND p.proname <> 'report_instance' LOOP
    EXECUTE format('DROP FUNCTION IF EXISTS %s', f);
  END LOOP;
END $$;
DROP VIEW IF EXISTS breaking_migrations.enum_columns;

CREATE OR REPLACE FUNCTION breaking_migrations.resolve_enum(type_name text) RETURNS regtype
LANGUAGE plpgsql STABLE AS $$
DECLARE t regtype := to_regtype(type_name);
BEGIN
  IF t IS NULL OR NOT EXISTS (SELECT 1 FROM pg_type WHERE oid = t AND typtype = 'e') THEN
    RAISE EXCEPTION 'enum type % does not exist in this database (search_path: %)',
      type_name, current_setting('search_path')
      USING HINT = 'Check that DATABASE_URL points at the application database.';
  END IF;
  RETURN t;
END $$;

CREATE OR REPLACE FUNCTION breaking_migrations.enum_labels(type_name text) RETURNS text[]
LANGUAGE sql STABLE AS $$
  SELECT array_agg(enumlabel::text ORDER BY enumsortorder)
  FROM pg_enum WHERE enumtypid = breaking_migrations.resolve_enum(type_name);
$$;

-- Columns of a table (or partitioned table) whose type is the enum or an array of it.
-- Inherited columns are left out: converting the parent converts them.
CREATE OR REPLACE VIEW breaking_migrations.enum_columns AS
SELECT e.oid AS enum_type, c.oid AS relid, a.attnum, a.attname::text AS column_name,
       format('%I.%I', n.nspname, c.relname) AS table_name,
       (a.atttypid = e.typarray) AS is_array,
       pg_get_expr(d.adbin, d.adrelid) AS default_expr,
       a.attgenerated <> '' AS is_generated
FROM pg_type e
JOIN pg_attribute a ON a.atttypid IN (e.oid, e.typarray) AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_class c ON c.oid = a.attrelid AND c.relkind IN ('r', 'p')
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE e.typtype = 'e' AND a.attinhcount = 0;

-- Labels of a default that is a plain constant ('X'::"Role" or '{X,Y}'::"Role"[]); NULL when the
-- default is an expression we cannot carry across safely.
CREATE OR REPLACE FUNCTION breaking_migrations.default_labels(expr text, is_array boolean) RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN expr IS NULL THEN '{}'::text[]
    WHEN NOT is_array AND expr ~ '^''[^'']*''::' THEN ARRAY[substring(expr FROM '^''([^'']*)''::')]
    WHEN is_array AND expr ~ '^''\{[^'']*\}''::' THEN substring(expr FROM '^''(\{[^'']*\})''::')::text[]
  END;
$$;

-- Everything that stops replacing `type_name` by an enum with `new_labels`. Read-only.
--   kind: data | default | dependency
--   default_map: old label -> new label, for column defaults (DEFAULT 'USER' -> DEFAULT 'EMPLOYEE')
--   row_map:     old label -> new label, applied to the rows by the swap itself
CREATE OR REPLACE FUNCTION breaking_migrations.enum_blockers(
  type_name text, new_labels text[], default_map jsonb DEFAULT '{}', row_map jsonb DEFAULT '{}',
  check_rows boolean DEFAULT true  -- false: the catalog's blockers only (no scan)
) RETURNS TABLE (kind text, object text, problem text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  t regtype := breaking_migrations.resolve_enum(type_name);
  t_array oid := (SELECT typarray FROM pg_type WHERE oid = t);
  removed text[] := ARRAY(SELECT l FROM unnest(breaking_migrations.enum_labels(type_name)) l
                          WHERE l <> ALL (new_labels) AND NOT row_map ? l);
  col record;
  n bigint;
  labels text[];
BEGIN
  -- 1. Rows that still hold a removed label (one count per column).
  IF check_rows AND cardinality(removed) > 0 THEN
    FOR col IN SELECT * FROM breaking_migrations.enum_columns WHERE enum_type = t LOOP
      -- How many rows, and which of the removed labels they hold (in the type's order).
      EXECUTE format(
        CASE WHEN col.is_array THEN
          -- one constant, continued on the next line (adjacent literals separated by a newline)
          'SELECT count(*), (SELECT array_agg(DISTINCT x) FROM %1$s, unnest(%2$I::text[]) x WHERE x = ANY ($1)) '
          'FROM %1$s WHERE %2$I::text[] && $1'
        ELSE
          -- compared as the enum, not as text: no label is turned into text per row
          'SELECT COALESCE(sum(n), 0), array_agg(l) '
          'FROM (SELECT %2$I::text AS l, count(*) AS n FROM %1$s WHERE %2$I = ANY ($1::text[]::%3$s[]) GROUP BY %2$I) g'
        END,
        col.table_name, col.column_name, t) INTO n, labels USING removed;
      IF n > 0 THEN
        kind := 'data'; object := format('%s.%I', col.table_name, col.column_name);
        problem := format('%s %s %s in %s', n, CASE WHEN n = 1 THEN 'row still holds' ELSE 'rows still hold' END,
                          array_to_string(ARRAY(SELECT l FROM unnest(removed) l WHERE l = ANY (labels)), ' or '),
                          object);
        RETURN NEXT;
      END IF;
    END LOOP;
  END IF;

  -- 2. Column defaults: constants are carried across through default_map; anything else blocks.
  FOR col IN SELECT * FROM breaking_migrations.enum_columns
             WHERE enum_type = t AND (default_expr IS NOT NULL OR is_generated) LOOP
    object := format('%s.%I', col.table_name, col.column_name);
    kind := 'default';
    IF col.is_generated THEN
      kind := 'dependency';
      problem := format('generated column %s is of type %s; drop it before the swap and recreate it after',
                        object, t);
      RETURN NEXT; CONTINUE;
    END IF;
    labels := breaking_migrations.default_labels(col.default_expr, col.is_array);
    IF labels IS NULL THEN
      problem := format('default of %s is an expression (%s); drop it before the swap and set it again after',
                        object, col.default_expr);
      RETURN NEXT;
    ELSIF EXISTS (SELECT 1 FROM unnest(labels) l WHERE COALESCE(default_map ->> l, l) <> ALL (new_labels)) THEN
      problem := format('default of %s (%s) holds a label the new type lacks; change the default first',
                        object, col.default_expr);
      RETURN NEXT;
    END IF;
  END LOOP;

  -- 3. Objects that depend on a converted column, or on the type itself, and would break.
  RETURN QUERY
  WITH cols AS (SELECT relid, attnum FROM breaking_migrations.enum_columns WHERE enum_type = t),
  deps AS (
    -- on a column of the type
    SELECT d.classid, d.objid, d.objsubid, cols.relid, cols.attnum
    FROM pg_depend d
    JOIN cols ON d.refclassid = 'pg_class'::regclass AND d.refobjid = cols.relid AND d.refobjsubid = cols.attnum
    WHERE d.deptype IN ('n', 'a')
    UNION
    -- on the type or its array type
    SELECT d.classid, d.objid, d.objsubid, NULL, NULL
    FROM pg_depend d
    WHERE d.refclassid = 'pg_type'::regclass AND d.refobjid IN (t, t_array) AND d.deptype = 'n'
  )
  , named AS (
    -- One name per object a person would drop: a view rather than its rewrite rule or columns,
    -- a generated column rather than its generation expression.
    SELECT deps.*, CASE
        WHEN deps.classid = 'pg_rewrite'::regclass THEN
          (SELECT pg_describe_object('pg_class'::regclass, r.ev_class, 0) FROM pg_rewrite r WHERE r.oid = deps.objid)
        WHEN deps.classid = 'pg_class'::regclass AND deps.objsubid > 0 AND
             (SELECT relkind FROM pg_class WHERE oid = deps.objid) IN ('v', 'm', 'c', 'f') THEN
          pg_describe_object(deps.classid, deps.objid, 0)
        WHEN deps.classid = 'pg_attrdef'::regclass THEN
          (SELECT format('generated column %I of table %s', g.attname, g.attrelid::regclass)
           FROM pg_attrdef x JOIN pg_attribute g ON g.attrelid = x.adrelid AND g.attnum = x.adnum
           WHERE x.oid = deps.objid)
        ELSE pg_describe_object(deps.classid, deps.objid, deps.objsubid)
      END AS name,
      CASE WHEN deps.relid IS NULL THEN format('type %s', t)
           ELSE format('column %s.%I', deps.relid::regclass,
                       (SELECT attname FROM pg_attribute WHERE attrelid = deps.relid AND attnum = deps.attnum))
      END AS target
    FROM deps
  )
  SELECT 'dependency'::text, deps.name,
         format('%s depends on %s; drop it before the swap and recreate it after',
                deps.name, string_agg(DISTINCT deps.target, ' and '))
  FROM named deps
  LEFT JOIN pg_class k ON deps.classid = 'pg_class'::regclass AND k.oid = deps.objid
  LEFT JOIN pg_index i ON i.indexrelid = k.oid
  LEFT JOIN pg_constraint con ON deps.classid = 'pg_constraint'::regclass AND con.oid = deps.objid
  LEFT JOIN pg_attrdef ad ON deps.classid = 'pg_attrdef'::regclass AND ad.oid = deps.objid
  WHERE NOT COALESCE((  -- COALESCE: a LEFT JOIN miss makes a test NULL, which means "not excused"
        -- the converted columns themselves (a table's column depends on its type)
        (k.relkind IN ('r', 'p') AND deps.objsubid > 0
         AND (deps.objid, deps.objsubid::smallint) IN (SELECT relid, attnum FROM cols))
        -- inherited columns (partitions, child tables) follow their parent's conversion
     OR (k.relkind IN ('r', 'p') AND deps.objsubid > 0 AND EXISTS (SELECT 1 FROM pg_attribute ia
          WHERE ia.attrelid = deps.objid AND ia.attnum = deps.objsubid AND ia.attinhcount > 0))
        -- the table itself (e.g. its partition key is checked below)
     OR (k.relkind IN ('r', 'p') AND deps.objsubid = 0)
        -- plain indexes are rebuilt by ALTER COLUMN TYPE
     OR (i.indexrelid IS NOT NULL AND i.indexprs IS NULL AND i.indpred IS NULL)
        -- primary key and unique constraints come with their (plain) index
     OR (con.contype IN ('p', 'u'))
        -- a converted column's own default: handled in step 2
     OR (ad.oid IS NOT NULL AND (ad.adrelid, ad.adnum) IN (SELECT relid, attnum FROM cols)
         AND NOT EXISTS (SELECT 1 FROM pg_attribute g
                         WHERE g.attrelid = ad.adrelid AND g.attnum = ad.adnum AND g.attgenerated <> ''))
        -- extended statistics are rebuilt
     OR deps.classid = 'pg_statistic_ext'::regclass
  ), false)
  GROUP BY deps.name;

  -- 4. Partition keys on a converted column.
  RETURN QUERY
  SELECT 'dependency'::text, format('partition key of %s', p.partrelid::regclass),
         format('%s.%I is part of the partition key of %s; the type of a partition key cannot change',
                p.partrelid::regclass, c.column_name, p.partrelid::regclass)
  FROM pg_partitioned_table p
  JOIN breaking_migrations.enum_columns c ON c.relid = p.partrelid AND c.attnum = ANY (p.partattrs)
  WHERE c.enum_type = t;
END $$;

-- Replace enum `type_name` by one whose labels are exactly `new_labels`, in that order.
-- Converts every column of the type or of its array type (any schema), keeps NOT NULL and
-- indexes, carries constant defaults across through default_map, maps rows through row_map.
-- Refuses with the full list of blockers before changing anything. Runs in the caller's
-- transaction: an error anywhere rolls the whole swap back.
CREATE OR REPLACE FUNCTION breaking_migrations.swap_enum(
  type_name text, new_labels text[], default_map jsonb DEFAULT '{}', row_map jsonb DEFAULT '{}',
  context text DEFAULT 'swap', hint text DEFAULT 'Fix each object listed, then run again.'
) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  t regtype := breaking_migrations.resolve_enum(type_name);
  nsp name; typ name; old_name text; owner_name name; type_comment text;
  problems text[];
  tbl record; col record;
  clauses text[];
  expr text;
  labels text[];
  new_default text;
  converted int := 0;
  old_labels text[] := breaking_migrations.enum_labels(type_name);
BEGIN
  SELECT n.nspname, ty.typname, pg_get_userbyid(ty.typowner), obj_description(ty.oid, 'pg_type')
    INTO nsp, typ, owner_name, type_comment
  FROM pg_type ty JOIN pg_namespace n ON n.oid = ty.typnamespace WHERE ty.oid = t;

  IF old_labels = new_labels THEN
    RETURN format('%s: %s already has labels %s; nothing to do', context, t, new_labels);
  END IF;

  -- Lock every table to convert first, so that no row can change between the checks and the
  -- rewrite.
  FOR tbl IN SELECT DISTINCT table_name FROM breaking_migrations.enum_columns WHERE enum_type = t LOOP
    EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', tbl.table_name);
  END LOOP;

  -- The catalog's blockers first. The rows' (a removed label still held) are counted only when
  -- the list is not empty anyway, or when the rewrite meets such a row: its text cast raises on
  -- it (below). That saves a scan of every table on the way that passes, the one that matters:
  -- the verifier has just proved the rows, and the lock keeps writers out since.
  SELECT array_agg(b.problem ORDER BY b.kind, b.problem) INTO problems
  FROM breaking_migrations.enum_blockers(type_name, new_labels, default_map, row_map, check_rows => false) b;
  IF problems IS NOT NULL THEN
    SELECT array_agg(b.problem ORDER BY b.kind, b.problem) INTO problems
    FROM breaking_migrations.enum_blockers(type_name, new_labels, default_map, row_map) b;
    -- Every problem goes in the message itself: dbmate prints the message and drops DETAIL.
    RAISE EXCEPTION '%: refused, nothing changed: %', context, array_to_string(problems, '; ')
      USING HINT = hint; -- the migration's own next step (the runner shows it as `next:`)
  END IF;

  old_name := left(typ || '__bm_old', 63);
  EXECUTE format('ALTER TYPE %I.%I RENAME TO %I', nsp, typ, old_name);
  EXECUTE format('CREATE TYPE %I.%I AS ENUM (%s)', nsp, typ,
                 (SELECT string_agg(quote_literal(l), ', ' ORDER BY o)
                  FROM unnest(new_labels) WITH ORDINALITY u(l, o)));
  EXECUTE format('ALTER TYPE %I.%I OWNER TO %I', nsp, typ, owner_name);
  IF type_comment IS NOT NULL THEN
    EXECUTE format('COMMENT ON TYPE %I.%I IS %L', nsp, typ, type_comment);
  END IF;

  -- One ALTER TABLE per table, so that a table with several such columns is rewritten once.
  BEGIN
    FOR tbl IN SELECT table_name, array_agg(c ORDER BY attnum) AS cols
               FROM breaking_migrations.enum_columns c WHERE enum_type = t::oid GROUP BY table_name LOOP
      clauses := '{}';
      FOR col IN SELECT * FROM unnest(tbl.cols) LOOP
        IF col.default_expr IS NOT NULL THEN
          clauses := clauses || format('ALTER COLUMN %I DROP DEFAULT', col.column_name);
        END IF;
        IF col.is_array THEN
          expr := format('%I::text[]', col.column_name);
          FOR labels IN SELECT ARRAY[key, value] FROM jsonb_each_text(row_map) LOOP
            expr := format('array_replace(%s, %L, %L)', expr, labels[1], labels[2]);
          END LOOP;
          clauses := clauses || format('ALTER COLUMN %I TYPE %I.%I[] USING %s::%I.%I[]',
                                       col.column_name, nsp, typ, expr, nsp, typ);
        ELSE
          -- Each stored label compared as the enum value it is and given its new label as a constant:
          -- cheaper per row than the label's text and back (13 % of the rewrite at 1M rows). Any other
          -- value takes the text road, where a label the new type lacks raises instead of becoming NULL.
          expr := (SELECT string_agg(format('WHEN %L THEN %L::%I.%I', l, COALESCE(row_map ->> l, l), nsp, typ), ' ')
                   FROM unnest(old_labels) l WHERE COALESCE(row_map ->> l, l) = ANY (new_labels));
          expr := CASE WHEN expr IS NULL THEN format('(%I::text)::%I.%I', col.column_name, nsp, typ)
                       ELSE format('CASE %I %s ELSE (%I::text)::%I.%I END', col.column_name, expr,
                                   col.column_name, nsp, typ) END;
          clauses := clauses || format('ALTER COLUMN %I TYPE %I.%I USING %s', col.column_name, nsp, typ, expr);
        END IF;
        IF col.default_expr IS NOT NULL THEN
          labels := ARRAY(SELECT COALESCE(default_map ->> l, l)
                          FROM unnest(breaking_migrations.default_labels(col.default_expr, col.is_array)) l);
          new_default := CASE WHEN col.is_array THEN format('%L::%I.%I[]', labels::text, nsp, typ)
                              ELSE format('%L::%I.%I', labels[1], nsp, typ) END;
          clauses := clauses || format('ALTER COLUMN %I SET DEFAULT %s', col.column_name, new_default);
        END IF;
        converted := converted + 1;
      END LOOP;
      EXECUTE format('ALTER TABLE %s %s', tbl.table_name, array_to_string(clauses, ', '));
    END LOOP;
  EXCEPTION WHEN invalid_text_representation THEN
    -- A row holds a label the new type lacks. The rewrites are undone; the rows are counted on
    -- the old type (its columns are back to it, under the same locks), then nothing is kept.
    SELECT array_agg(b.problem ORDER BY b.problem) INTO problems
    FROM breaking_migrations.enum_blockers(format('%I.%I', nsp, old_name), new_labels, default_map, row_map) b
    WHERE b.kind = 'data';
    IF problems IS NULL THEN RAISE; END IF;
    RAISE EXCEPTION '%: refused, nothing changed: %', context, array_to_string(problems, '; ')
      USING HINT = hint;
  END;

  EXECUTE format('DROP TYPE %I.%I', nsp, old_name);
  -- By name: t is the old type's OID, gone by now.
  RETURN format('%s: %I.%I now has labels %s; %s column(s) converted', context, nsp, typ, new_labels, converted);
END $$;

-- migrate:down
-- The schema stays: dbmate keeps its own table there.
DROP FUNCTION breaking_migrations.swap_enum(text, text[], jsonb, jsonb, text, text);
DROP FUNCTION breaking_migrations.enum_blockers(text, text[], jsonb, jsonb, boolean);
DROP FUNCTION breaking_migrations.default_labels(text, boolean);
DROP VIEW breaking_migrations.enum_columns;
DROP FUNCTION breaking_migrations.enum_labels(text);
DROP FUNCTION breaking_migrations.resolve_enum(text);

// Extensions a superuser created (uuid-ossp, pgcrypto…): a restore as a role that is not their
// owner would fail at pg_restore --clean's DROP EXTENSION ("must be owner of extension"), and
// roll back, and there is no ALTER EXTENSION … OWNER TO. They are there already: their DROP, CREATE
// and COMMENT lines (and their own schema's DROP and CREATE) are left out of the restore's SQL, so
// that they stay as they are and every table is restored around them. An extension's configuration
// tables (pg_extension_config_dump) keep their rows: the dump's would be added to them, and a
// duplicate makes the restore fail and roll back.
import type { Sql } from '../connection/db.js';

export interface ForeignExtensions {
  names: string[]; // as pg_restore writes them (quote_ident)
  schemas: string[]; // the schemas they live in, other than public: their DROP and CREATE SCHEMA too
}

/** The extensions here that the restoring role may not drop, and their own schemas. */
export async function foreignExtensions(sql: Sql): Promise<ForeignExtensions> {
  const rows = await sql`SELECT quote_ident(e.extname) AS name, quote_ident(n.nspname) AS schema
                         FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
                         WHERE NOT pg_has_role(e.extowner, 'USAGE') ORDER BY 1`;
  return {
    names: rows.map((r) => String(r.name)),
    schemas: [...new Set(rows.map((r) => String(r.schema)).filter((n) => n !== 'public'))],
  };
}

/**
 * A filter for pg_restore's SQL stream that drops the lines of `names` (see above). Extensions
 * are pre-data: once the first COPY starts, everything passes through untouched (no per-line cost
 * over the data, and no data line is ever read as a statement).
 */
export function withoutExtensions(found: ForeignExtensions): { push: (chunk: Buffer) => Buffer; end: () => Buffer } {
  if (!found.names.length) return { push: (chunk) => chunk, end: () => Buffer.alloc(0) };
  const alt = (l: string[]) => l.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  const statement = new RegExp(
    `^(?:(DROP EXTENSION IF EXISTS|CREATE EXTENSION IF NOT EXISTS|COMMENT ON EXTENSION) (?:${alt(found.names)})( |;)` +
      (found.schemas.length ? `|(?:DROP SCHEMA IF EXISTS|CREATE SCHEMA) (?:${alt(found.schemas)});$)` : ')'),
  );
  // Lines are cut at their newline byte and read as latin1, which keeps every byte as it is in
  // any encoding (pg_restore writes the dump's): what is kept is written back byte for byte.
  let rest = Buffer.alloc(0);
  let comment = false; // inside a COMMENT ON EXTENSION whose text spans lines
  let data = false;
  const push = (chunk: Buffer): Buffer => {
    if (data) return chunk;
    const last = chunk.lastIndexOf(0x0a);
    if (last < 0) {
      rest = Buffer.concat([rest, chunk]);
      return Buffer.alloc(0);
    }
    const lines = Buffer.concat([rest, chunk.subarray(0, last)])
      .toString('latin1')
      .split('\n');
    rest = Buffer.from(chunk.subarray(last + 1));
    const kept: string[] = [];
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i];
      if (comment) {
        comment = !/';$/.test(line);
        continue;
      }
      if (line.startsWith('COPY ')) {
        data = true; // from here on, bytes pass as they come
        const tail = Buffer.concat([Buffer.from(`${[...kept, ...lines.slice(i)].join('\n')}\n`, 'latin1'), rest]);
        rest = Buffer.alloc(0);
        return tail;
      }
      const m = statement.exec(line);
      if (!m) kept.push(line);
      else if (m[1] === 'COMMENT ON EXTENSION') comment = !/';$/.test(line);
    }
    return Buffer.from(kept.map((l) => `${l}\n`).join(''), 'latin1');
  };
  // A stream that ends before any data, its last line without a newline: that line.
  const end = () => (data || !rest.length ? Buffer.alloc(0) : push(Buffer.from('\n')));
  return { push, end };
}

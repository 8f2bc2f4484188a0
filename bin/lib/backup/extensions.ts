// Extensions a superuser created (uuid-ossp, pgcrypto…): a restore as a role that is not their
// owner would fail at pg_restore --clean's DROP EXTENSION ("must be owner of extension"), and
// roll back, and there is no ALTER EXTENSION … OWNER TO. They hold none of the app's rows and are
// there already: their DROP, CREATE and COMMENT lines are left out of the restore's SQL, so that
// they stay as they are and every table is restored around them.
import type { Sql } from '../connection/db.js';

/** The extensions here that the restoring role may not drop, as pg_restore writes their names. */
export async function foreignExtensions(sql: Sql): Promise<string[]> {
  const rows = await sql`SELECT quote_ident(extname) AS name FROM pg_extension
                         WHERE NOT pg_has_role(extowner, 'USAGE') ORDER BY 1`;
  return rows.map((r) => String(r.name));
}

/**
 * A filter for pg_restore's SQL stream that drops the lines of `names` (see above). Extensions
 * are pre-data: once the first COPY starts, everything passes through untouched (no per-line cost
 * over the data, and no data line is ever read as a statement).
 */
export function withoutExtensions(names: string[]): { push: (chunk: Buffer) => Buffer; end: () => Buffer } {
  if (!names.length) return { push: (chunk) => chunk, end: () => Buffer.alloc(0) };
  const statement = new RegExp(
    `^(DROP EXTENSION IF EXISTS|CREATE EXTENSION IF NOT EXISTS|COMMENT ON EXTENSION) (${names
      .map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('|')})( |;)`,
  );
  // Lines are cut at their newline byte, never inside a UTF-8 character: only whole lines are decoded.
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
      .toString('utf8')
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
        const tail = Buffer.concat([Buffer.from(`${[...kept, ...lines.slice(i)].join('\n')}\n`, 'utf8'), rest]);
        rest = Buffer.alloc(0);
        return tail;
      }
      const m = statement.exec(line);
      if (!m) kept.push(line);
      else if (m[1] === 'COMMENT ON EXTENSION') comment = !/';$/.test(line);
    }
    return Buffer.from(kept.map((l) => `${l}\n`).join(''), 'utf8');
  };
  // A stream that ends before any data, its last line without a newline: that line.
  const end = () => (data || !rest.length ? Buffer.alloc(0) : push(Buffer.from('\n')));
  return { push, end };
}

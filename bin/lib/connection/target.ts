// DATABASE_URL, parsed once where a command starts, into one typed connection Target. Every
// consumer gets its own form of it, derived here and nowhere else: postgres.js options, the
// libpq environment (pg_dump, pg_restore, psql), and the URL dbmate's driver (lib/pq) reads.
//
// The parsing is pg-connection-string's (node-postgres's libpq-compatible parser); this file only
// decides what the toolkit accepts. TLS follows libpq: no sslmode means `prefer`. dbmate's driver
// has no `prefer`, so decideTls() asks the server once (an SSLRequest, as libpq sends) and every
// component then gets the same answer: TLS on (`require`) or off (`disable`).
import { existsSync, readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { parse } from 'pg-connection-string';
import { Refusal } from './refusal.js';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** libpq's parameters the toolkit honours (https://www.postgresql.org/docs/current/libpq-connect.html). */
const LIBPQ_PARAMS = [
  'host',
  'port',
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'connect_timeout',
  'application_name',
  'options',
];
/**
 * Prisma's own URL parameters (its PostgreSQL connector docs): `schema` picks the application's
 * schema (honoured: it becomes every session's search_path); the others tune Prisma's pool or its
 * TLS stack and mean nothing to the toolkit's short sessions: accepted, never sent to the server.
 */
const PRISMA_PARAMS = [
  'schema',
  'connection_limit',
  'pool_timeout',
  'socket_timeout',
  'statement_cache_size',
  'sslaccept',
  'sslidentity',
  'sslpassword',
  'pgbouncer',
];

export interface Target {
  host: string; // a host name or address, or a Unix socket directory (starts with '/')
  port: number;
  database: string;
  user?: string; // libpq's default when absent: the OS user
  password?: string;
  sslmode: SslMode; // as written; 'prefer' when absent, as libpq, psql and Prisma mean it
  sslrootcert?: string;
  sslcert?: string;
  sslkey?: string;
  connectTimeout?: number; // seconds
  options?: string; // libpq's `options` (e.g. "-c statement_timeout=0")
  schema?: string; // Prisma's ?schema=: the application's tables and enums live there
  ignored: string[]; // Prisma parameters accepted and not sent (listed in the README)
  tls?: boolean; // decided by decideTls(): undefined until then
}

const refuse = (what: string, next: string) => new Refusal(`DATABASE_URL ${what}`, next, 2);

/** Parses a libpq/Prisma URL; refuses, naming the problem, what the toolkit cannot honour. */
export function parseTarget(url: string): Target {
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw refuse(
      'is not a postgres:// or postgresql:// URL.',
      "Write it as postgresql://user:password@host:5432/database (as in the app's .env).",
    );
  }
  const query = new URLSearchParams(url.split('#')[0].split('?').slice(1).join('?'));
  // pg-connection-string reads the authority, path, host and port; TLS is ours to decide (its
  // own reading of sslmode is node-postgres's, not libpq's, and it would read the key files).
  const forParser = new URLSearchParams([...query].filter(([k]) => k === 'host' || k === 'port'));
  let c: Record<string, unknown>;
  try {
    c = parse(`${url.split('?')[0]}${forParser.size ? `?${forParser}` : ''}`) as Record<string, unknown>;
  } catch {
    throw refuse(
      'cannot be parsed as a URL.',
      'Percent-encode special characters of the password (@ → %40, : → %3A, / → %2F, % → %25).',
    );
  }
  const keys = [...new Set(query.keys())];
  const unknown = keys.filter((k) => !LIBPQ_PARAMS.includes(k) && !PRISMA_PARAMS.includes(k));
  if (unknown.length) {
    const named = unknown.map((k) => `"${k}"`).join(', ');
    const s = unknown.length > 1 ? 's' : '';
    throw refuse(
      `has parameter${s} ${named} that the toolkit does not know; nothing was sent.`,
      `Remove it. Accepted: libpq's ${LIBPQ_PARAMS.join(', ')}; ` +
        `Prisma's ${PRISMA_PARAMS.join(', ')} (see the README).`,
    );
  }
  const get = (k: string) => query.get(k) ?? undefined;
  if (/^(true|1)$/i.test(get('pgbouncer') ?? '')) {
    throw refuse(
      'has pgbouncer=true: the toolkit needs a direct session ' +
        '(advisory locks, session settings, the write guard), not a PgBouncer transaction pool.',
      'Use the direct URL Prisma uses for migrations (`directUrl` in schema.prisma, usually DIRECT_URL) ' +
        'as DATABASE_URL.',
    );
  }
  const sslmode = (get('sslmode') ?? 'prefer') as SslMode;
  if (!SSL_MODES.includes(sslmode)) {
    throw refuse(`has sslmode=${sslmode}, which libpq does not know.`, `Use one of ${SSL_MODES.join(', ')}.`);
  }
  const port = Number(c.port || 5432);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw refuse(`has port "${String(c.port)}", not a TCP port.`, 'Write the port as a number, e.g. :5432.');
  }
  const timeout = get('connect_timeout');
  if (timeout !== undefined && !/^\d+$/.test(timeout)) {
    throw refuse(`has connect_timeout=${timeout}, not whole seconds.`, 'Example: connect_timeout=10.');
  }
  for (const k of ['sslrootcert', 'sslcert', 'sslkey']) {
    const file = get(k);
    if (file && !existsSync(file)) {
      throw refuse(`has ${k}=${file}, a file that does not exist here.`, `Fix ${k}, or copy the file to this machine.`);
    }
  }
  const schema = get('schema');
  if (schema !== undefined && !/^[^\s"\\]{1,63}$/.test(schema)) {
    throw refuse(
      `has schema="${schema}", which the toolkit cannot use as a schema name.`,
      'Name a schema without spaces, quotes or backslashes.',
    );
  }
  return {
    host: String(c.host || 'localhost'),
    port,
    database: String(c.database || c.user || 'postgres'),
    user: c.user ? String(c.user) : undefined,
    password: c.password ? String(c.password) : undefined,
    sslmode,
    sslrootcert: get('sslrootcert'),
    sslcert: get('sslcert'),
    sslkey: get('sslkey'),
    connectTimeout: timeout === undefined ? undefined : Number(timeout),
    options: get('options'),
    schema,
    ignored: keys.filter((k) => PRISMA_PARAMS.includes(k) && k !== 'schema'),
    tls: sslmode === 'disable' || String(c.host ?? '').startsWith('/') ? false : undefined,
  };
}

const requiresTls = (m: SslMode) => m === 'require' || m === 'verify-ca' || m === 'verify-full';

/**
 * Does the server offer TLS? The first message libpq sends with sslmode prefer/require: an
 * SSLRequest (8 bytes); the server answers one byte, 'S' or 'N', before any authentication.
 */
export function probeTls(host: string, port: number, timeoutSeconds = 10): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    const done = (fn: () => void) => {
      socket.destroy();
      fn();
    };
    const timedOut = () =>
      Object.assign(new Error(`no answer from ${host}:${port} within ${timeoutSeconds} s`), { code: 'ETIMEDOUT' });
    socket.setTimeout(timeoutSeconds * 1000, () => done(() => reject(timedOut())));
    socket.once('error', (err) => done(() => reject(err)));
    socket.once('connect', () => socket.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])));
    // 'S' (0x53): TLS offered; 'N' (0x4e): not; anything else is not a PostgreSQL server.
    socket.once('data', (b) =>
      done(() =>
        b[0] === 0x53 || b[0] === 0x4e
          ? resolve(b[0] === 0x53)
          : reject(new Error(`${host}:${port} did not answer like a PostgreSQL server`)),
      ),
    );
  });
}

/** The TLS decision for this run, made once; the same for postgres.js, libpq tools and dbmate. */
export async function decideTls(t: Target): Promise<Target> {
  if (t.tls !== undefined) return t;
  const offered = await probeTls(t.host, t.port, t.connectTimeout || 10);
  if (!offered && requiresTls(t.sslmode)) {
    throw new Refusal(
      `DATABASE_URL has sslmode=${t.sslmode}, but the server at ${t.host}:${t.port} does not offer TLS ` +
        '(SSL is not enabled on the server).',
      "Enable ssl on the server, or remove sslmode (TLS when offered, as libpq's prefer) or set sslmode=disable.",
      3,
    );
  }
  return { ...t, tls: offered };
}

/** Parse and decide TLS: what every command does with DATABASE_URL where it starts. */
export async function resolveTarget(url: string): Promise<Target> {
  return decideTls(parseTarget(url));
}

function decided(t: Target): boolean {
  if (t.tls === undefined) throw new Error('internal: the TLS decision was not made for this target (call decideTls)');
  return t.tls;
}

/** The sslmode every component is given once TLS is decided: verification kept, prefer resolved. */
export function effectiveSslmode(t: Target): SslMode {
  if (!decided(t)) return 'disable';
  return t.sslmode === 'verify-ca' || t.sslmode === 'verify-full' ? t.sslmode : 'require';
}

/** The same server, another database (a scratch copy, a test database). */
export function withDatabase(t: Target, database: string): Target {
  return { ...t, database };
}

/**
 * The search_path of the toolkit's sessions: the application's schema when the URL names one,
 * else PostgreSQL's own default (written without a space, so that it travels in PGOPTIONS as is).
 */
const searchPath = (t: Target) => (t.schema ? `"${t.schema}"` : '"$user",public');

/**
 * What every toolkit session depends on, set at its start whatever the role, the database or
 * postgresql.conf say (ALTER ROLE/DATABASE … SET apply to every new session, ours included; a
 * setting sent in the startup packet wins over them). The README lists them with why:
 * - no statement or idle timeout: the mutation, the dump's snapshot session and dbmate's
 *   transactions run as long as they need (each step sets its own lock_timeout where it waits);
 * - row_security off: a policy never silently filters a count or an UPDATE, PostgreSQL raises
 *   instead (preflight refuses such tables before the window);
 * - jit off: the toolkit's queries over JSON and the catalog look costly to the planner (0001's
 *   invariants: 128 000, run in 2 ms), and a session's first JIT loads LLVM, about 1 s on 2 cores,
 *   inside the window, twice a run (make bench); an UPDATE's time goes to rows and indexes.
 * default_transaction_read_only and search_path are set beside these by each consumer. A setting
 * written in the URL's own `options` is the operator's explicit choice for this connection: it wins.
 */
export const SESSION_SETTINGS: Readonly<Record<string, string>> = {
  statement_timeout: '0',
  idle_in_transaction_session_timeout: '0',
  idle_session_timeout: '0',
  lock_timeout: '0',
  row_security: 'off',
  jit: 'off',
};

/** SESSION_SETTINGS less those the URL's `options` sets itself (`-c name=…` or `--name=…`). */
function sessionSettings(t: Target): [string, string][] {
  return Object.entries(SESSION_SETTINGS).filter(([k]) => !new RegExp(`(-c\\s*|--)${k}=`).test(t.options ?? ''));
}

/** postgres.js options. Startup parameters travel in `connection`. */
export function postgresOptions(t: Target, appName: string) {
  const tls = decided(t);
  const files = { ca: t.sslrootcert, cert: t.sslcert, key: t.sslkey };
  const read = (p?: string) => (p ? readFileSync(p, 'utf8') : undefined);
  const ssl = !tls
    ? false
    : {
        ...(files.ca ? { ca: read(files.ca) } : {}),
        ...(files.cert ? { cert: read(files.cert), key: read(files.key) } : {}),
        // require/prefer: encrypted, not verified (libpq's meaning); verify-ca: the CA, not the name.
        rejectUnauthorized:
          t.sslmode === 'verify-ca' || t.sslmode === 'verify-full' || (t.sslmode === 'require' && Boolean(files.ca)),
        ...(t.sslmode === 'verify-full' ? {} : { checkServerIdentity: () => undefined }),
      };
  return {
    host: t.host,
    port: t.port,
    database: t.database,
    username: t.user,
    password: t.password,
    ssl,
    connect_timeout: t.connectTimeout || 10,
    connection: {
      application_name: appName,
      ...Object.fromEntries(sessionSettings(t)),
      search_path: searchPath(t),
      ...(t.options ? { options: t.options } : {}),
    } as Record<string, string>,
  };
}

/**
 * libpq environment for pg_dump / pg_restore / psql: credentials travel in the environment,
 * never on a command line where `ps` would show them.
 */
export function libpqEnv(t: Target, opts: { writable?: boolean; appName?: string } = {}): Record<string, string> {
  const env: Record<string, string> = { PGHOST: t.host, PGPORT: String(t.port), PGDATABASE: t.database };
  if (t.user) env.PGUSER = t.user;
  if (t.password) env.PGPASSWORD = t.password;
  env.PGSSLMODE = effectiveSslmode(t);
  if (t.sslrootcert) env.PGSSLROOTCERT = t.sslrootcert;
  if (t.sslcert) env.PGSSLCERT = t.sslcert;
  if (t.sslkey) env.PGSSLKEY = t.sslkey;
  if (t.connectTimeout) env.PGCONNECT_TIMEOUT = String(t.connectTimeout);
  const settings = sessionSettings(t).map(([k, v]) => `-c ${k}=${v}`);
  const options = [
    t.options,
    ...settings,
    `-c search_path=${searchPath(t)}`,
    opts.writable && '-c default_transaction_read_only=off',
  ].filter(Boolean);
  env.PGOPTIONS = options.join(' ');
  env.PGAPPNAME = opts.appName ?? 'breaking-migrations-tools'; // spared by the guard (sql/end_other_sessions.sql)
  return env;
}

/** A libpq URL for this target (password included only when asked: for a child's environment). */
export function targetUrl(
  t: Target,
  opts: { password?: boolean; params?: Record<string, string | undefined> } = {},
): string {
  const enc = encodeURIComponent;
  const auth = t.user ? `${enc(t.user)}${opts.password && t.password ? `:${enc(t.password)}` : ''}@` : '';
  const socket = t.host.startsWith('/');
  const params = new URLSearchParams();
  if (socket) params.set('host', t.host);
  const all: Record<string, string | undefined> = {
    sslmode: t.tls === undefined ? (t.sslmode === 'prefer' ? undefined : t.sslmode) : effectiveSslmode(t),
    sslrootcert: t.sslrootcert,
    sslcert: t.sslcert,
    sslkey: t.sslkey,
    connect_timeout: t.connectTimeout === undefined ? undefined : String(t.connectTimeout),
    options: t.options,
    schema: t.schema,
    ...opts.params,
  };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) params.set(k, v);
  const host = socket ? '' : t.host.includes(':') ? `[${t.host}]` : t.host;
  const q = params.toString();
  return `postgresql://${auth}${host}:${t.port}/${enc(t.database)}${q ? `?${q}` : ''}`;
}

/**
 * dbmate's URL (lib/pq): the decided sslmode (lib/pq has no prefer), the application's schema as
 * search_path, and the two run-time settings that let it write while the guard holds the
 * database read-only and be spared when the guard ends other sessions. lib/pq sends unknown
 * parameters to the server as run-time settings, which is what these are; Prisma's `schema`
 * would be one too, and is therefore never passed on.
 */
export function dbmateUrl(t: Target): string {
  decided(t); // targetUrl then gives the decided sslmode
  return targetUrl(
    { ...t, schema: undefined },
    {
      password: true,
      params: {
        ...Object.fromEntries(sessionSettings(t)),
        search_path: searchPath(t),
        default_transaction_read_only: 'off',
        application_name: 'breaking-migrations-dbmate',
      },
    },
  );
}

/** The only form of a target we ever print: no password. */
export function describeTarget(t: Target): string {
  return targetUrl(t);
}

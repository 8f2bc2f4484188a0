// Maintenance mode for a web app, framework-free: Web Request in, a 503 Response or nothing out.
// ON when the lock file `make maintenance-on` writes is there (any content: the runbook's empty
// `touch enabled.lock` too), or when the optional `probe` (the database flag, for replicas that do
// not share the lock folder) says so. Hardened: nothing a visitor sends, and nothing the lock file
// holds or how slowly it reads, can get a request around maintenance or hang the app.
//
// Lets through: Next's own /_next/static/ and /_next/image, an explicit list of public files, the
// health path (Swarm / Traefik keep the replicas alive), and operators with a bypass cookie — set
// by visiting `${bypassPrefix}/${secret}[/path]`, like Laravel's `artisan down --secret`; an
// HMAC-signed expiry checked in constant time. Node.js runtime: Next.js proxy.ts (16) or
// middleware with runtime 'nodejs' (15.5+).
import type { Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

export interface MaintenanceLock {
  since?: string;
  reason?: string;
  retryAfter?: number;
  by?: string;
  message?: string;
}

export interface MaintenanceOptions {
  lockFile?: string; // default: <cwd>/maintenance/enabled.lock (the runbook's /app/maintenance)
  probe?: () => Promise<MaintenanceLock | null>; // e.g. databaseProbe(…) below: the database's flag
  // How long a read of the file (and of the probe) holds, default 250: the runbook waits this long
  // (APP_LOCK_CACHE_MS) between the lock and the guard, so it is part of every maintenance window.
  cacheMs?: number;
  timeoutMs?: number; // a read (or probe) slower than this keeps the last known state, default 2000
  healthPath?: string; // default /api/health
  publicFiles?: string[]; // exact paths served during maintenance, default ['/favicon.ico', '/robots.txt']
  bypassSecret?: string; // default: env MAINTENANCE_BYPASS_SECRET; none, no bypass; at least 16 characters
  bypassPrefix?: string; // default /_maintenance
  bypassHours?: number; // cookie lifetime, and the longest one accepted; default 12
  product?: string; // shown on the page, default: none
  message?: string; // public message, default: the lock's (MESSAGE= of maintenance-on), else a generic one
  locale?: Locale; // 'en' | 'fr'; default: from Accept-Language
  pollSeconds?: number; // the page checks every this many seconds whether the site is back, default 15
  log?: (line: string) => void; // default console.warn
  page?: (ctx: PageContext) => string; // replace the HTML page
}
export interface PageContext {
  locale: Locale;
  product?: string;
  message: string;
  retryAt?: number;
  retryAfter: number;
  pollSeconds: number;
}

const COOKIE = 'maintenance_bypass';
const MAX_LOCK_BYTES = 64 * 1024;
const MAX_RETRY_AFTER = 86_400;

const encoder = new TextEncoder();
async function hmac(secret: string, data: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
    'sign',
  ]);
  return Buffer.from(await crypto.subtle.sign('HMAC', key, encoder.encode(data))).toString('base64url');
}

/** Compares two strings in time that depends only on their length. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i % x.length] ?? 0) ^ (y[i % y.length] ?? 0);
  return diff === 0 && x.length === y.length;
}

export async function bypassCookieValue(secret: string, expiresAt: number): Promise<string> {
  return `${expiresAt}.${await hmac(secret, `maintenance-bypass:${expiresAt}`)}`;
}

async function validBypass(secret: string, value: string | undefined, now: number, maxMs: number): Promise<boolean> {
  const [expires, sig] = (value ?? '').split('.');
  const at = Number(expires);
  // A correctly signed cookie is still refused when it claims a longer life than we ever give.
  if (!expires || !sig || !(at > now) || at - now > maxMs + 60_000) return false;
  return constantTimeEqual(sig, await hmac(secret, `maintenance-bypass:${expires}`));
}

function cookie(request: Request, name: string): string | undefined {
  for (const part of (request.headers.get('cookie') ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k !== name) continue;
    try {
      return decodeURIComponent(v.join('='));
    } catch {
      return undefined; // malformed percent-encoding: no cookie, not a 500
    }
  }
  return undefined;
}

/** Whatever the lock holds, a sane lock: present means ON, only well-typed fields are read. */
export function sanitize(raw: unknown): MaintenanceLock {
  const o = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const str = (v: unknown, max = 500) => (typeof v === 'string' ? v.slice(0, max) : undefined);
  const retry =
    typeof o.retryAfter === 'number' && Number.isFinite(o.retryAfter) && o.retryAfter >= 0
      ? Math.min(Math.round(o.retryAfter), MAX_RETRY_AFTER)
      : undefined;
  const since = str(o.since, 40);
  return {
    since: since && !Number.isNaN(Date.parse(since)) ? since : undefined,
    reason: str(o.reason),
    retryAfter: retry,
    by: str(o.by, 200),
    message: str(o.message),
  };
}

/**
 * A source of the state (the lock file, the probe) that can never hang or flood the app: one
 * read in flight, shared by every request; a result held `cacheMs`; a read slower than
 * `timeoutMs` keeps the last known state (and goes on in the background, still the only one).
 */
function cachedSource(
  read: () => Promise<MaintenanceLock | null>,
  cacheMs: number,
  timeoutMs: number,
  onError: (err: unknown) => void,
) {
  let known: MaintenanceLock | null = null;
  let at = -Infinity;
  let inFlight: Promise<void> | undefined;
  return async (): Promise<MaintenanceLock | null> => {
    if (Date.now() - at < cacheMs) return known;
    inFlight ??= read()
      .then(
        (lock) => {
          known = lock;
          at = Date.now();
        },
        (err) => {
          onError(err);
          at = Date.now();
        },
      )
      .finally(() => {
        inFlight = undefined;
      });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      inFlight,
      new Promise<void>((r) => {
        timer = setTimeout(r, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return known;
  };
}

/** The lock file: absent → OFF; a regular file of at most 64 KiB → its content; anything else → ON. */
function lockFileReader(
  file: string,
  logOnce: (key: string, line: string) => void,
): () => Promise<MaintenanceLock | null> {
  return async () => {
    let s: Stats;
    try {
      s = await stat(file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      logOnce('unreadable', `maintenance: ${file} cannot be read (${(err as Error).message}); treating it as ON`);
      return {};
    }
    if (!s.isFile()) {
      logOnce(
        'type',
        `maintenance: ${file} is not a regular file (a FIFO, a device or a folder); ` +
          'treating it as ON without reading it',
      );
      return {};
    }
    if (s.size > MAX_LOCK_BYTES) {
      logOnce(
        'size',
        `maintenance: ${file} is ${s.size} bytes, more than ${MAX_LOCK_BYTES}; treating it as ON without reading it`,
      );
      return {};
    }
    const handle = await open(file, 'r');
    try {
      const buf = Buffer.alloc(MAX_LOCK_BYTES);
      const { bytesRead } = await handle.read(buf, 0, MAX_LOCK_BYTES, 0);
      const text = buf.subarray(0, bytesRead).toString('utf8');
      try {
        return text.trim() ? sanitize(JSON.parse(text)) : {};
      } catch {
        return {}; // present but not our JSON: still maintenance
      }
    } finally {
      await handle.close();
    }
  };
}

/** The origin a visitor used: the proxy's X-Forwarded-Host / -Proto (Traefik), else Host. */
function visibleOrigin(request: Request): string {
  const url = new URL(request.url);
  const host = request.headers.get('x-forwarded-host')?.split(',')[0].trim() || request.headers.get('host') || url.host;
  const proto = request.headers.get('x-forwarded-proto')?.split(',')[0].trim() || url.protocol.replace(':', '');
  return /^[A-Za-z0-9.:[\]-]+$/.test(host) && /^https?$/.test(proto) ? `${proto}://${host}` : url.origin;
}

/** Builds the check once (it keeps its caches); call it with each request. */
export function maintenanceGuard(opts: MaintenanceOptions = {}): (request: Request) => Promise<Response | undefined> {
  const secret = opts.bypassSecret ?? process.env.MAINTENANCE_BYPASS_SECRET ?? '';
  if (secret && secret.length < 16)
    throw new Error('maintenance: the bypass secret must be at least 16 characters (MAINTENANCE_BYPASS_SECRET)');
  const log = opts.log ?? ((l: string) => console.warn(l));
  const said = new Set<string>();
  const logOnce = (key: string, line: string) => {
    if (!said.has(key)) {
      said.add(key);
      log(line);
    }
  };
  const cacheMs = opts.cacheMs ?? 250;
  const timeoutMs = opts.timeoutMs ?? 2000;
  const file = opts.lockFile ?? join(process.cwd(), 'maintenance', 'enabled.lock');
  const fromFile = cachedSource(lockFileReader(file, logOnce), cacheMs, timeoutMs, (err) =>
    logOnce('file', `maintenance: reading ${file} failed (${(err as Error).message}); the last known state holds`),
  );
  const probe = opts.probe;
  const fromProbe =
    probe &&
    cachedSource(
      async () => {
        const l = await probe();
        return l && sanitize(l);
      },
      cacheMs,
      timeoutMs,
      (err) =>
        logOnce('probe', `maintenance: the probe failed (${(err as Error).message}); the last known state holds`),
    );
  const prefix = opts.bypassPrefix ?? '/_maintenance';
  const healthPath = opts.healthPath ?? '/api/health';
  const publicFiles = new Set(opts.publicFiles ?? ['/favicon.ico', '/robots.txt']);
  const bypassMs = (opts.bypassHours ?? 12) * 3600_000;

  return async (request) => {
    const url = new URL(request.url);
    const path = url.pathname;
    // Only Next's own build output and the listed files: `/users/1.png` is a page like any other.
    if (path === healthPath || path.startsWith('/_next/static/') || path === '/_next/image' || publicFiles.has(path))
      return undefined;
    if (secret && path.startsWith(`${prefix}/`)) {
      const [given, ...rest] = path.slice(prefix.length + 1).split('/');
      if (constantTimeEqual(given, secret)) {
        const expires = Date.now() + bypassMs;
        const origin = visibleOrigin(request);
        const back = `/${rest.join('/')}${url.search}`;
        return new Response(null, {
          status: 302,
          headers: {
            Location: new URL(back.startsWith('//') ? '/' : back, origin).toString(),
            'Cache-Control': 'no-store',
            'Set-Cookie':
              `${COOKIE}=${await bypassCookieValue(secret, expires)}; Path=/; HttpOnly; SameSite=Lax; ` +
              `Max-Age=${Math.round(bypassMs / 1000)}${origin.startsWith('https:') ? '; Secure' : ''}`,
          },
        });
      }
    }
    const [fileLock, dbLock] = await Promise.all([fromFile(), fromProbe?.() ?? null]);
    const lock = fileLock ?? dbLock;
    if (!lock) return undefined;
    if (secret && (await validBypass(secret, cookie(request, COOKIE), Date.now(), bypassMs))) return undefined;
    const retryAfter = lock.retryAfter ?? dbLock?.retryAfter ?? 300;
    const headers = { 'Retry-After': String(retryAfter), 'Cache-Control': 'no-store' };
    const locale = opts.locale ?? pickLocale(request.headers.get('accept-language'));
    const message = opts.message ?? lock.message ?? dbLock?.message ?? publicText(locale).message;
    if (request.headers.has('next-action')) {
      // Next's client shows a Server Action's error body only when it is text/plain.
      return new Response(message, {
        status: 503,
        headers: { ...headers, 'Content-Type': 'text/plain; charset=utf-8' },
      });
    }
    if (path.startsWith('/api/') || /application\/json/.test(request.headers.get('accept') ?? '')) {
      return Response.json({ error: 'maintenance', message, retryAfter }, { status: 503, headers });
    }
    const since = Date.parse(lock.since ?? dbLock?.since ?? '');
    const ctx: PageContext = {
      locale,
      product: opts.product,
      message,
      retryAfter,
      retryAt: Number.isNaN(since) ? undefined : since + retryAfter * 1000,
      pollSeconds: opts.pollSeconds ?? 15,
    };
    return new Response((opts.page ?? page)(ctx), {
      status: 503,
      headers: { ...headers, 'Content-Type': 'text/html; charset=utf-8', 'Content-Language': locale },
    });
  };
}

// ---- the database flag: for replicas that do not see the lock folder --------------------------

/** The query `make maintenance-on` answers (breaking_migrations.maintenance, one row while ON). */
export const MAINTENANCE_QUERY =
  'SELECT since::text AS since, retry_after AS "retryAfter", message FROM breaking_migrations.maintenance';

/** Is the flag's table there? Asked first, so that a database without the toolkit logs no error. */
export const MAINTENANCE_TABLE_QUERY = `SELECT to_regclass('breaking_migrations.maintenance') IS NOT NULL AS present`;

/** What this process tells the database about itself (issue 21: the runbook reads it). */
export interface ReportOptions {
  enums?: Record<string, readonly string[]>; // { Role: Object.values(Role) }: the labels its client knows
  build?: string; // e.g. process.env.APP_BUILD
  instance?: string; // default host:pid, one row per process
  // Runs the report's statements in one transaction. Default: `query` of BEGIN; …; COMMIT (pg's
  // simple protocol runs several statements at once). Prisma:
  // `(sqls) => prisma.$transaction(sqls.map((q) => prisma.$executeRawUnsafe(q)))`.
  run?: (statements: string[]) => Promise<unknown>;
  intervalMs?: number; // default 5000
  log?: (line: string) => void; // default console.warn
}

/** Is the report function there? Asked first, like the flag's table, so that nothing is logged. */
export const REPORT_FUNCTION_QUERY =
  "SELECT to_regprocedure('breaking_migrations.report_instance(jsonb)') IS NOT NULL AS present";

const sqlText = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * The statements of one report, for one transaction: READ WRITE first (the maintenance guard makes
 * read-only only the default), then the function, which writes this instance's row and nothing else.
 */
export function reportStatements(report: {
  instance: string;
  build?: string;
  enums: Record<string, readonly string[]>;
  started: string;
}): string[] {
  return [
    'SET TRANSACTION READ WRITE',
    `SELECT breaking_migrations.report_instance(${sqlText(JSON.stringify(report))}::jsonb)`,
  ];
}

/** While maintenance is ON, the probe reports at most this often (see startReports's `prompt`). */
export const PROMPT_REPORT_MS = 250;

/**
 * Keeps this process's row fresh: every intervalMs, on a timer that never keeps the process alive,
 * also during maintenance. Quiet until the toolkit has the function; a failure is logged once.
 * Returns `prompt`, which the probe calls on each read that finds maintenance ON: a report at most
 * every PROMPT_REPORT_MS then, so that maintenance-off, which waits for every instance's report
 * after the contract, waits a fraction of a second for a replica that has visitors instead of
 * the interval's 5 s (a few tiny writes per replica, only inside the window).
 */
function startReports(query: (sql: string) => Promise<Record<string, unknown>[]>, o: ReportOptions): () => void {
  const report = {
    instance: o.instance ?? `${hostname()}:${process.pid}`,
    build: o.build,
    enums: o.enums ?? {},
    started: new Date().toISOString(),
  };
  const run = o.run ?? ((statements: string[]) => query(`BEGIN;\n${statements.join(';\n')};\nCOMMIT;`));
  const log = o.log ?? console.warn;
  let present = false;
  let failing = false;
  let last = 0; // when the last report began
  const every = o.intervalMs ?? 5000;
  let busy = false; // a report in flight: a slow database never gets a pile of them
  const once = async () => {
    if (busy && Date.now() - last < every) return; // one stuck for an interval does not silence the rest
    busy = true;
    last = Date.now();
    try {
      if (!present) present = Boolean((await query(REPORT_FUNCTION_QUERY))[0]?.present);
      if (!present) return;
      await run(reportStatements(report));
      failing = false;
    } catch (err) {
      present = false; // asked again next time: the toolkit's schema may have been restored
      if (!failing) log(`maintenance: the instance report failed (${(err as Error).message})`);
      failing = true;
    } finally {
      busy = false;
    }
  };
  void once();
  setInterval(() => void once(), every).unref();
  return () => {
    if (Date.now() - last >= PROMPT_REPORT_MS) void once();
  };
}

/**
 * A probe that asks the database, through a function the app already has: its Prisma client
 * (`(sql) => prisma.$queryRawUnsafe(sql)`) or pg (`async (sql) => (await pool.query(sql)).rows`).
 * No row: OFF. The table missing (the toolkit never ran here): OFF too, and quiet: the probe asks
 * the catalog until the table exists instead of letting the server log `relation … does not
 * exist` once per replica per second. With `enums`, the process also reports the labels its
 * client knows (see ReportOptions), so that the runbook never turns the site back on for an app
 * that cannot read the new labels.
 */
export function databaseProbe(
  query: (sql: string) => Promise<Record<string, unknown>[]>,
  report?: ReportOptions,
): () => Promise<MaintenanceLock | null> {
  const prompt = report?.enums ? startReports(query, report) : () => {};
  let present = false;
  return async () => {
    if (!present) {
      const [r] = await query(MAINTENANCE_TABLE_QUERY);
      if (!r?.present) return null;
      present = true;
    }
    try {
      const [row] = await query(MAINTENANCE_QUERY);
      if (row) prompt();
      return row ? sanitize(row) : null;
    } catch (err) {
      if ((err as { code?: string }).code === '42P01' || /does not exist/.test(String((err as Error).message))) {
        present = false; // dropped since: back to asking the catalog
        return null;
      }
      throw err;
    }
  };
}

// ---- the page a visitor sees --------------------------------------------------------------------

export type Locale = 'en' | 'fr';
const TEXT = {
  en: {
    title: 'Maintenance in progress',
    message: 'We are upgrading the site. It will be back shortly.',
    back: 'Expected back',
    soon: 'any moment now',
    auto: 'This page takes you back to the site as soon as it is up.',
    retry: 'Try again',
  },
  fr: {
    title: 'Maintenance en cours',
    message: 'Nous mettons le site à jour. Il revient très vite.',
    back: 'Retour prévu',
    soon: 'd’un instant à l’autre',
    auto: 'Cette page vous ramène au site dès qu’il est de retour.',
    retry: 'Réessayer',
  },
};
export const publicText = (l: Locale) => TEXT[l];

/** 'fr' when the visitor's Accept-Language prefers French to English, else 'en'. */
export function pickLocale(header: string | null): Locale {
  const langs = (header ?? '')
    .split(',')
    .map((p) => {
      const [tag, q] = p.trim().split(';q=');
      return { lang: tag.toLowerCase().split('-')[0], q: q === undefined ? 1 : Number(q) || 0 };
    })
    .filter((x) => x.lang === 'fr' || x.lang === 'en')
    .sort((a, b) => b.q - a.q);
  return langs[0]?.lang === 'fr' ? 'fr' : 'en';
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The default page: product, message, a countdown, and a light poll that hands back to the app. */
export function page(ctx: PageContext): string {
  const t = TEXT[ctx.locale];
  const at = ctx.retryAt ? new Date(ctx.retryAt).toISOString() : '';
  // No JavaScript: the page is readable, and comes back by itself after Retry-After (at least 30 s).
  const refresh = Math.max(30, ctx.retryAfter);
  const title = esc(ctx.product ? `${ctx.product} — ${t.title}` : t.title);
  const product = ctx.product ? `<div class="product">${esc(ctx.product)}</div>` : '';
  // The page's lines, joined with \n; a long line is split in pieces that are concatenated as is.
  return [
    `<!doctype html><html lang="${ctx.locale}"><head><meta charset="utf-8">` +
      '<meta name="viewport" content="width=device-width,initial-scale=1">',
    `<title>${title}</title><noscript><meta http-equiv="refresh" content="${refresh}"></noscript>`,
    '<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:14vh auto;padding:0 1.2rem;' +
      'color:#1f2937;line-height:1.5}',
    '.product{font-weight:600;letter-spacing:.02em;color:#4b5563}h1{font-size:1.7rem;margin:.4rem 0 1rem}' +
      '.eta{font-size:1.1rem;margin:1.2rem 0}',
    '.muted{color:#6b7280;font-size:.95rem}a{color:#2563eb}</style></head>',
    `<body><main>${product}<h1>${t.title}</h1><p>${esc(ctx.message)}</p>`,
    `<p class="eta">${t.back}: <strong id="eta" data-at="${at}">${at ? '' : t.soon}</strong></p>`,
    `<p class="muted">${t.auto} <a href="">${t.retry}</a></p></main>`,
    "<script>(function(){var el=document.getElementById('eta'),at=Date.parse(el.dataset.at||'')," +
      `soon=${JSON.stringify(t.soon)};`,
    'function tick(){if(isNaN(at))return;var s=Math.round((at-Date.now())/1000);if(s<=0){el.textContent=soon;return;}',
    "var m=Math.floor(s/60),r=s%60;el.textContent=(m?m+' min ':'')+(r<10&&m?'0':'')+r+' s';}",
    'tick();setInterval(tick,1000);',
    `var wait=${ctx.pollSeconds}*1000;` +
      "function poll(){fetch(location.href,{method:'HEAD',cache:'no-store'}).then(function(r){",
    'if(r.status!==503){location.reload();}else{setTimeout(poll,wait*(0.8+Math.random()*0.4));}},' +
      'function(){setTimeout(poll,wait*2);});}',
    'setTimeout(poll,wait*(0.5+Math.random()*0.5));})();</script></body></html>',
  ].join('\n');
}

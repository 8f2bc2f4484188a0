// Maintenance mode for a web app, framework-free: Web Request in, a 503 Response or nothing out.
// It reads the lock file `make maintenance-on` writes (JSON: since, reason, retryAfter, by; an
// empty file, as `touch enabled.lock` makes, counts as ON too), at most once per `cacheMs`.
//
// Lets through: the health path (so Swarm / Traefik health checks keep replicas alive), static
// assets, and operators holding a bypass cookie — set by visiting `${bypassPrefix}/${secret}`,
// like Laravel's `artisan down --secret`; the cookie is an HMAC-signed expiry, checked in
// constant time. Node.js runtime (it reads a file): Next.js middleware with runtime 'nodejs'
// (≥ 15.5) or proxy.ts (16).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface MaintenanceLock { since?: string; reason?: string; retryAfter?: number; by?: string }

export interface MaintenanceOptions {
  lockFile?: string; // default: <cwd>/maintenance/enabled.lock (the runbook's /app/maintenance)
  cacheMs?: number; // default 1000
  healthPath?: string; // default /api/health
  bypassSecret?: string; // default: env MAINTENANCE_BYPASS_SECRET; no secret, no bypass
  bypassPrefix?: string; // default /_maintenance
  bypassHours?: number; // cookie lifetime, default 12
  page?: (lock: MaintenanceLock) => string; // the HTML shown to people
}

const COOKIE = 'maintenance_bypass';
const STATIC = /^\/(_next\/static|_next\/image|favicon\.ico|robots\.txt)|\.(css|js|mjs|map|png|jpe?g|gif|svg|ico|webp|avif|woff2?|ttf|txt)$/i;

export function defaultPage(lock: MaintenanceLock): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const minutes = Math.max(1, Math.round((lock.retryAfter ?? 300) / 60));
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Maintenance in progress</title><style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:15vh auto;padding:0 1rem;color:#222}h1{font-size:1.6rem}</style></head>
<body><h1>Maintenance in progress</h1><p>We are upgrading the site${lock.reason ? ` (${esc(lock.reason)})` : ''}. Please come back in about ${minutes} minute${minutes > 1 ? 's' : ''}.</p></body></html>`;
}

const encoder = new TextEncoder();
const b64url = (bytes: ArrayBuffer) => Buffer.from(bytes).toString('base64url');

async function hmac(secret: string, data: string): Promise<string> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
  return b64url(await crypto.subtle.sign('HMAC', key, encoder.encode(data)));
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

async function validBypass(secret: string, value: string | undefined, now: number): Promise<boolean> {
  const [expires, sig] = (value ?? '').split('.');
  if (!expires || !sig || !(Number(expires) > now)) return false;
  return constantTimeEqual(sig, await hmac(secret, `maintenance-bypass:${expires}`));
}

function cookie(request: Request, name: string): string | undefined {
  const header = request.headers.get('cookie') ?? '';
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** Reads the lock file, cached: null when absent (also when it vanished between two reads). */
function lockReader(file: string, cacheMs: number): () => Promise<MaintenanceLock | null> {
  let cached: { at: number; lock: MaintenanceLock | null } | undefined;
  return async () => {
    const now = Date.now();
    if (cached && now - cached.at < cacheMs) return cached.lock;
    let lock: MaintenanceLock | null;
    try {
      const text = await readFile(file, 'utf8');
      try {
        lock = text.trim() ? (JSON.parse(text) as MaintenanceLock) : {};
      } catch {
        lock = {}; // present but not our JSON: still maintenance
      }
    } catch (err) {
      lock = (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : {}; // unreadable: fail closed
    }
    cached = { at: now, lock };
    return lock;
  };
}

/** Builds the check once (it keeps its cache); call it with each request. */
export function maintenanceGuard(opts: MaintenanceOptions = {}): (request: Request) => Promise<Response | undefined> {
  const read = lockReader(opts.lockFile ?? join(process.cwd(), 'maintenance', 'enabled.lock'), opts.cacheMs ?? 1000);
  const secret = opts.bypassSecret ?? process.env.MAINTENANCE_BYPASS_SECRET;
  const prefix = opts.bypassPrefix ?? '/_maintenance';
  const healthPath = opts.healthPath ?? '/api/health';
  return async (request) => {
    const url = new URL(request.url);
    if (url.pathname === healthPath || STATIC.test(url.pathname)) return undefined;
    if (secret && url.pathname.startsWith(`${prefix}/`) && constantTimeEqual(url.pathname.slice(prefix.length + 1), secret)) {
      const expires = Date.now() + (opts.bypassHours ?? 12) * 3600_000;
      const secure = url.protocol === 'https:' ? '; Secure' : '';
      return new Response(null, {
        status: 302,
        headers: { Location: new URL('/', url).toString(), 'Cache-Control': 'no-store', 'Set-Cookie': `${COOKIE}=${await bypassCookieValue(secret, expires)}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${Math.round((expires - Date.now()) / 1000)}${secure}` },
      });
    }
    const lock = await read();
    if (!lock) return undefined;
    if (secret && (await validBypass(secret, cookie(request, COOKIE), Date.now()))) return undefined;
    const retryAfter = String(Number.isInteger(lock.retryAfter) ? lock.retryAfter : 300);
    const headers = { 'Retry-After': retryAfter, 'Cache-Control': 'no-store' };
    const wantsJson = url.pathname.startsWith('/api/') || request.headers.has('next-action') || /application\/json/.test(request.headers.get('accept') ?? '');
    if (wantsJson) {
      return Response.json({ error: 'maintenance', reason: lock.reason ?? null, since: lock.since ?? null, retryAfter: Number(retryAfter) }, { status: 503, headers });
    }
    return new Response((opts.page ?? defaultPage)(lock), { status: 503, headers: { ...headers, 'Content-Type': 'text/html; charset=utf-8' } });
  };
}

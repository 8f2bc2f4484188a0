// One process of the web app, as a real Prisma 7 user writes it: the generated client with the pg
// driver adapter, and nextjs/maintenance.ts's databaseProbe reporting the labels the client knows,
// with the `run` docs/app-side.md gives for Prisma. Tells the test what it sees as JSON lines:
//   {"ev":"ready","instance","pid","labels"}   {"ev":"log","line"}   {"ev":"probe","on"}
//   {"ev":"read","ok","roles"|"kind","message"}   {"ev":"write","ok","email"|"kind","message"}
// Environment: APP_DIR (the scratch app), CLIENT (its generated client.ts), DATABASE_URL, APP_BUILD,
// REPORT_MS (report interval), POLL_MS (reads and writes through Prisma every this many ms; 0: none).
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { databaseProbe } from '../../nextjs/maintenance.js';

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`app: ${name} is not set`);
  return v;
};
const emit = (ev: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ at: Date.now(), ...ev })}\n`);

// The app's own dependencies, resolved from the scratch app (this file lives in the repository).
const fromApp = createRequire(join(env('APP_DIR'), 'package.json'));
const { PrismaPg } = await import(pathToFileURL(fromApp.resolve('@prisma/adapter-pg')).href);
const { PrismaClient, Role } = await import(pathToFileURL(env('CLIENT')).href);

const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: env('DATABASE_URL') }) });
const labels = Object.values(Role) as string[];
const build = process.env.APP_BUILD;

/** What kind of failure: Prisma's code, and the SQLSTATE its message gives ("P2039/25006"). */
function kind(err: unknown): string {
  const e = err as { code?: string; name?: string; message?: string };
  const sqlstate = /\bCode: `([0-9A-Z]{5})`/.exec(e.message ?? '')?.[1];
  return [e.code ?? e.name ?? 'Error', sqlstate].filter(Boolean).join('/');
}
const firstLine = (err: unknown) =>
  String((err as Error).message ?? err)
    .trim()
    .split('\n')
    .slice(-1)[0]
    .slice(0, 300);

// The drop-in's probe, exactly as docs/app-side.md ("The app's labels") has it for Prisma.
const probe = databaseProbe((sql) => prisma.$queryRawUnsafe(sql), {
  enums: { Role: Object.values(Role) },
  build,
  // Prisma runs one statement per call: give it the report's statements as one transaction.
  run: (sqls) => prisma.$transaction(sqls.map((q) => prisma.$executeRawUnsafe(q))),
  intervalMs: Number(process.env.REPORT_MS) || undefined,
  log: (line) => emit({ ev: 'log', line }),
});
emit({ ev: 'ready', instance: `${hostname()}:${process.pid}`, pid: process.pid, labels, build });

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    stopping = true;
    void prisma.$disconnect().finally(() => process.exit(0));
  });
}

async function loop(ms: number, body: () => Promise<void>): Promise<void> {
  while (!stopping) {
    await body();
    await sleep(ms);
  }
}

// The maintenance flag, as the guard reads it (through the same Prisma client).
void loop(250, async () => {
  try {
    emit({ ev: 'probe', on: (await probe()) !== null });
  } catch (err) {
    emit({ ev: 'probe', on: null, kind: kind(err), message: firstLine(err) });
  }
});

const pollMs = Number(process.env.POLL_MS ?? 0);
if (pollMs > 0) {
  // Reads and writes in loops of their own: a write waiting on a lock never holds the reads back.
  void loop(pollMs, async () => {
    try {
      const users: { role: string }[] = await prisma.user.findMany();
      const roles: Record<string, number> = {};
      for (const u of users) roles[u.role] = (roles[u.role] ?? 0) + 1;
      emit({ ev: 'read', ok: true, roles });
    } catch (err) {
      emit({ ev: 'read', ok: false, kind: kind(err), message: firstLine(err) });
    }
  });
  let n = 0;
  void loop(pollMs, async () => {
    // ADMIN: a label every version of the type has, so a write fails only when the database refuses it.
    const email = `app-${process.pid}-${++n}@example.com`;
    try {
      await prisma.user.create({ data: { id: randomUUID(), email, role: Role.ADMIN } });
      emit({ ev: 'write', ok: true, email });
    } catch (err) {
      emit({ ev: 'write', ok: false, email, kind: kind(err), message: firstLine(err) });
    }
  });
}

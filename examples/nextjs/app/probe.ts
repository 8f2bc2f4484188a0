// The guard's database probe (README, "Replicas on other nodes") with the report of the labels this
// build's client knows (docs/app-side.md, "The app's labels"), exactly as a Prisma user writes it.
// The drop-in (proxy.ts / middleware.ts) passes it to maintenanceGuard({ probe }).
import { Role } from '../generated/client';
import { databaseProbe } from '../lib/maintenance';
import { prisma } from './db';

export const probe = databaseProbe((sql) => prisma.$queryRawUnsafe(sql), {
  enums: { Role: Object.values(Role) },
  build: process.env.APP_BUILD,
  // Prisma runs one statement per call: give it the report's statements as one transaction.
  run: (sqls) => prisma.$transaction(sqls.map((q) => prisma.$executeRawUnsafe(q))),
  intervalMs: Number(process.env.APP_REPORT_MS) || undefined,
});

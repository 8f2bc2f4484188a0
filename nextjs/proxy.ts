// Next.js 16: copy this file to your project root (beside app/) and maintenance.ts to lib/.
// proxy.ts always runs on the Node.js runtime, which maintenance.ts needs to read the lock file.
import { NextResponse, type NextRequest } from 'next/server';
import { maintenanceGuard } from './lib/maintenance';

// Replicas that do not see the lock folder (other Swarm nodes): add the database's flag as a
// probe, through the client your app already has (see the README), e.g. with Prisma:
//   probe: databaseProbe((sql) => prisma.$queryRawUnsafe(sql)),
const guard = maintenanceGuard({
  lockFile: process.env.MAINTENANCE_LOCK_FILE,
  product: process.env.MAINTENANCE_PRODUCT,
});

export async function proxy(request: NextRequest) {
  return (await guard(request)) ?? NextResponse.next();
}

// Everything but Next's own static files: pages, API routes and Server Actions (POSTs to pages).
export const config = { matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'] };

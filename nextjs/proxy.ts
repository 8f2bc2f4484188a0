// Next.js 16: copy this file to your project root (beside app/) and maintenance.ts to lib/.
// proxy.ts always runs on the Node.js runtime, which maintenance.ts needs to read the lock file.
import { NextResponse, type NextRequest } from 'next/server';
import { maintenanceGuard } from './lib/maintenance';

const guard = maintenanceGuard({ lockFile: process.env.MAINTENANCE_LOCK_FILE });

export async function proxy(request: NextRequest) {
  return (await guard(request)) ?? NextResponse.next();
}

// Everything but Next's own static files: pages, API routes and Server Actions (POSTs to pages).
export const config = { matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'] };

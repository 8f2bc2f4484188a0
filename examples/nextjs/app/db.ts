// The app's one Prisma client (Prisma 7: the generated client with the pg driver adapter). Kept on
// globalThis: the proxy and the pages are bundled apart but share the process, and so one pool.
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/client';

const shared = globalThis as { prisma?: PrismaClient };
export const prisma: PrismaClient =
  shared.prisma ?? new PrismaClient({ adapter: new PrismaPg({ connectionString: process.env.DATABASE_URL }) });
shared.prisma = prisma;

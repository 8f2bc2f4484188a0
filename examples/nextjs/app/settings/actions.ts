'use server';
// A Server Action that writes a user's role through Prisma. Each run first appends a line to
// ACTION_LOG, so a test can tell whether it ran during maintenance (it must not).
import { appendFileSync } from 'node:fs';
import { Role } from '../../generated/client';
import { prisma } from '../db';

const roles: readonly string[] = Object.values(Role);

export async function saveRole(form: FormData): Promise<void> {
  const id = String(form.get('id') ?? '');
  const role = String(form.get('role'));
  appendFileSync(process.env.ACTION_LOG ?? '/tmp/breaking-migrations-example-actions.log', `${id} ${role}\n`);
  if (!id) return; // the form without a user: nothing to write
  if (!roles.includes(role)) throw new Error(`unknown role ${role}: this build knows ${roles.join(', ')}`);
  await prisma.user.update({ where: { id }, data: { role: role as Role } });
}

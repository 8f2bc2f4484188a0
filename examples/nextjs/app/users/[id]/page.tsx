// A user's role, read through Prisma on every request: the page that breaks with
// `P2023 Value 'EMPLOYEE' not found in enum 'Role'` when this build's client does not know a label
// the database holds. Its segment may look like a file name (/users/1.png): a page like any other.
import { prisma } from '../../db';

export const dynamic = 'force-dynamic';

export default async function User({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const user = await prisma.user.findUnique({ where: { id }, select: { email: true, role: true } });
  return (
    <main>
      <h1>User {id}</h1>
      {user ? (
        <p>
          {user.email}: <span id="role">{user.role}</span>
        </p>
      ) : (
        <p>No such user.</p>
      )}
    </main>
  );
}

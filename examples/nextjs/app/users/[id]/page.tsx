// A dynamic route whose segment may look like a file name (/users/1.png): a page like any other.
export const dynamic = 'force-dynamic';

export default async function User({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <main>
      <h1>User {id}</h1>
    </main>
  );
}

import { saveRole } from './actions';

export const dynamic = 'force-dynamic';

// /settings?id=… : the form that changes that user's role (a Server Action).
export default async function Settings({ searchParams }: { searchParams: Promise<{ id?: string }> }) {
  const { id = '' } = await searchParams;
  return (
    <main>
      <h1>Settings</h1>
      <form action={saveRole}>
        <input type="hidden" name="id" defaultValue={id} />
        <input name="role" defaultValue="EMPLOYEE" />
        <button type="submit">Save</button>
      </form>
    </main>
  );
}

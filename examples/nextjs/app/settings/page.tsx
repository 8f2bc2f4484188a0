import { saveRole } from './actions';

export const dynamic = 'force-dynamic';

export default function Settings() {
  return (
    <main>
      <h1>Settings</h1>
      <form action={saveRole}>
        <input name="role" defaultValue="EMPLOYEE" />
        <button type="submit">Save</button>
      </form>
    </main>
  );
}

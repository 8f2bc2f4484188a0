// A page rendered per request, so that the test sees the live answer, not a build-time copy.
export const dynamic = 'force-dynamic';

export default function Home() {
  return (
    <main>
      <h1>Pulse Work</h1>
      <p>The application is up.</p>
    </main>
  );
}

// A route handler that writes (POST): maintenance must stop it.
export const dynamic = 'force-dynamic';

export async function POST(request: Request) {
  return Response.json({ echo: await request.text() });
}

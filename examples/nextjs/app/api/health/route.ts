// Swarm / Traefik health check: answers 200 even during maintenance (the guard lets it through).
export const dynamic = 'force-dynamic';

export function GET() {
  return Response.json({ ok: true });
}

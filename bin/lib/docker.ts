// Commands that run on the host or inside a container. The command is the same either way;
// only the prefix differs, so the host path (empty prefix) tests the container path's command.
// Secrets cross into the container by *name* (`-e PGPASSWORD`): docker copies the value from
// its own environment, so it never appears in a process list.

/** `docker exec [-i] [-e NAME]… CONTAINER`, or nothing when no container is named. */
export function execPrefix(container: string | undefined, opts: { stdin?: boolean; env?: string[] } = {}): string[] {
  if (!container) return [];
  return ['docker', 'exec', ...(opts.stdin ? ['-i'] : []), ...(opts.env ?? []).flatMap((name) => ['-e', name]), container];
}

/** Lists the running task containers of a Swarm service on this node. */
export function serviceTasksCommand(service: string): string[] {
  return ['docker', 'ps', '--quiet', '--filter', `label=com.docker.swarm.service.name=${service}`, '--filter', 'status=running'];
}

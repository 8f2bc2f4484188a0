// Commands that run on the host or inside a container. The command is the same either way;
// only the prefix differs, so the host path (empty prefix) tests the container path's command.
// Secrets cross into the container by *name* (`-e PGPASSWORD`): docker copies the value from
// its own environment, so it never appears in a process list.
import { quiet } from './programs.js';
import { Refusal } from './refusal.js';

export interface ExecOptions {
  stdin?: boolean;
  tty?: boolean;
  env?: string[];
  user?: string;
}

/** `docker exec [-i] [-t] [-u USER] [-e NAME]… CONTAINER`, or nothing when no container is named. */
export function execPrefix(container: string | undefined, opts: ExecOptions = {}): string[] {
  if (!container) return [];
  return [
    'docker',
    'exec',
    ...(opts.stdin ? ['-i'] : []),
    ...(opts.tty ? ['-t'] : []),
    ...(opts.user ? ['-u', opts.user] : []),
    ...(opts.env ?? []).flatMap((name) => ['-e', name]),
    container,
  ];
}

/** Lists the running task containers of a Swarm service on this node: their IDs, or `format`'s lines. */
export function serviceTasksCommand(service: string, format?: string): string[] {
  return [
    'docker',
    'ps',
    ...(format ? ['--format', format] : ['--quiet']),
    '--filter',
    `label=com.docker.swarm.service.name=${service}`,
    '--filter',
    'status=running',
  ];
}

/** The last line docker wrote on stderr: its error. */
export const lastError = (stderr: string) => stderr.trim().split('\n').pop() || 'docker failed';

/**
 * The running tasks of a Swarm service on this node, asked now: a task gets a new container
 * (and name) on every restart, so a name kept from an earlier command may be gone.
 * `variable` names the setting in the refusal (APP_SERVICE, PG_SERVICE).
 */
export async function runningTasks(service: string, variable: string): Promise<string[]> {
  const out = await quiet`${serviceTasksCommand(service)}`;
  if (out.exitCode !== 0) {
    throw new Refusal(
      `${variable}: cannot list the tasks of service ${service}: ${lastError(out.stderr)}.`,
      'Run this on a Swarm node as a user who may run `docker ps` (root or the docker group).',
    );
  }
  const ids = out.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (ids.length === 0) {
    throw new Refusal(
      `${variable}: no running task of service ${service} on this node.`,
      `Check the name with \`docker service ls\` and where its tasks run with \`docker service ps ${service}\`; ` +
        'run this on a node that hosts one.',
    );
  }
  return ids;
}

/** A refusal unless the named container exists here and is running. */
export async function checkRunning(container: string, variable: string): Promise<void> {
  const out = await quiet`docker inspect --type container --format ${'{{.State.Running}}'} ${container}`;
  if (out.exitCode !== 0) {
    throw new Refusal(
      `${variable}: no container ${container} on this node (${lastError(out.stderr)}).`,
      `List the running ones with \`docker ps --format '{{.Names}}'\`; in a Swarm, name the service instead.`,
    );
  }
  if (out.stdout.trim() !== 'true') {
    throw new Refusal(
      `${variable}: container ${container} is not running.`,
      `Start it (\`docker start ${container}\`), or name the one that serves the app or the database.`,
    );
  }
}

/**
 * The app's running containers (APP_CONTAINER, or APP_SERVICE's tasks on this node), each by the
 * names its processes may give as their host: its hostname is the container's short ID unless
 * the stack sets one (`hostname: "{{.Task.Name}}"`, the task's container name). One `docker`
 * call for a service. Undefined when neither is set, or docker cannot tell.
 */
export async function appContainers(s: {
  appContainer?: string;
  appService?: string;
}): Promise<string[][] | undefined> {
  const rows = async (argv: string[]) => {
    const out = await quiet`${argv}`;
    if (out.exitCode !== 0) return [];
    return out.stdout
      .split('\n')
      .map((l) => l.trim().split(' '))
      .filter((r) => r[0]);
  };
  const hostname = ['docker', 'inspect', '--type', 'container', '--format', '{{.Config.Hostname}}'];
  const found = [
    ...(s.appContainer ? await rows([...hostname, s.appContainer]) : []),
    ...(s.appService ? await rows(serviceTasksCommand(s.appService, '{{.ID}} {{.Names}}')) : []),
  ];
  return found.length ? found : undefined;
}

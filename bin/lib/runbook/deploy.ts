// APP_IMAGE with APP_SERVICE (issue 21.4): the final app ships inside the maintenance window. After
// the final checks, `docker service update --image` of the app's service; maintenance goes off only
// once every task runs the new image and the instances that report since can read the final labels.
// Anything else (Swarm paused or rolled the update back, the time ran out): maintenance stays ON.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Settings } from '../connection/config.js';
import { lastError } from '../connection/docker.js';
import { quiet } from '../connection/programs.js';
import type { Sql } from '../connection/db.js';
import { Refusal } from '../connection/refusal.js';
import type { EnumSpec } from '../enum/enum-spec.js';
import { seenInstances, unknownLabels } from './instances.js';

/** Preflight: APP_IMAGE needs APP_SERVICE, and the image must be there (pulled now when it is not). */
export async function deployPreflight(s: Settings, log: (l: string) => void): Promise<void> {
  if (!s.appImage) return;
  if (!s.appService) {
    throw new Refusal(
      'APP_IMAGE needs APP_SERVICE: the image ships by `docker service update` of that service.',
      "Set APP_SERVICE to the app's Swarm service, or unset APP_IMAGE and deploy the app yourself.",
    );
  }
  const have = await quiet`docker image inspect --format ${'{{.Id}}'} ${s.appImage}`;
  if (have.exitCode === 0) return;
  log(`  preflight: pulling ${s.appImage} (not on this node)…`);
  const pulled = await quiet`docker pull ${s.appImage}`;
  if (pulled.exitCode !== 0) {
    throw new Refusal(
      `APP_IMAGE: ${s.appImage} is not on this node and cannot be pulled (${lastError(pulled.stderr)}).`,
      'Build or push the image first (`docker image ls` lists what this node has), then run again.',
    );
  }
}

interface ServiceState {
  image: string;
  update: string;
  replicas: number; // 0 for a global service
  tasks: { image: string; state: string }[];
}

async function serviceState(service: string): Promise<ServiceState> {
  const format =
    '{{.Spec.TaskTemplate.ContainerSpec.Image}}|{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}|' +
    '{{if .Spec.Mode.Replicated}}{{.Spec.Mode.Replicated.Replicas}}{{end}}';
  const spec = await quiet`docker service inspect --format ${format} ${service}`;
  if (spec.exitCode !== 0) throw new Error(`docker service inspect ${service}: ${lastError(spec.stderr)}`);
  const [image, update, replicas] = spec.stdout.trim().split('|');
  const ps =
    await quiet`docker service ps ${service} --filter desired-state=running --format ${'{{.Image}}|{{.CurrentState}}'}`;
  if (ps.exitCode !== 0) throw new Error(`docker service ps ${service}: ${lastError(ps.stderr)}`);
  const tasks = ps.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [img, state] = l.split('|');
      return { image: img, state };
    });
  return { image, update, replicas: Number(replicas) || 0, tasks };
}

/** The image as Swarm writes it (`name:tag@sha256:…`) is the image asked for. */
const sameImage = (running: string, wanted: string) => running === wanted || running.startsWith(`${wanted}@`);

/**
 * Ships APP_IMAGE and waits (APP_DEPLOY_TIMEOUT) for every task to run it and for the app's
 * reports since the update to read the final labels. Returns what it saw; throws with the state,
 * the rollback command and the way back otherwise (the failure block adds that maintenance stays ON).
 */
export async function deployImage(
  sql: Sql,
  s: Settings,
  spec: EnumSpec | undefined,
  log: (l: string) => void,
): Promise<{ image: string; tasks: number; reported: number; replaced: string[]; at: string }> {
  const service = s.appService as string;
  const image = s.appImage as string;
  // The instances up before the update: the new processes are the others (by name, not by clock).
  const old = new Set(spec ? (await seenInstances(sql, { seenS: s.appSeenS })).map((i) => i.instance) : []);
  const reportsBefore = old.size;
  const started = new Date();
  const update = await quiet`docker service update --detach --image ${image} ${service}`;
  if (update.exitCode !== 0)
    throw new Error(`docker service update --image ${image} ${service}: ${lastError(update.stderr)}`);
  const deadline = Date.now() + s.appDeployTimeoutS * 1000;
  const giveUp = (why: string) =>
    new Error(
      `the new app image did not take over: ${why}; \`docker service rollback ${service}\` goes back to ` +
        'the previous image (the database is migrated: it must read the new labels)',
    );
  let said = '';
  for (;;) {
    const st = await serviceState(service);
    if (/paused|rollback/.test(st.update))
      throw giveUp(`Swarm's update is ${st.update} (\`docker service ps ${service}\`)`);
    // Every task Swarm wants (the replicas, or every running task of a global service) on the image.
    const wanted = st.replicas || st.tasks.length;
    const onNew = st.tasks.filter((t) => sameImage(t.image, image) && t.state.startsWith('Running'));
    const ready = wanted > 0 && onNew.length >= wanted && st.update !== 'updating';
    let reported = 0;
    if (ready && spec && reportsBefore > 0) {
      // The apps reported before: wait for the new processes to report, and check what they know;
      // the replaced ones' last reports do not count.
      const since = await seenInstances(sql, { seenS: s.appSeenS, since: started });
      const fresh = since.filter((i) => !old.has(i.instance));
      const cannot = fresh.filter((i) => unknownLabels(i, spec.type, spec.to).length > 0);
      if (cannot.length) throw giveUp(`${cannot.map((i) => i.instance).join(', ')} cannot read ${spec.to.join(', ')}`);
      reported = fresh.length;
    }
    if (ready && (!spec || reportsBefore === 0 || reported >= wanted))
      return { image, tasks: onNew.length, reported, replaced: [...old], at: new Date().toISOString() };
    if (Date.now() > deadline) {
      throw giveUp(
        `after ${s.appDeployTimeoutS} s, ${onNew.length} of ${wanted} task(s) run it` +
          (reportsBefore > 0 ? `, ${reported} new instance(s) reported` : ''),
      );
    }
    // Said when it changes; the step's own ticker says that time goes on.
    const progress = `${onNew.length} of ${wanted} task(s) on ${image}${st.update ? ` (${st.update})` : ''}`;
    if (progress !== said) log(`  … app-image: ${progress}`);
    said = progress;
    await sleep(1000);
  }
}

import { z } from 'zod';
import type { DeployHooksConfig } from './config.js';
import { type ChangeStatus, type EventRecord, type HookResult, ignored, invalid, renamed } from './hook-result.js';

/**
 * GitHub's `deployment` and `deployment_status` webhook events as Harbinger context events
 * (https://docs.github.com/webhooks/webhook-events-and-payloads#deployment). Only the fields used
 * are read; the rest of GitHub's payload is ignored, as the record parser ignores unknown fields.
 *
 * - `deployment` (action `created`): the change started, at `deployment.created_at`.
 * - `deployment_status` (action `created`) in state `success`: it succeeded; `failure` or `error`:
 *   it failed. `pending`, `queued`, `in_progress` and `inactive` are steps or retirements, not
 *   changes: answered 2xx as ignored.
 * - A deployment whose `task` says rollback (`rollback`, `deploy:rollback`), or whose `payload`
 *   has `"rollback": true`, is a rollback (GitHub has no rollback state of its own).
 *
 * Stack: the environment (`deployHooks.github.stacks` renames it), or `payload.stack`. Service:
 * `payload.service`, else the repository (`deployHooks.github.services`, else its name). Version:
 * `payload.version` (a release tag the workflow knows), else the commit SHA; `payload.previousVersion`
 * when the workflow names it (else Harbinger infers it from the deployment it saw before).
 */

const text = (max: number) => z.string().max(max);

const deployment = z.object({
  id: z.number().int().nonnegative(),
  sha: text(200),
  ref: text(1000).optional(),
  task: text(200).optional(),
  // GitHub documents the payload as an object or a string (whatever the creator sent).
  payload: z.union([z.record(z.string(), z.unknown()), z.string()]).optional(),
  environment: text(1000).min(1),
  created_at: z.string(),
});
const repository = z.object({ name: text(200).min(1), full_name: text(300).min(1) });

const deploymentEvent = z.object({ action: z.string(), deployment, repository });
const deploymentStatusEvent = z.object({
  action: z.string(),
  deployment_status: z.object({
    id: z.number().int().nonnegative(),
    state: z.string(),
    environment: text(1000).optional(),
    created_at: z.string(),
  }),
  deployment,
  repository,
});

const STATUS_OF_STATE: Readonly<Record<string, ChangeStatus>> = { success: 'succeeded', failure: 'failed', error: 'failed' };

/** `event`: the X-GitHub-Event header; `payload`: the parsed JSON body (its signature already checked). */
export function fromGitHub(event: string, payload: unknown, cfg: DeployHooksConfig['github']): HookResult {
  if (event === 'ping') return ignored('ping: GitHub is checking the webhook; nothing to record');
  if (event === 'deployment') {
    const p = deploymentEvent.safeParse(payload);
    if (!p.success) return invalid('a GitHub deployment event', p.error);
    if (p.data.action !== 'created') return ignored(`deployment action '${p.data.action.slice(0, 40)}' (only 'created' starts a change)`);
    const d = p.data.deployment;
    return { kind: 'events', records: [record(cfg, d, p.data.repository, 'started', d.environment, d.created_at, '')] };
  }
  if (event === 'deployment_status') {
    const p = deploymentStatusEvent.safeParse(payload);
    if (!p.success) return invalid('a GitHub deployment_status event', p.error);
    const s = p.data.deployment_status;
    if (p.data.action !== 'created') return ignored(`deployment_status action '${p.data.action.slice(0, 40)}'`);
    const status = Object.hasOwn(STATUS_OF_STATE, s.state) ? STATUS_OF_STATE[s.state] : undefined;
    if (status === undefined)
      return ignored(
        `deployment_status '${s.state.slice(0, 40)}' is not a change Harbinger records (the deployment event marks the start; success, failure and error the end)`,
      );
    const env = s.environment !== undefined && s.environment !== '' ? s.environment : p.data.deployment.environment;
    return { kind: 'events', records: [record(cfg, p.data.deployment, p.data.repository, status, env, s.created_at, `-${s.state}`)] };
  }
  return ignored(`GitHub '${event.slice(0, 60)}' events are not changes Harbinger records (subscribe the webhook to deployments and deployment statuses only)`);
}

function record(
  cfg: DeployHooksConfig['github'],
  d: z.infer<typeof deployment>,
  repo: z.infer<typeof repository>,
  status: ChangeStatus,
  environment: string,
  ts: string,
  suffix: string,
): EventRecord {
  const extra = typeof d.payload === 'object' ? d.payload : {};
  const str = (k: string): string | undefined => (typeof extra[k] === 'string' && extra[k] !== '' ? (extra[k] as string) : undefined);
  const rollback = extra['rollback'] === true || /(^|:)rollback$/i.test(d.task ?? '');
  const service = str('service') ?? (Object.hasOwn(cfg.services, repo.full_name) ? cfg.services[repo.full_name]! : repo.name);
  const previousVersion = str('previousVersion');
  return {
    type: 'event',
    ts,
    kind: rollback ? 'rollback' : 'deployment',
    // One id per deployment and outcome: a redelivery (GitHub's "Redeliver") carries the same one.
    id: `github-${repo.full_name}-${d.id}${suffix}`,
    stack: str('stack') ?? renamed(cfg.stacks, environment),
    service,
    attributes: {
      version: str('version') ?? d.sha,
      ...(previousVersion !== undefined ? { previousVersion } : {}),
      status,
      source: 'github',
      sha: d.sha,
      ...(d.ref !== undefined ? { ref: d.ref } : {}),
      environment,
      repository: repo.full_name,
      deploymentId: d.id,
    },
  };
}

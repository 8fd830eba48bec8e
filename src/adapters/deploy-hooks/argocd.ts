import { z } from 'zod';
import type { DeployHooksConfig } from './config.js';
import { type ChangeStatus, type HookResult, ignored, invalid, renamed } from './hook-result.js';

/**
 * Argo CD's notifications controller sends whatever body a template renders, so Harbinger ships
 * one (README, "Argo CD") and reads exactly what it renders: the Application's name, project,
 * labels, destination, the sync operation's phase, times and revision, and the revisions in its
 * history. Argo CD renders webhook bodies with Go's text/template, which prints `<no value>` for a
 * key the Application does not have: such a value counts as absent.
 *
 * Operation phase `Running`: the change started (at `startedAt`); `Succeeded`: it succeeded;
 * `Failed` or `Error`: it failed (at `finishedAt`). `Terminating` is ignored (2xx).
 * A sync to a revision the history holds from before the one now deployed is a rollback
 * (`argocd app rollback`, or a sync to an older revision). A `Running` sync of the revision
 * already deployed (a self-heal re-sync) changes no version: ignored.
 */

const NO_VALUE = '<no value>';
const opt = (max: number) =>
  z
    .string()
    .max(max)
    .optional()
    .transform((v) => (v === undefined || v === '' || v === NO_VALUE ? undefined : v));

export const argoCdPayloadSchema = z.object({
  app: z.string().min(1).max(253),
  project: opt(253),
  labels: z.record(z.string().max(317), z.string().max(63)).default({}),
  destination: z.object({ server: opt(2048), name: opt(253), namespace: opt(253) }).prefault({}),
  phase: z.string().max(40),
  startedAt: opt(64),
  finishedAt: opt(64),
  revision: opt(200),
  /** Revisions of the Application's sync history, oldest first (Argo CD keeps 10 by default). */
  history: z.array(z.string().max(200)).max(100).default([]),
});

export type ArgoCdPayload = z.infer<typeof argoCdPayloadSchema>;

const STATUS_OF_PHASE: Readonly<Record<string, ChangeStatus>> = { Running: 'started', Succeeded: 'succeeded', Failed: 'failed', Error: 'failed' };

export function fromArgoCd(payload: unknown, cfg: DeployHooksConfig['argocd']): HookResult {
  const p = argoCdPayloadSchema.safeParse(payload);
  if (!p.success) return invalid("Harbinger's Argo CD notification template (see the README)", p.error);
  const a = p.data;
  const status = Object.hasOwn(STATUS_OF_PHASE, a.phase) ? STATUS_OF_PHASE[a.phase]! : undefined;
  if (status === undefined) return ignored(`Argo CD operation phase '${a.phase}' is not a change (Running, Succeeded, Failed and Error are)`);
  const where = stackSource(a, cfg);
  if (where.value === undefined) return ignored(`Application '${a.app}' has no ${where.what}: Harbinger cannot tell which stack it deploys to`);
  const history = a.history.filter((r) => r !== '' && r !== NO_VALUE);
  const revision = a.revision;
  if (status === 'started' && revision !== undefined && history[history.length - 1] === revision)
    return ignored(`Application '${a.app}' is re-syncing revision ${revision}, already deployed: no version changes`);
  // The version deployed before this one: the newest entry of the history that is not this revision
  // (a finished sync may already be in the history, and a repeated one more than once).
  let i = history.length - 1;
  while (i >= 0 && history[i] === revision) i--;
  const previousVersion = i >= 0 ? history[i] : undefined;
  const rollback = revision !== undefined && i > 0 && history.slice(0, i).includes(revision);
  const ts = status === 'started' ? a.startedAt : (a.finishedAt ?? a.startedAt);
  if (ts === undefined)
    return { kind: 'invalid', reason: `no ${status === 'started' ? 'startedAt' : 'finishedAt or startedAt'}: the template sends the operation's times` };
  const service = a.labels[cfg.serviceLabel];
  return {
    kind: 'events',
    records: [
      {
        type: 'event',
        ts,
        kind: rollback ? 'rollback' : 'deployment',
        // One id per sync operation and outcome: Argo CD's retries of a delivery carry the same one.
        id: `argocd-${a.app}-${a.startedAt ?? ts}-${status}`,
        stack: renamed(cfg.stacks, where.value),
        service: service !== undefined && service !== '' && service !== NO_VALUE ? service : a.app,
        attributes: {
          ...(revision !== undefined ? { version: revision } : {}),
          ...(previousVersion !== undefined ? { previousVersion } : {}),
          status,
          source: 'argocd',
          application: a.app,
          ...(a.project !== undefined ? { project: a.project } : {}),
          ...(a.destination.namespace !== undefined ? { namespace: a.destination.namespace } : {}),
        },
      },
    ],
  };
}

function stackSource(a: ArgoCdPayload, cfg: DeployHooksConfig['argocd']): { what: string; value: string | undefined } {
  if (cfg.stackFrom === 'cluster') return { what: 'destination cluster', value: a.destination.name ?? a.destination.server };
  if (cfg.stackFrom === 'namespace') return { what: 'destination namespace', value: a.destination.namespace };
  const v = a.labels[cfg.stackLabel];
  return { what: `'${cfg.stackLabel}' label (deployHooks.argocd.stackLabel)`, value: v === undefined || v === '' || v === NO_VALUE ? undefined : v };
}

import { z } from 'zod';
import type { DeployHooksConfig } from './config.js';
import { type ChangeStatus, type HookResult, ignored, invalid } from './hook-result.js';

/**
 * Flagger's event webhook (a canary's `analysis.webhooks` entry of `type: event`, or the
 * controller's `-event-webhook` flag) POSTs every Kubernetes event Flagger records for a canary:
 * `{name, namespace, phase, checksum, metadata: {eventMessage, eventType, timestamp, ...}}`, the
 * timestamp in epoch milliseconds as a string (fluxcd/flagger, pkg/controller/webhook.go,
 * CallEventWebhook; docs/gitbook/usage/webhooks.md). Recent Flagger versions add the webhook's own
 * `metadata` entries (never overriding its own keys); older ones send only the three.
 *
 * Most events are steps of the analysis ("Advance podinfo.test canary weight 10"). Three are
 * changes, told apart by the messages Flagger has written since its first releases:
 * "New revision detected! ..." (the new version starts taking traffic), "Promotion completed! ..."
 * (it replaced the primary), "Canary failed! ..." (Flagger rolled it back). The rest: ignored (2xx).
 */

export const flaggerEventSchema = z.object({
  name: z.string().min(1).max(253),
  namespace: z.string().min(1).max(253),
  phase: z.string().max(40).optional(),
  checksum: z.string().max(200).optional(),
  metadata: z.record(z.string().max(200), z.string().max(4096)),
});

const CHANGES: readonly [RegExp, 'deployment' | 'rollback', ChangeStatus][] = [
  [/^New revision detected!/, 'deployment', 'started'],
  [/^Promotion completed!/, 'deployment', 'succeeded'],
  [/^Canary failed!/, 'rollback', 'rolled_back'],
];

export function fromFlagger(payload: unknown, cfg: DeployHooksConfig['flagger']): HookResult {
  const p = flaggerEventSchema.safeParse(payload);
  if (!p.success) return invalid('a Flagger event webhook payload ({name, namespace, phase, metadata: {eventMessage, eventType, timestamp}})', p.error);
  const e = p.data;
  const message = e.metadata['eventMessage'];
  if (message === undefined)
    return { kind: 'invalid', reason: 'metadata.eventMessage: required (Flagger event webhooks carry it; is this another webhook type?)' };
  const change = CHANGES.find(([re]) => re.test(message));
  if (change === undefined) return ignored(`Flagger event "${message.slice(0, 80)}" is a step of the analysis, not a change`);
  const stamp = e.metadata['timestamp'];
  if (stamp === undefined || !/^\d{1,15}$/.test(stamp))
    return { kind: 'invalid', reason: 'metadata.timestamp: expected epoch milliseconds as a string, as Flagger sends it' };
  const [, kind, status] = change;
  const canary = `${e.namespace}/${e.name}`;
  const service = Object.hasOwn(cfg.services, canary) ? cfg.services[canary]! : (nonEmpty(e.metadata['service']) ?? e.name);
  const version = nonEmpty(e.metadata['version']);
  return {
    kind: 'events',
    records: [
      {
        type: 'event',
        ts: Number(stamp),
        kind,
        id: `flagger-${canary}-${stamp}-${status}`,
        stack: nonEmpty(e.metadata['stack']) ?? cfg.stack,
        service,
        // Chosen fields only: the metadata may hold a token (Harbinger's, or another receiver's), never kept.
        attributes: {
          ...(version !== undefined ? { version } : {}),
          status,
          source: 'flagger',
          canary,
          ...(e.phase !== undefined ? { phase: e.phase } : {}),
          ...(e.checksum !== undefined ? { checksum: e.checksum } : {}),
          message: message.slice(0, 500),
        },
      },
    ],
  };
}

const nonEmpty = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v);

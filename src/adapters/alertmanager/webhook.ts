import { z } from 'zod';
import type { AlertTrigger } from '../../domain/decision.js';
import type { LabelMapping } from '../../config/service.js';
import { SIGNALS, type Signal } from '../../domain/types.js';

/** Alertmanager's webhook payload, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
export const alertmanagerPayloadSchema = z.object({
  version: z.literal('4'),
  groupKey: z.string(),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string(),
  groupLabels: z.record(z.string(), z.string()).default({}),
  commonLabels: z.record(z.string(), z.string()).default({}),
  commonAnnotations: z.record(z.string(), z.string()).default({}),
  externalURL: z.string().default(''),
  alerts: z.array(
    z.object({
      status: z.enum(['firing', 'resolved']),
      labels: z.record(z.string(), z.string()),
      annotations: z.record(z.string(), z.string()).default({}),
      startsAt: z.string(),
      endsAt: z.string().optional(),
      generatorURL: z.string().optional(),
      fingerprint: z.string().min(1),
    }),
  ),
});

export type AlertmanagerPayload = z.infer<typeof alertmanagerPayloadSchema>;

const SIGNAL_SET: ReadonlySet<string> = new Set(SIGNALS);

/** Alerts of one payload as triggers; those without a stack label are reported, not guessed. */
export function toTriggers(p: AlertmanagerPayload, m: LabelMapping): { triggers: AlertTrigger[]; unmapped: { fingerprint: string; reason: string }[] } {
  const triggers: AlertTrigger[] = [];
  const unmapped: { fingerprint: string; reason: string }[] = [];
  for (const a of p.alerts) {
    const stack = a.labels[m.stackLabel];
    if (stack === undefined || stack === '') {
      unmapped.push({ fingerprint: a.fingerprint, reason: `no '${m.stackLabel}' label` });
      continue;
    }
    const startsAt = Date.parse(a.startsAt);
    const endsRaw = a.endsAt !== undefined ? Date.parse(a.endsAt) : NaN;
    const t: AlertTrigger = {
      groupKey: p.groupKey,
      fingerprint: a.fingerprint,
      status: a.status,
      name: a.labels['alertname'] ?? 'alert',
      startsAt: Number.isFinite(startsAt) ? startsAt : 0,
      // Alertmanager sends 0001-01-01T00:00:00Z as "no end" for firing alerts.
      endsAt: Number.isFinite(endsRaw) && endsRaw > 0 ? endsRaw : null,
      service: a.labels[m.serviceLabel] || m.defaultService,
      stack,
      labels: a.labels,
    };
    const sig = a.labels[m.signalLabel];
    if (sig !== undefined && SIGNAL_SET.has(sig)) t.signal = sig as Signal;
    triggers.push(t);
  }
  return { triggers, unmapped };
}

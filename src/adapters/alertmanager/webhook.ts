import { z } from 'zod';
import type { AlertTrigger } from '../../domain/decision.js';
import type { LabelMapping } from '../mapping/config.js';
import { SIGNALS, type Signal } from '../../domain/types.js';

/**
 * Bounds on what one webhook may carry, so a payload cannot grow memory without limit: label names
 * and values (Prometheus' own label limits are in this range), labels per alert, alerts per post
 * (Alertmanager's `max_alerts` truncates to fewer). A stack or service name is also a series name: 200.
 */
export const ALERT_LIMITS = { labelName: 200, labelValue: 2048, labels: 64, alerts: 1000, name: 200 } as const;

const labelSet = z
  .record(
    z.string().max(ALERT_LIMITS.labelName, `a label name is longer than ${ALERT_LIMITS.labelName} characters`),
    z.string().max(ALERT_LIMITS.labelValue, `a label value is longer than ${ALERT_LIMITS.labelValue} characters`),
  )
  .refine((l) => Object.keys(l).length <= ALERT_LIMITS.labels, `more than ${ALERT_LIMITS.labels} labels`);

/** RFC 3339, as Alertmanager writes it ("0001-01-01T00:00:00Z" is its "not set"). */
const rfc3339 = z
  .string()
  .refine((v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) && Number.isFinite(Date.parse(v)), 'expected an RFC 3339 time');

/** Alertmanager's webhook payload, version 4 (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). */
export const alertmanagerPayloadSchema = z.object({
  version: z.literal('4'),
  groupKey: z.string().max(4096),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  status: z.enum(['firing', 'resolved']),
  receiver: z.string().max(ALERT_LIMITS.labelValue),
  groupLabels: labelSet.default({}),
  commonLabels: labelSet.default({}),
  commonAnnotations: labelSet.default({}),
  externalURL: z.string().max(ALERT_LIMITS.labelValue).default(''),
  alerts: z
    .array(
      z.object({
        status: z.enum(['firing', 'resolved']),
        labels: labelSet,
        annotations: labelSet.default({}),
        startsAt: rfc3339,
        endsAt: rfc3339.optional(),
        generatorURL: z.string().max(ALERT_LIMITS.labelValue).optional(),
        fingerprint: z.string().min(1).max(ALERT_LIMITS.name),
      }),
    )
    .max(ALERT_LIMITS.alerts, `more than ${ALERT_LIMITS.alerts} alerts in one post (set max_alerts in the webhook_config)`),
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
    const service = a.labels[m.serviceLabel] || m.defaultService;
    if (stack.length > ALERT_LIMITS.name || service.length > ALERT_LIMITS.name) {
      unmapped.push({ fingerprint: a.fingerprint, reason: `'${m.stackLabel}' or '${m.serviceLabel}' longer than ${ALERT_LIMITS.name} characters` });
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
      service,
      stack,
      labels: a.labels,
    };
    const sig = a.labels[m.signalLabel];
    if (sig !== undefined && SIGNAL_SET.has(sig)) t.signal = sig as Signal;
    triggers.push(t);
  }
  return { triggers, unmapped };
}

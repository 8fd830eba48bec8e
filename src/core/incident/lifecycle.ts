import type { IncidentStatus } from '../../domain/decision.js';

/**
 * Incident lifecycle as a transition table (like Alertmanager's alert states): evidence keeps an
 * incident open or updated, an executed action marks it mitigated, recovery resolves it.
 * An illegal move is a bug, so it throws.
 */
export type IncidentInput = 'evidence' | 'executed' | 'recovered';

const TRANSITIONS: Readonly<Record<IncidentStatus, Partial<Record<IncidentInput, IncidentStatus>>>> = {
  open: { evidence: 'updated', executed: 'mitigated', recovered: 'resolved' },
  updated: { evidence: 'updated', executed: 'mitigated', recovered: 'resolved' },
  mitigated: { evidence: 'mitigated', executed: 'mitigated', recovered: 'resolved' },
  resolved: {},
};

export function nextStatus(from: IncidentStatus, input: IncidentInput): IncidentStatus {
  const to = TRANSITIONS[from][input];
  if (to === undefined) throw new Error(`illegal incident transition: ${from} --${input}-->`);
  return to;
}

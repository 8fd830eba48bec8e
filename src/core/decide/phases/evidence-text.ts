import type { ActionKind, CauseRecord } from '../../../domain/decision.js';
import type { ContextEvent } from '../../../domain/types.js';

/** Numbers in evidence: two decimals below 10, one above; "n/a" for a number that is not there. */
export function fmt(x: number): string {
  return Number.isFinite(x) ? (Math.abs(x) < 10 ? x.toFixed(2) : x.toFixed(1)) : 'n/a';
}

/** What a change says ran before it (a deployment's previousVersion, a config change's `from`), or undefined when it names nothing. */
export function namedPrevious(e: ContextEvent): string | undefined {
  const prev = e.attributes['previousVersion'];
  return typeof prev === 'string' && prev !== '' ? prev : undefined;
}

/** A deployment still rolling out (canary or progressive strategy, not finished) is paused, not rolled back. */
export function isRollingOut(e: ContextEvent, now: number): boolean {
  const strategy = e.attributes['strategy'];
  const progressive = strategy === 'progressive' || strategy === 'rolling' || strategy === 'canary';
  return e.kind === 'deployment' && progressive && (e.endTs === undefined || e.endTs > now);
}

export function describeAction(action: ActionKind, stack: string, percent: number, targets: string[], cause: ContextEvent | undefined): string {
  switch (action) {
    case 'shift_traffic':
      return `shift ${percent} % of traffic from ${stack} to ${targets.join(', ')}`;
    case 'rollback':
      return `roll back ${cause?.id ?? 'the last change'} on ${stack}${versionNote(cause, true)}`;
    case 'pause_rollout':
      return `pause the rollout of ${cause?.id ?? 'the current deployment'} on ${stack}`;
    case 'pre_scale':
      return `add capacity to ${stack} before ${cause?.id ?? 'the scheduled event'}`;
    default:
      return action;
  }
}

/** "(v1 → v2)" for a deployment; reversed for its rollback. */
export function versionNote(e: ContextEvent | undefined, reverse = false): string {
  if (e === undefined) return '';
  const v = e.attributes['version'];
  const prev = namedPrevious(e);
  if (typeof v !== 'string') return '';
  if (prev === undefined) return ` (${v})`;
  return reverse ? ` (${v} → ${prev})` : ` (${prev} → ${v})`;
}

export function pick(e: ContextEvent): CauseRecord['event'] {
  const out: NonNullable<CauseRecord['event']> = { id: e.id, kind: e.kind, ts: e.ts, attributes: e.attributes };
  if (e.stack !== undefined) out.stack = e.stack;
  if (e.service !== undefined) out.service = e.service;
  return out;
}

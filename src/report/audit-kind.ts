import type { DecisionEvent } from '../domain/decision.js';

/** The audit log's `kind` for a decision event: what happened, in a word or two. */
export function auditKind(e: DecisionEvent): string {
  switch (e.type) {
    case 'recommendation':
      return `recommendation.${e.status}`;
    case 'outcome':
      return `outcome.${e.outcome}`;
    case 'incident':
      return `incident.${e.transition}`;
  }
}

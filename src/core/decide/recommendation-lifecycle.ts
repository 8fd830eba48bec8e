import type { Recommendation, RecommendationStatus } from '../../domain/decision.js';

/**
 * A recommendation's lifecycle as a transition table (STYLE: state machines as data). It is born
 * `awaiting_approval`, `approved` (no approval needed), `blocked` or `informational`; an illegal
 * move is a bug and throws rather than quietly rewriting history.
 */
const TRANSITIONS: Readonly<Record<RecommendationStatus, readonly RecommendationStatus[]>> = {
  awaiting_approval: ['approved', 'rejected', 'expired', 'blocked'],
  approved: ['executed'],
  executed: ['failed'],
  failed: [],
  rejected: [],
  expired: [],
  blocked: [],
  informational: [],
};

export function moveTo(rec: Recommendation, to: RecommendationStatus): void {
  if (!TRANSITIONS[rec.status].includes(to)) throw new Error(`illegal recommendation transition for ${rec.id}: ${rec.status} → ${to}`);
  rec.status = to;
}

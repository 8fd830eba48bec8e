import type { PhaseCodeOf, PhaseName, PhaseResult, Recommendation, RecommendationStatus } from '../../domain/decision.js';

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

/**
 * The one way a recommendation's phases change after the workflow ran (execution, approval,
 * validation, freeze): typed by phase, so a code that does not belong to the phase does not compile.
 */
export function setPhase<N extends PhaseName>(rec: Recommendation, name: N, result: PhaseResult, code: PhaseCodeOf<N>, evidence?: string): void {
  rec.phases = rec.phases.map((p) => (p.name === name ? { ...p, result, code, evidence: evidence ?? p.evidence } : p));
}

import type { ConfidenceEvidence } from '../../domain/decision.js';

/**
 * Confidence that a mitigation is right, from the quantified evidence bundle.
 *
 *   confidence = completeness × (0.25·P + 0.20·M + 0.20·S + 0.15·B + 0.10·C + 0.10·T)
 *
 *   P  persistence: fraction of the re-check window beyond the warn bound (best confirmed metric)
 *   M  magnitude:   (peak − warn) / (2·warn), clipped to [0, 1]: 4σ → 0, 12σ → 1; or, when larger,
 *                   R·T², R the reach toward its SLO gate of a metric forecast to cross it (0 normal,
 *                   1 at the gate): a modest σ on a noisy series can have used most of the room under
 *                   the gate, and that is urgent when the breach is near, not when it is an hour out
 *                   (2-point error blips after a change at 45-75 % of the room, their breach forecast
 *                   60-90 minutes away, were rolled back: five on the kits with R alone, one on a
 *                   held-out seed with R·T). Squared, T is ~1 two minutes out and ~0.05 at 70 minutes.
 *   S  separation:  gap to the worst peer / 6σ, clipped to [0, 1]; 0 for global episodes
 *   B  business:    1 if this stack's business metric is a confirmed drop, 0.5 if warning, else 0
 *   C  correlation: 1 if a change on this stack precedes it, 0.5 if nothing is known, 0 if explained
 *   T  time to breach: 1 − minutes/horizon, clipped; 1 when already breached; 0 when none predicted
 *   completeness: fraction of the stack's series reporting fresh data; missing data lowers
 *   confidence proportionally, never raises it.
 *
 * Weights sum to 1, so a full-evidence incident scores 1. The function is the `ConfidenceModel`
 * default; a learned model can replace it behind the same signature.
 */
export type ConfidenceModel = (e: ConfidenceEvidence) => number;

export interface ConfidenceParams {
  warnScore: number;
  horizonMinutes: number;
}

export function formulaConfidence(p: ConfidenceParams): ConfidenceModel {
  return (e) => {
    const clip = (x: number): number => (x < 0 ? 0 : x > 1 ? 1 : x);
    const s = clip(e.separation / 6);
    const t = e.minutesToBreach === null ? 0 : clip(1 - e.minutesToBreach / p.horizonMinutes);
    const m = Math.max(clip((e.magnitude - p.warnScore) / (2 * p.warnScore)), clip(e.gateReach ?? 0) * t * t);
    const raw = 0.25 * clip(e.persistence) + 0.2 * m + 0.2 * s + 0.15 * clip(e.businessImpact) + 0.1 * clip(e.correlation) + 0.1 * t;
    return Math.round(clip(e.dataCompleteness) * raw * 1000) / 1000;
  };
}

import type { Incident, PhaseCodeOf, PhaseResult, Recommendation } from '../../domain/decision.js';
import { fmt } from './phases/evidence-text.js';

/** What the decision engine remembers of an executed action until it is validated. */
export interface Execution {
  recommendationId: string;
  ts: number;
  /** Worst score of the incident's confirmed signal types on the stack when it executed. */
  scoreAtExecution: number;
  signals: string[];
  validated: boolean;
}

export interface ValidationVerdict {
  result: PhaseResult;
  code: PhaseCodeOf<'post_action_validation'>;
  outcome: 'effective' | 'ineffective' | 'inconclusive';
  reason: string;
}

export interface ValidationParams {
  validationMinutes: number;
  /** False in a replay and behind the dry-run controller: nothing moved, so nothing can be measured. */
  actionsReachData: boolean;
  warnScore: number;
}

/**
 * Post-action validation (ITR phase 9): `validationMinutes` after execution, did the stack's
 * signals come back? Effective when they recovered or the worst score at least halved; missing
 * data is inconclusive, never effective.
 */
export function judgeExecution(ex: Execution, incident: Incident, scoreNow: number, p: ValidationParams): ValidationVerdict {
  if (!p.actionsReachData) {
    const reason = `the action never reached the data (a replay, or the dry-run controller): its effect cannot be measured, so nothing is reverted`;
    return { result: 'skip', code: 'inconclusive', outcome: 'inconclusive', reason };
  }
  if (!Number.isFinite(scoreNow) || ex.signals.length === 0) {
    const reason = `${incident.stack}: no ${ex.signals.length === 0 ? 'confirmed signal to compare' : 'data'} ${p.validationMinutes} min after execution: inconclusive`;
    return { result: 'skip', code: 'inconclusive', outcome: 'inconclusive', reason };
  }
  const recovered =
    Object.values(incident.signals)
      .filter((s) => ex.signals.includes(s.signal))
      .every((s) => s.recovered) || scoreNow < p.warnScore;
  const halved = Number.isFinite(ex.scoreAtExecution) && scoreNow <= ex.scoreAtExecution / 2;
  const effective = recovered || halved;
  const reason = `${incident.stack} ${ex.signals.join('/')} worst score ${fmt(ex.scoreAtExecution)}σ at execution, ${fmt(scoreNow)}σ ${p.validationMinutes} min later${effective ? '' : ': no improvement'}`;
  return effective
    ? { result: 'pass', code: 'effective', outcome: 'effective', reason }
    : { result: 'fail', code: 'ineffective', outcome: 'ineffective', reason };
}

/**
 * A shift that did not help: proposals to put the traffic back, always through a human. The
 * shift split its points evenly over its targets, so each target gives back its part, one
 * proposal per target (a controller moves traffic from one stack at a time).
 */
export function revertsOf(rec: Recommendation, incident: Incident, ts: number, nextId: () => string): Recommendation[] {
  if (rec.action !== 'shift_traffic' || rec.targets.length === 0) return [];
  const n = rec.targets.length;
  const part = Math.round((rec.percent / n) * 100) / 100;
  return rec.targets.map((target, i) => ({
    ...rec,
    id: nextId(),
    ts,
    status: 'awaiting_approval',
    requiresApproval: true,
    blockedBy: null,
    percent: part,
    targets: [incident.stack],
    reason: `revert ${rec.id}${n > 1 ? ` (${i + 1} of ${n})` : ''}: shift ${part} % back from ${target} to ${incident.stack} (the shift did not help)`,
    reverts: rec.id,
    stack: target,
  }));
}

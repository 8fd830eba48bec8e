import { median } from 'simple-statistics';
import { MITIGATIONS, type Recommendation } from '../domain/decision.js';
import type { Truth } from './truth.js';
import { rolledBackBeforeBreach, type RolloutScore } from './rollout-eval.js';
import { MS_PER_MIN as MIN } from '../core/time-units.js';

/**
 * Scores one replay's recommendations against its truth file. Pure.
 *
 * - detected: a mitigation (rollback, shift, pause; not blocked, not a revert) for the incident's
 *   stack between its start (minus `earlyMarginMinutes`) and its end;
 * - lead time: SLO breach time minus that first mitigation (positive: before the breach);
 * - localization: the first mitigation in the incident window names the right stack;
 * - action: its action is one the truth expects;
 * - false recommendations: mitigations outside every incident window of their stack (traps included).
 */

export interface IncidentScore {
  stack: string;
  detected: boolean;
  leadMinutes: number | null;
  localized: boolean;
  actionCorrect: boolean;
  firstAction: string | null;
}

/** A stack's look-ahead for a scheduled event: recommended ahead of it when it would saturate, not when it fits. */
export interface PreemptiveScore {
  eventId: string;
  stack: string;
  saturates: boolean;
  /** Minutes from the first pre-emptive mitigation for the stack to the event's start (null: none). */
  leadMinutes: number | null;
  action: string | null;
  /** pre_scale: the capacity factor recommended, against the one the truth says keeps it under the gate. */
  capacityFactor: number | null;
  capacityFactorToGate: number;
}

export interface ScenarioScore {
  scenario: string;
  incidents: IncidentScore[];
  preemptive: PreemptiveScore[];
  falseMitigations: number;
  falseDetails: string[];
  /** The ids of those recommendations, in the same order. */
  falseIds: string[];
  stackDays: number;
  trap: boolean;
  /** Every deployment asked about at the rollout gate's checks (filled by the replay; empty when not asked). */
  rollouts: RolloutScore[];
}

/** A mitigation, not blocked, not a revert, that went ahead or waits for a person. */
export function isActionable(r: Recommendation): boolean {
  return (
    MITIGATIONS.has(r.action) &&
    r.blockedBy === null &&
    r.reverts === undefined &&
    (r.status === 'executed' || r.status === 'approved' || r.status === 'awaiting_approval')
  );
}

/** Made ahead of a scheduled event by the look-ahead, not by an incident. */
export function isPreemptive(r: Recommendation): boolean {
  return r.cause.kind === 'scheduled';
}

export function scoreScenario(truth: Truth, recs: readonly Recommendation[], earlyMarginMinutes = 30): ScenarioScore {
  const actionable = recs.filter(isActionable).sort((a, b) => a.ts - b.ts);
  const mitigations = actionable.filter((r) => !isPreemptive(r));
  // Pre-emptive ones are judged against the scheduled events; one for a stack that fits (or in a
  // scenario without scheduled events) is a false mitigation like any other.
  const ahead = actionable.filter(isPreemptive);
  const preemptive: PreemptiveScore[] = truth.scheduled.map((s) => {
    const first = ahead.find((r) => r.stack === s.stack && r.forecast?.eventId === s.eventId);
    return {
      eventId: s.eventId,
      stack: s.stack,
      saturates: s.saturates,
      leadMinutes: first === undefined ? null : (Date.parse(s.start) - first.ts) / MIN,
      action: first?.action ?? null,
      capacityFactor: first?.capacity?.factor ?? null,
      capacityFactorToGate: s.capacityFactorToGate,
    };
  });
  const expectedAhead = (r: Recommendation): boolean => truth.scheduled.some((s) => s.saturates && s.stack === r.stack && s.eventId === r.forecast?.eventId);
  const windows = truth.incidents.map((i) => ({ inc: i, from: Date.parse(i.start) - earlyMarginMinutes * MIN, to: Date.parse(i.end) }));
  const incidents: IncidentScore[] = windows.map(({ inc, from, to }) => {
    const inWindow = mitigations.filter((r) => r.ts >= from && r.ts <= to);
    const first = inWindow[0];
    const right = inWindow.find((r) => r.stack === inc.stack);
    return {
      stack: inc.stack,
      detected: right !== undefined,
      leadMinutes: right === undefined ? null : (Date.parse(inc.sloBreachAt) - right.ts) / MIN,
      localized: first !== undefined && first.stack === inc.stack,
      actionCorrect: right !== undefined && (inc.expectedActions as string[]).includes(right.action),
      firstAction: right?.action ?? null,
    };
  });
  // Moving traffic off a stack an event saturates, while it lasts, is what its truth expects when
  // nothing was pre-scaled (the data shows the saturation): relief, not a false mitigation.
  const relief = (r: Recommendation): boolean =>
    truth.scheduled.some(
      (s) =>
        s.saturates &&
        s.stack === r.stack &&
        s.end !== undefined &&
        r.ts >= Date.parse(s.start) &&
        r.ts <= Date.parse(s.end) &&
        (s.expectedActions as string[]).includes(r.action),
    );
  const falses = [
    ...mitigations.filter((r) => !windows.some((w) => w.inc.stack === r.stack && r.ts >= w.from && r.ts <= w.to) && !relief(r)),
    ...ahead.filter((r) => !expectedAhead(r)),
  ].sort((a, b) => a.ts - b.ts);
  const days = (Date.parse(truth.end) - Date.parse(truth.start)) / (1440 * MIN);
  return {
    scenario: truth.scenario,
    incidents,
    preemptive,
    falseMitigations: falses.length,
    falseDetails: falses.map((r) => `${new Date(r.ts).toISOString().slice(0, 16)} ${r.action} ${r.stack}: ${r.reason}`),
    falseIds: falses.map((r) => r.id),
    stackDays: Object.keys(truth.stacks).length * days,
    trap: truth.incidents.length === 0 && !truth.scheduled.some((s) => s.saturates),
    rollouts: [],
  };
}

/** Issue 16: a pre-emptive recommendation must come at least this long before its event begins. */
export const PREEMPT_LEAD_MINUTES = 30;

export interface EvalSummary {
  incidents: number;
  detected: number;
  beforeBreach: number;
  medianLeadMinutes: number | null;
  worstLeadMinutes: number | null;
  localizationAccuracy: number;
  actionAccuracy: number;
  falseMitigations: number;
  falsePerStackDay: number;
  trapMitigations: number;
  /** Stacks a scheduled event would saturate, and how many got a pre-emptive mitigation 30+ minutes before it began. */
  scheduledSaturating: number;
  preemptedAhead: number;
  /** ...and of those pre-scaled, how many to at least the capacity the truth says keeps them under the gate. */
  preScaledEnough: number;
  /** Deployments that caused an incident, and how many the rollout gate told to roll back before its SLO breach. */
  badRollouts: number;
  badRolledBackBeforeBreach: number;
  /** The other deployments, and how many it ever told to roll back (should be none). */
  goodRollouts: number;
  goodRolledBack: number;
}

export function summarize(scores: readonly ScenarioScore[]): EvalSummary {
  const all = scores.flatMap((s) => s.incidents);
  const leads = all
    .map((i) => i.leadMinutes)
    .filter((x): x is number => x !== null)
    .sort((a, b) => a - b);
  const medianLead = leads.length === 0 ? null : median(leads);
  const falseMitigations = scores.reduce((a, s) => a + s.falseMitigations, 0);
  const pre = scores.flatMap((s) => s.preemptive);
  const stackDays = scores.reduce((a, s) => a + s.stackDays, 0);
  const rollouts = scores.flatMap((s) => s.rollouts);
  return {
    incidents: all.length,
    detected: all.filter((i) => i.detected).length,
    beforeBreach: all.filter((i) => i.leadMinutes !== null && i.leadMinutes > 0).length,
    medianLeadMinutes: medianLead,
    worstLeadMinutes: leads.length === 0 ? null : leads[0]!,
    localizationAccuracy: all.length === 0 ? 1 : all.filter((i) => i.localized).length / all.length,
    actionAccuracy: all.length === 0 ? 1 : all.filter((i) => i.actionCorrect).length / all.length,
    falseMitigations,
    falsePerStackDay: stackDays === 0 ? 0 : falseMitigations / stackDays,
    trapMitigations: scores.filter((s) => s.trap).reduce((a, s) => a + s.falseMitigations, 0),
    scheduledSaturating: pre.filter((p) => p.saturates).length,
    preemptedAhead: pre.filter((p) => p.saturates && p.leadMinutes !== null && p.leadMinutes >= PREEMPT_LEAD_MINUTES).length,
    preScaledEnough: pre.filter((p) => p.saturates && p.capacityFactor !== null && p.capacityFactor >= p.capacityFactorToGate).length,
    badRollouts: rollouts.filter((r) => r.bad).length,
    badRolledBackBeforeBreach: rollouts.filter(rolledBackBeforeBreach).length,
    goodRollouts: rollouts.filter((r) => !r.bad).length,
    goodRolledBack: rollouts.filter((r) => !r.bad && r.rollbackMinutes !== null).length,
  };
}

import type { ActionKind, Incident, IncidentDelta, Recommendation } from '../../../domain/decision.js';
import type { ContextEvent, StackHealthEvent } from '../../../domain/types.js';
import type { DecisionParams } from '../decision-params.js';
import type { Correlation } from '../../correlate/context-index.js';
import type { ConfidenceModel } from '../confidence.js';
import type { GuardrailState } from '../guardrails.js';

/** Everything the ITR workflow may look at: an incident and what is known around it, now. */
export interface WorkflowInput {
  incident: Incident;
  now: number;
  correlation: Correlation;
  /** Latest delta verdict per metric of this service. */
  deltas: ReadonlyMap<string, IncidentDelta>;
  /** Latest health of every stack of this service. */
  health: ReadonlyMap<string, StackHealthEvent>;
  /** The other services' open incidents on this incident's stack, with their service's latest health there. */
  siblings: readonly Sibling[];
  shareOf: (stack: string) => number | undefined;
  /** The largest share the stack carried recently and gave up (see ContextIndex.carriedShare); absent: unknown. */
  carriedShare?: (stack: string) => number | undefined;
  /** A maintenance or chaos event running on that stack now: it takes no shifted traffic. */
  outOfService: (stack: string) => ContextEvent | undefined;
  /** A performance test running on that stack now: its latency is the test's load (see healthyTargets). */
  underTest: (stack: string) => ContextEvent | undefined;
  guardrails: GuardrailState;
  config: DecisionParams;
  warnScore: number;
  horizonMinutes: number;
  confidence: ConfidenceModel;
  isPrimary: (stack: string) => boolean;
  /** When a rollback of that change was executed (undefined: never; absent: not known). */
  rolledBack?: (changeId: string) => number | undefined;
}

/** Another service's open incident on the same stack. */
export interface Sibling {
  incident: Incident;
  health: StackHealthEvent | undefined;
}

/** What the workflow concludes: the recommendation's decision fields, plus whether it may run now. */
export interface WorkflowDecision
  extends Pick<
    Recommendation,
    'action' | 'percent' | 'targets' | 'confidence' | 'evidence' | 'requiresApproval' | 'blockedBy' | 'phases' | 'cause' | 'predictedBreachAt' | 'reason'
  > {
  /** True when the action may execute now (approved or not requiring approval, not blocked). */
  executable: boolean;
  /** Waiting for a human. */
  awaitingApproval: boolean;
}

/** The guardrail scope of an incident: one service on one stack. */
export function scopeOf(inc: Pick<Incident, 'service' | 'stack'>): string {
  return `${inc.service}/${inc.stack}`;
}

/** Kinds an action can be; re-exported so phases import their vocabulary from one place. */
export type { ActionKind };

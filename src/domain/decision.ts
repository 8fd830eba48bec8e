import type { ContextEvent, DeltaScope, Signal, SloKind, SloRef } from './types.js';

/** Decision-side vocabulary: incidents, ITR phases, recommendations. Types only. */

/** `pre_scale`: add capacity to a stack before a scheduled event it would not fit (see `Recommendation.capacity`). */
export type ActionKind = 'shift_traffic' | 'rollback' | 'pause_rollout' | 'pre_scale' | 'observe' | 'none';

/** Actions that change production: the ones guardrails, approval and the eval's lead time concern. */
export const MITIGATIONS: ReadonlySet<ActionKind> = new Set(['shift_traffic', 'rollback', 'pause_rollout', 'pre_scale']);

export const PHASE_NAMES = [
  'trigger',
  'persistence_validation',
  'event_correlation',
  'delta_stack_identification',
  'dependency_checks',
  'confidence_scoring',
  'human_approval',
  'execution',
  'post_action_validation',
  'freeze_window',
] as const;
export type PhaseName = (typeof PHASE_NAMES)[number];

/**
 * `stop`: the phase's finding ends the workflow because no action is needed (explained by a test
 * or campaign, cold caches after a shift, a global episode); `fail`: a condition for acting does
 * not hold (no safe target, too little confidence).
 */
export type PhaseResult = 'pass' | 'fail' | 'stop' | 'skip' | 'pending';

/**
 * What each phase can conclude, as codes programs read (the evidence text is for people and may
 * change wording at any time). `not_reached`: an earlier phase ended the workflow.
 */
export const PHASE_CODES = {
  trigger: ['triggered', 'recovered', 'scheduled_event'],
  persistence_validation: ['sustained', 'warn_only', 'forecast'],
  event_correlation: ['cause_found', 'no_cause', 'explained', 'cold_cache', 'downstream'],
  delta_stack_identification: ['singled_out', 'sole_stack_changed', 'saturated_alone', 'global_at_risk', 'global', 'insufficient_volume', 'no_verdict'],
  // rollback_no_target: older records only (a rollback nobody could name was observed; now rollback_unnamed asks a person).
  dependency_checks: [
    'targets_ok',
    'no_target',
    'rollback_ready',
    'pause_ready',
    'rollback_as_shift',
    'rollback_unnamed',
    'rollback_holding',
    'rollback_no_target',
    'scale_ready',
  ],
  confidence_scoring: ['confident', 'no_slo_risk', 'low_confidence'],
  human_approval: ['not_required', 'auto_approved', 'awaiting_human', 'approved', 'rejected'],
  execution: ['ready', 'awaiting_approval', 'blocked', 'executed', 'controller_failed'],
  post_action_validation: ['scheduled', 'effective', 'ineffective', 'inconclusive'],
  freeze_window: ['scheduled', 'held'],
} as const satisfies Record<PhaseName, readonly string[]>;

export type PhaseCodeOf<N extends PhaseName> = (typeof PHASE_CODES)[N][number] | 'not_reached';
export type PhaseCode = PhaseCodeOf<PhaseName>;

export interface PhaseRecord<N extends PhaseName = PhaseName> {
  name: N;
  result: PhaseResult;
  /** What the phase concluded, for programs (absent in records written before codes existed). */
  code: PhaseCodeOf<N>;
  /** One line a human can read at 3 a.m., with the numbers. */
  evidence: string;
}

/** The guardrail rule that blocks a proposal (seed 004 section 12). */
export type GuardrailRule = 'freeze_window' | 'one_change_at_a_time' | 'shift_rate_cap';

/** Why an approve/reject call did or did not take effect; `reason` says it for people. */
export type DecisionCode = 'approved' | 'rejected' | 'unknown_recommendation' | 'not_awaiting_approval' | 'expired' | 'blocked' | 'not_decider';

export interface DecisionResult {
  ok: boolean;
  code: DecisionCode;
  reason: string;
}

export type IncidentStatus = 'open' | 'updated' | 'mitigated' | 'resolved';

/** What one metric of an incident has shown so far. */
export interface IncidentSignal {
  metric: string;
  signal: Signal;
  stage: 'warn' | 'confirmed';
  firstTs: number;
  lastTs: number;
  score: number;
  peakScore: number;
  value: number;
  expected: number;
  /**
   * m of the last n points beyond the warn bound; `seen`: how many of the n the episode has
   * lasted, when fewer (a young episode has not had the chance to fill its window).
   */
  persistence: { hits: number; of: number; seen?: number };
  recovered: boolean;
  /** Judged against a baseline that has not seen a season yet: weaker evidence. */
  coldStart: boolean;
  /** The SLO gate of the series (null: none; absent in older records, read as gated). */
  gate?: SloKind | null;
  /** When the episode was first confirmed (absent while only a warning, and in older records). */
  confirmedTs?: number;
}

export interface IncidentPrediction {
  metric: string;
  ts: number;
  breachAt: number;
  slo: SloRef;
  /** See PredictionEvent.beyondBound (absent in records written before it existed). */
  beyondBound?: boolean;
}

export interface IncidentDelta {
  metric: string;
  ts: number;
  scope: DeltaScope;
  stack: string | null;
  reason: string;
  separation: number;
  /** Set when this local verdict replaced a global one for the same metric (at that time). */
  afterGlobalAt?: number;
  /** See DeltaEvent.lapsed. */
  lapsed?: true;
  /** See DeltaEvent.sinceChange. */
  sinceChange?: number;
}

/** An external trigger (an Alertmanager alert) attached to the incident. */
export interface IncidentAlert {
  fingerprint: string;
  name: string;
  status: 'firing' | 'resolved';
  startsAt: number;
  signal?: Signal;
}

/** An alert from Alertmanager (or any alert source), mapped onto a stack and service. */
export interface AlertTrigger {
  groupKey: string;
  fingerprint: string;
  status: 'firing' | 'resolved';
  name: string;
  startsAt: number;
  endsAt: number | null;
  service: string;
  stack: string;
  signal?: Signal;
  labels: Record<string, string>;
}

export interface Incident {
  id: string;
  service: string;
  stack: string;
  status: IncidentStatus;
  openedAt: number;
  updatedAt: number;
  resolvedAt: number | null;
  signals: Record<string, IncidentSignal>;
  predictions: Record<string, IncidentPrediction>;
  breaches: Record<string, number>;
  deltas: Record<string, IncidentDelta>;
  alerts: Record<string, IncidentAlert>;
  recommendationIds: string[];
}

export interface ConfidenceEvidence {
  /** Fraction of the re-check window beyond the bound, best confirmed metric (0..1). */
  persistence: number;
  /** Peak deviation of the incident in robust sigmas. */
  magnitude: number;
  /** Score gap between this stack and its worst peer (0 when global or unknown). */
  separation: number;
  /** Business metric of this stack: 1 confirmed drop, 0.5 warning, 0 none. */
  businessImpact: number;
  /** 1: a change on this stack explains it; 0.5: nothing known; 0: an explaining event. */
  correlation: number;
  /** Fraction of the stack's series reporting fresh data (0..1). */
  dataCompleteness: number;
  /** Minutes to the earliest predicted breach; 0 if breached; null if none predicted. */
  minutesToBreach: number | null;
  /** How far the forecast metrics have come from normal (0) toward their SLO gate (1); absent in older records. */
  gateReach?: number;
  // Optional context for learned confidence models (src/model/features.ts); the formula ignores it.
  /** Largest deviation per signal type among the evidence signals, in robust sigmas. */
  magnitudes?: Partial<Record<Signal, number>>;
  /** Signal types of the evidence signals (confirmed ones when any), sorted. */
  signals?: Signal[];
  /** Kind of the change correlated with the episode on this stack ('none' when there is none). */
  causeKind?: string;
  /** Percentage points of traffic newly moved onto this stack around the episode (0 when none). */
  shareGain?: number;
  /** This stack's traffic share in percent, when known. */
  trafficShare?: number;
  /** Other stacks of the service with health data: the sample size behind the cross-stack comparison. */
  peers?: number;
  /** UTC hour of day of the decision (0 ≤ h < 24, fractional). */
  hourOfDay?: number;
}

export interface CauseRecord {
  /** `scheduled`: a scheduled event (a campaign announced ahead) that the stack is forecast not to fit. */
  kind: 'deployment' | 'config_change' | 'explained' | 'cold_cache' | 'global' | 'scheduled' | 'unknown';
  reason: string;
  event?: Pick<ContextEvent, 'id' | 'kind' | 'ts' | 'stack' | 'service' | 'attributes'>;
}

export type RecommendationStatus = 'awaiting_approval' | 'approved' | 'rejected' | 'executed' | 'failed' | 'blocked' | 'expired' | 'informational';

export interface Recommendation {
  type: 'recommendation';
  id: string;
  ts: number;
  incidentId: string;
  stack: string;
  service: string;
  action: ActionKind;
  percent: number;
  targets: string[];
  confidence: number;
  evidence: ConfidenceEvidence;
  requiresApproval: boolean;
  blockedBy: GuardrailRule | null;
  status: RecommendationStatus;
  reason: string;
  phases: PhaseRecord[];
  cause: CauseRecord;
  predictedBreachAt: number | null;
  /** For a revert: the recommendation it undoes. */
  reverts?: string;
  /** Who approved it, when a human did. */
  approvedBy?: string;
  /** For `pre_scale`: the capacity the stack needs during the scheduled event. */
  capacity?: CapacityTarget;
  /** For a pre-emptive action (`pre_scale`, or a pre-route `shift_traffic`): the forecast behind it. */
  forecast?: ForecastRecord;
}

/** The capacity a stack needs for a scheduled event, relative to what it runs now. */
export interface CapacityTarget {
  /** Multiple of the stack's current capacity (1.35: 35 % more), rounded up to a hundredth. */
  factor: number;
  /** Current capacity in the operator's units (`decision.stacks.<stack>.capacityUnits`), when configured. */
  currentUnits?: number;
  /** `currentUnits` × factor, rounded up: what to scale to. */
  targetUnits?: number;
  /** The capacity is needed from here (the event's start)... */
  from: number;
  /** ...until here (the event's end): scale back after. */
  until: number;
}

/** What the look-ahead forecast for one stack and one scheduled event. */
export interface ForecastRecord {
  eventId: string;
  eventKind: string;
  startTs: number;
  endTs: number;
  multiplier: number;
  /** The series that would come closest to (or cross) its gate, its peak as a fraction of the gate, and when. */
  metric: string;
  peakOfGate: number;
  peakAt: number;
  /** The same series' peak without the event (the seasonal baseline alone). */
  baselineOfGate: number;
  /** The fraction of the gate the forecast must stay under (`decision.guardrails.maxTargetSaturation`). */
  limitOfGate: number;
  /** Each stack's forecast peak as a fraction of its gate under the event, at the current split. */
  stacks: Record<string, number>;
}

export interface IncidentEvent {
  type: 'incident';
  ts: number;
  incident: Pick<Incident, 'id' | 'service' | 'stack' | 'status' | 'openedAt' | 'resolvedAt'>;
  transition: 'opened' | 'mitigated' | 'resolved';
  summary: string;
}

/** Post-action validation and other workflow outcomes reported after the fact. */
export interface OutcomeEvent {
  type: 'outcome';
  ts: number;
  recommendationId: string;
  incidentId: string;
  outcome: 'effective' | 'ineffective' | 'inconclusive' | 'expired' | 'approved' | 'rejected' | 'executed' | 'failed';
  reason: string;
  by?: string;
}

export type DecisionEvent = Recommendation | IncidentEvent | OutcomeEvent;

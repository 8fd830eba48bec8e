/**
 * Domain vocabulary shared by every stage. Types only: no behaviour, no I/O.
 * Times are epoch milliseconds in *event time* (the data's own timestamps).
 */

/** The four sampled signals of the five-signal taxonomy; `context` arrives as events, not samples. */
export const SIGNALS = ['capacity', 'reliability', 'latency', 'business'] as const;
export type Signal = (typeof SIGNALS)[number];

/** Which way is bad for each signal (DESIGN.md, the five-signal table). */
export const BAD_DIRECTION: Readonly<Record<Signal, 1 | -1>> = {
  capacity: 1,
  reliability: 1,
  latency: 1,
  business: -1,
};

export interface Sample {
  ts: number;
  signal: Signal;
  metric: string;
  stack: string;
  service: string;
  value: number;
  /** Optional number of observations behind the value (requests in the interval): the sample size. */
  count?: number;
}

export const EVENT_KINDS = ['deployment', 'rollback', 'perf_test', 'campaign', 'config_change', 'chaos', 'maintenance', 'traffic_shift'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export interface ContextEvent {
  ts: number;
  kind: EventKind;
  id: string;
  /** Absent for global events (a campaign touches every stack). */
  stack?: string;
  service?: string;
  /**
   * When the event begins, for one announced ahead (a campaign in the calendar): `ts` is then when
   * it was announced. Absent: it begins at `ts`. A scheduled event carries
   * `attributes.expectedTrafficMultiplier` (see core/predict).
   */
  startTs?: number;
  endTs?: number;
  attributes: Record<string, unknown>;
}

export type AnomalyStage = 'warn' | 'confirmed';

export interface AnomalyEvent {
  type: 'anomaly';
  ts: number;
  stack: string;
  service: string;
  signal: Signal;
  metric: string;
  stage: AnomalyStage;
  value: number;
  expected: number;
  /** Signed deviation in robust-scale units; positive means "in the bad direction". */
  score: number;
  /**
   * m of the last n points beyond the warn bound; `seen`: how many of the n the episode has
   * lasted, when fewer (a young episode has not had the chance to fill its window).
   */
  persistence: { hits: number; of: number; seen?: number };
  /** True while the baseline is still learning its first season. */
  coldStart: boolean;
  /** The SLO gate this series is judged by, null when none matched (absent in older records). */
  gate?: SloKind | null;
}

export interface PredictionEvent {
  type: 'prediction';
  ts: number;
  stack: string;
  service: string;
  signal: Signal;
  metric: string;
  breachAt: number;
  /** The gate being approached, and the value it is compared against. */
  slo: SloRef;
  value: number;
  /** Units per minute, in the metric's own units. */
  slopePerMin: number;
  /**
   * The point the forecast was made on is beyond the warn bound (its own deviation or the averaged
   * channel): false once a spike has passed and only its echo in the smoothed trend remains.
   */
  beyondBound?: boolean;
}

export type SloKind = 'error_rate' | 'latency_p99' | 'business_drop' | 'saturation';

/** A gate as events report it. `relative`: the limit is a fraction of the series' expected value, not a level. */
export interface SloRef {
  kind: SloKind;
  limit: number;
  comparator: '>' | '<';
  relative?: true;
}

/**
 * `local`: one stack deviates and its peers are healthy (the delta stack is named).
 * `global`: most stacks move together: not a routing problem.
 * `partial`: several but not most stacks deviate: no single culprit.
 * `insufficient`: too little data behind the deviating stack (a small canary) to conclude yet, or,
 * for a business volume, behind every peer (each too noisy to show a move that size: no control);
 * or, with `lapsed`, a local verdict whose stack is back within its bounds.
 */
export type DeltaScope = 'local' | 'global' | 'partial' | 'insufficient';

export interface StackDeviation {
  stack: string;
  /** Deviation in robust-scale units, signed so positive is bad. */
  score: number;
  value: number;
  expected: number;
  /** Traffic share in percent used to normalize business values (undefined when not applicable). */
  trafficShare?: number;
  samplesInWindow: number;
}

export interface DeltaEvent {
  type: 'delta';
  ts: number;
  service: string;
  metric: string;
  signal: Signal;
  scope: DeltaScope;
  /** The delta stack for a local verdict; null otherwise. */
  stack: string | null;
  reason: string;
  stacks: StackDeviation[];
  /** Score gap between the delta stack and the worst of its peers (local verdicts). */
  separation: number;
  /** The verdict before this one, in the same unbroken run of episodes, was global. */
  afterGlobal?: boolean;
  /** An `insufficient` verdict saying the local one before it lapsed: its stack is back within its bounds. */
  lapsed?: true;
  /**
   * A local verdict amid a platform-wide episode, read from what the delta stack moved since a
   * change on it began (epoch ms of that change's start): the change the verdict accuses.
   */
  sinceChange?: number;
}

/** A series' anomaly episode ended (no point beyond the warn bound for the clear window). */
export interface RecoveryEvent {
  type: 'recovery';
  ts: number;
  stack: string;
  service: string;
  signal: Signal;
  metric: string;
  episodeStartTs: number;
  peakScore: number;
}

/** The smoothed metric crossed its SLO gate. */
export interface BreachEvent {
  type: 'breach';
  ts: number;
  stack: string;
  service: string;
  signal: Signal;
  metric: string;
  value: number;
  slo: SloRef;
}

/**
 * Once per minute of event time, per stack and service: how that stack looks. The decision
 * workflow uses it to check that a traffic target is healthy and has headroom, and to notice gaps.
 */
export interface StackHealthEvent {
  type: 'health';
  ts: number;
  service: string;
  stack: string;
  /** Worst score per signal over the minute (positive is bad); a signal without data is absent. */
  scores: Partial<Record<Signal, number>>;
  /** Highest value/limit over the stack's saturation gates (1 = at the gate), or null if none. */
  saturation: number | null;
  /**
   * The same over the resources that follow the load (CPU, pools, connections, workers), not memory
   * or disk: what grows when the stack takes more traffic. Absent when none reported, and from older producers.
   */
  loadSaturation?: number;
  /** Metrics of this stack currently in an anomaly episode. */
  inEpisode: string[];
  /** Series that reported during the minute, out of those known for this stack. */
  reporting: number;
  known: number;
  /**
   * Typical minutes between the steps this stack reports in (1 for one-minute data, 5 for a
   * five-minute scrape): how old its health may grow before it is stale. Absent from older producers.
   */
  intervalMinutes?: number;
}

export type DetectionEvent = AnomalyEvent | PredictionEvent | DeltaEvent | RecoveryEvent | BreachEvent | StackHealthEvent;

/** A record that could not be used, with why. Never silently dropped. */
export interface Rejection {
  source: string;
  line?: number;
  reason: string;
  raw: string;
}

import type { Signal } from '../../domain/types.js';
import type { BaselineState } from '../baseline/seasonal-baseline.js';
import type { ThresholdState } from '../threshold/two-stage.js';
import type { SloGate, TrendState } from '../predict/breach-predictor.js';

/**
 * Everything Harbinger remembers about one series (metric + stack + service). Plain data: it is
 * JSON-serializable as is, so it can be checkpointed and moved to another machine.
 */
export interface SeriesState {
  service: string;
  metric: string;
  stack: string;
  signal: Signal;
  baseline: BaselineState;
  threshold: ThresholdState;
  gate: SloGate | null;
  trend: TrendState | null;
  /** Last point as scored, in the units the user sent (business: raw, not share-normalized). */
  lastTs: number;
  lastValue: number;
  lastExpected: number;
  /** The last point's score (bad direction), for the canary comparison; absent in older checkpoints. */
  lastScore?: number;
  /** Score smoothed over the delta window: what stacks are compared on. */
  smoothedScore: number;
  /** Points and volume (requests or business counts) since the current episode began. */
  episodePoints: number;
  episodeVolume: number;
  /**
   * The stack's traffic share (%) the baseline's spread was learned at, averaged as the spread is.
   * Absent in older checkpoints and for series that do not follow the traffic (see noiseScale).
   */
  noiseShare?: number;
  /**
   * The traffic share the season buckets were learned at (see weighSeasonsByShare). Absent in
   * older checkpoints and for series that do not follow the traffic.
   */
  seasonShare?: number;
  /**
   * The traffic share the spread was last learned again at (see respreadOnShareRise), NaN when
   * it was not. Absent in older checkpoints.
   */
  spreadShare?: number;
  /**
   * Lowest and highest value seen while every value was a non-negative integer (NaN once one was
   * not): a series of event counts (restarts, orders per minute), judged with counting noise.
   * Absent in older checkpoints.
   */
  countLow?: number;
  countHigh?: number;
  /**
   * Business series only: running sums of what was observed (every point), and over the points
   * scored on a seasoned baseline what was observed, expected and the expected noise (variance), in
   * the units the user sent. A rollout gate snapshots them when a step begins and reads the
   * difference: how the step did, however long it has run. Absent in older checkpoints.
   */
  tally?: Tally;
  /**
   * A business series named like a ratio (`orders_rate`) whose values said volume: judged per 100 %
   * of traffic like `orders_per_min` (see rateNamedOnly). Absent otherwise and in older checkpoints.
   */
  volume?: true;
}

export interface Tally {
  observed: number;
  seasonedObserved: number;
  expected: number;
  variance: number;
}

export function emptyTally(): Tally {
  return { observed: 0, seasonedObserved: 0, expected: 0, variance: 0 };
}

/** Add one business point to its series' running sums (see SeriesState.tally); NaN expected: not seasoned. */
export function tallyPoint(series: SeriesState, observed: number, expected: number, sigma: number): void {
  const t = (series.tally ??= emptyTally());
  t.observed += observed;
  if (!(expected === expected && sigma === sigma)) return;
  t.seasonedObserved += observed;
  t.expected += expected;
  t.variance += sigma * sigma;
}

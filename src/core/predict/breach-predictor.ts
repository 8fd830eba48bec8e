/**
 * Breach prediction, the "pre" in pre-detection: a damped-free Holt filter (level + trend per
 * minute) on the metric as its SLO gate sees it, extrapolated to the gate. Works in event time
 * with irregular spacing: gains come from half-lives, not from a fixed step.
 */
import { Decay } from '../math/decay.js';

export interface SloGate {
  kind: 'error_rate' | 'latency_p99' | 'business_drop' | 'saturation';
  limit: number;
  comparator: '>' | '<';
  /** When true the gate value is the metric divided by its baseline (limit 0.95 = 5 % below). */
  relative: boolean;
}

export interface TrendState {
  level: number;
  trendPerMin: number;
  lastTs: number;
  points: number;
  /** Last emitted breach time, to re-emit only on a material change. */
  lastBreachAt: number;
  /** Set once the smoothed value is past the gate; cleared when it comes back. */
  breached: boolean;
}

export interface TrendParams {
  /** Decays for the level and the trend, built once (see Decay). */
  level: Decay;
  trend: Decay;
  horizonMinutes: number;
}

export function trendParams(levelHalfLifeMinutes: number, trendHalfLifeMinutes: number, horizonMinutes: number): TrendParams {
  return { level: new Decay(levelHalfLifeMinutes), trend: new Decay(trendHalfLifeMinutes), horizonMinutes };
}

export function createTrend(): TrendState {
  return { level: NaN, trendPerMin: 0, lastTs: NaN, points: 0, lastBreachAt: NaN, breached: false };
}

/** Feed the gate value of one point. */
export function updateTrend(state: TrendState, ts: number, gateValue: number, params: TrendParams): void {
  if (state.points === 0) {
    state.level = gateValue;
    state.lastTs = ts;
    state.points = 1;
    return;
  }
  const dt = (ts - state.lastTs) / 60_000;
  if (dt <= 0) return;
  const predicted = state.level + state.trendPerMin * dt;
  const level = predicted + params.level.gain(dt) * (gateValue - predicted);
  const observedSlope = (level - state.level) / dt;
  state.trendPerMin += params.trend.gain(dt) * (observedSlope - state.trendPerMin);
  state.level = level;
  state.lastTs = ts;
  state.points++;
}

/** True when the smoothed value is on the wrong side of the gate. */
export function isPastGate(state: TrendState, gate: SloGate): boolean {
  return gate.comparator === '>' ? state.level > gate.limit : state.level < gate.limit;
}

/**
 * Minutes until the trend crosses the gate, or NaN when it is not heading there within the horizon
 * (flat, moving away, already past, or too little history to trust a slope).
 */
export function minutesToBreach(state: TrendState, gate: SloGate, params: TrendParams, minPoints = 10): number {
  if (state.points < minPoints || isPastGate(state, gate)) return NaN;
  const gap = gate.limit - state.level;
  const towards = gate.comparator === '>' ? state.trendPerMin > 0 : state.trendPerMin < 0;
  if (!towards) return NaN;
  const eta = gap / state.trendPerMin;
  return eta >= 0 && eta <= params.horizonMinutes ? eta : NaN;
}

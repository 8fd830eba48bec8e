import type { DetectionEvent, Sample, SloKind, SloRef } from '../../domain/types.js';
import type { DetectionParams } from './detection-params.js';
import { isBreached, isPastGate, minutesToBreach, rawMinutesToBreach, trendParams, updateTrend, type TrendParams } from '../predict/breach-predictor.js';
import { round4 } from '../math/round.js';
import { recheckPoints } from '../threshold/two-stage.js';
import { MS_PER_MIN } from '../time-units.js';
import type { SeriesState } from './series-state.js';

/** A point as the scorer saw it, for the breach watch (reused: nothing is allocated per point). */
export interface ScoredPoint {
  /** The value as judged (business volumes per 100 % of traffic) and what the baseline expected of it. */
  value: number;
  expected: number;
  /** judged value / sent value (the business per-share factor; 1 otherwise). */
  scale: number;
  /** The baseline has seen enough history to judge. */
  ready: boolean;
  /** The series' previous point, before this one was recorded. */
  prevTs: number;
  prevValue: number;
}

/**
 * Breach prediction on a series with an SLO gate: tracks the gate value's trend, says `breach` once
 * the gate is crossed for real and `prediction` when the trend (or, for an error rate in an
 * episode, its raw points) will cross it within the horizon. The hot path allocates only what it emits.
 */
export class BreachWatch {
  private readonly absoluteTrend: TrendParams;
  private readonly relativeTrend: TrendParams;

  constructor(
    private readonly config: DetectionParams,
    private readonly emit: (event: DetectionEvent) => void,
  ) {
    const p = config.prediction;
    this.absoluteTrend = trendParams(p.levelHalfLifeMinutes, p.trendHalfLifeMinutes, p.horizonMinutes);
    this.relativeTrend = trendParams(p.relativeLevelHalfLifeMinutes, p.trendHalfLifeMinutes, p.horizonMinutes);
  }

  watch(series: SeriesState, s: Sample, p: ScoredPoint): void {
    const gate = series.gate!;
    const trend = series.trend!;
    const cfg = gate.relative ? this.relativeTrend : this.absoluteTrend;
    if (gate.relative && !p.ready) return;
    const gateValue = gate.relative ? (p.expected !== 0 ? p.value / p.expected : 1) : s.value;
    updateTrend(trend, s.ts, gateValue, cfg, gate);
    // Being past a gate counts only when the deviation is also significant against the series' own
    // baseline, on both points that crossed it: a gate that sits inside the normal noise (a 0.1 %
    // error gate on a dependency whose failure rate wanders around 0.09 %) is crossed by noise every
    // hour, and a spike followed by an ordinary point just over it is still one spike. A relative
    // (business) gate, and an absolute gate that the series' normal is already past, need a
    // confirmed episode, since being past them is no news, getting worse is.
    // Once breached, the gate stays breached while the smoothed value is past it (hysteresis: one
    // raw point back under the limit does not end it, so a series hovering there is one breach).
    const th = series.threshold;
    const normal = p.expected / p.scale;
    const normallyPast = !gate.relative && (gate.comparator === '>' ? normal > gate.limit : normal < gate.limit);
    const holds = trend.breached && isPastGate(trend, gate);
    if (
      holds ||
      (isBreached(trend, gate) && (th.phase === 'confirmed' || (th.phase === 'warn' && (th.pointRun ?? 0) >= 2 && !gate.relative && !normallyPast)))
    ) {
      if (!trend.breached) {
        trend.breached = true;
        trend.lastBreachAt = NaN;
        this.emit({ type: 'breach', ts: s.ts, stack: s.stack, service: s.service, signal: s.signal, metric: s.metric, value: s.value, slo: sloOf(gate) });
      }
      return;
    }
    trend.breached = false;
    if (th.phase === 'normal') {
      trend.lastBreachAt = NaN;
      return;
    }
    let eta = minutesToBreach(trend, gate, cfg);
    // The smoothed trend is built to ignore noise, so it lags a fast ramp by many minutes. Inside
    // an episode of an error rate the raw points speak too: a confirmed point already past the gate
    // is a breach happening now, and a run of points beyond the bound heads for it at its own pace.
    // Errors only: a load test pushing CPU past 90 % or latency up is load, judged on the trend.
    if (!gate.relative && gate.kind === 'error_rate') {
      const raw = rawMinutesToBreach(
        gate,
        s.value,
        s.ts,
        p.prevValue,
        p.prevTs,
        th.phase === 'confirmed',
        th.pointRun ?? 0,
        recheckPoints(th, this.config.threshold),
      );
      if (raw === raw && !(eta <= raw)) eta = raw;
    }
    if (eta !== eta) return;
    const breachAt = Math.round(s.ts + eta * MS_PER_MIN);
    // Re-emit only when the forecast moved materially: by the configured shift, and by a quarter
    // of the time left, so a noisy slope does not produce a prediction every minute.
    if (trend.lastBreachAt === trend.lastBreachAt) {
      const moved = Math.abs(breachAt - trend.lastBreachAt);
      if (moved < this.config.prediction.reemitShiftMinutes * MS_PER_MIN || moved < 0.25 * (trend.lastBreachAt - s.ts)) return;
    }
    trend.lastBreachAt = breachAt;
    this.emit({
      type: 'prediction',
      ts: s.ts,
      stack: s.stack,
      service: s.service,
      signal: s.signal,
      metric: s.metric,
      breachAt,
      slo: sloOf(gate),
      value: s.value,
      slopePerMin: round4(trend.trendPerMin * (gate.relative ? series.lastExpected : 1)),
      beyondBound: (th.hits & 1) === 1,
    });
  }
}

/** The gate as events report it; built only when something is emitted. */
function sloOf(gate: { kind: SloKind; limit: number; comparator: '>' | '<'; relative?: boolean }): SloRef {
  return gate.relative === true
    ? { kind: gate.kind, limit: gate.limit, comparator: gate.comparator, relative: true }
    : { kind: gate.kind, limit: gate.limit, comparator: gate.comparator };
}

import { describe, expect, it } from 'vitest';
import {
  createTrend,
  isBreached,
  minutesToBreach,
  rawMinutesToBreach,
  reachTowardGate,
  trendParams,
  updateTrend,
  type SloGate,
  type TrendState,
} from '../src/core/predict/breach-predictor.js';

const MIN = 60_000;
const errors: SloGate = { kind: 'error_rate', limit: 0.001, comparator: '>', relative: false };
const success: SloGate = { kind: 'business_drop', limit: 0.95, comparator: '<', relative: false };

describe('breach prediction from the raw points of an episode', () => {
  it('a confirmed point already past the gate is a breach now; a warning past it is not yet', () => {
    expect(rawMinutesToBreach(errors, 0.0012, 5 * MIN, 0.0009, 4 * MIN, true, 2, 5)).toBe(0);
    expect(rawMinutesToBreach(errors, 0.0012, 5 * MIN, 0.0004, 4 * MIN, false, 1, 5)).toBeNaN();
  });

  it('extrapolates a run of two points at its own slope, in either direction', () => {
    // 0.0005 → 0.0008 in a minute: 0.0002 to go at 0.0003/min.
    expect(rawMinutesToBreach(errors, 0.0008, 5 * MIN, 0.0005, 4 * MIN, true, 2, 5)).toBeCloseTo(2 / 3, 6);
    expect(rawMinutesToBreach(success, 0.96, 5 * MIN, 0.98, 4 * MIN, true, 2, 5)).toBeCloseTo(0.5, 6);
  });

  it('extrapolates no further ahead than twice the run has lasted, nor than twice the re-check window', () => {
    // 0.000749 → 0.000812 after a deploy: 3 minutes to go at this slope, within twice a two-point run.
    expect(rawMinutesToBreach(errors, 0.000812, 5 * MIN, 0.000749, 4 * MIN, true, 2, 5)).toBeCloseTo(0.000188 / 0.000063, 6);
    // 6 minutes to go: a two-point run does not say that much.
    expect(rawMinutesToBreach(errors, 0.0004, 5 * MIN, 0.0003, 4 * MIN, true, 2, 5)).toBeNaN();
    expect(rawMinutesToBreach(errors, 0.0004, 5 * MIN, 0.0003, 4 * MIN, true, 3, 10)).toBeCloseTo(6, 6);
    expect(rawMinutesToBreach(errors, 0.0004, 5 * MIN, 0.0003, 4 * MIN, true, 30, 2)).toBeNaN();
  });

  it('in a confirmed episode, extrapolates one point beyond the bound after a dip, two minutes ahead at most', () => {
    // Kit seed 111: 0.00082, 0.00034, then 0.00097 against a 0.001 gate, confirmed on two of three points.
    expect(rawMinutesToBreach(errors, 0.00097, 5 * MIN, 0.00034, 4 * MIN, true, 1, 5)).toBeCloseTo(0.00003 / 0.00063, 6);
    // Further than twice that one point's minute: a dip says nothing about an hour.
    expect(rawMinutesToBreach(errors, 0.0005, 5 * MIN, 0.0004, 4 * MIN, true, 1, 5)).toBeNaN();
    // Not yet confirmed, one point is a spike as far as anyone knows.
    expect(rawMinutesToBreach(errors, 0.00097, 5 * MIN, 0.00034, 4 * MIN, false, 1, 5)).toBeNaN();
  });

  it('says nothing on a single point, a flat or receding run, or no earlier point', () => {
    expect(rawMinutesToBreach(errors, 0.0008, 5 * MIN, 0.0005, 4 * MIN, false, 1, 5)).toBeNaN();
    expect(rawMinutesToBreach(errors, 0.0008, 5 * MIN, 0.0009, 4 * MIN, true, 3, 5)).toBeNaN();
    expect(rawMinutesToBreach(errors, 0.0008, 5 * MIN, Number.NaN, Number.NaN, true, 3, 5)).toBeNaN();
  });
});

describe('the smoothed trend and a lone point past the gate', () => {
  const p99: SloGate = { kind: 'latency_p99', limit: 500, comparator: '>', relative: false };
  const params = trendParams(4, 15, 90);
  /** A p99 around 200 ms for 55 minutes, a bump to 295 and 242, back to 205, then `tail`; with the gate, as the breach watch passes it, or without. */
  function feed(tail: number[], withGate = true): TrendState {
    const t = createTrend();
    const history = Array.from({ length: 55 }, (_, m) => 200 + 15 * Math.sin(m * 1.7));
    for (const [m, v] of [...history, 295, 242, 205, ...tail].entries()) updateTrend(t, m * MIN, v, params, withGate ? p99 : undefined);
    return t;
  }

  it('forecasts no breach from one spike: a lone point past the gate waits for the next point to back it', () => {
    // Kit seed 101010: a lone p99 of 1,811 ms forecast the 500 ms gate two minutes out; traffic moved.
    const spike = feed([1811]);
    const eta = minutesToBreach(spike, p99, params);
    expect(eta === eta ? eta : Infinity).toBeGreaterThan(60);
    expect(spike.level).toBeLessThan(250);
    // Taken in (a trend fed without its gate), the same spike lifts the level past 400 ms and the
    // forecast is minutes away.
    const takenIn = feed([1811], false);
    expect(takenIn.level).toBeGreaterThan(400);
    expect(minutesToBreach(takenIn, p99, params)).toBeLessThan(5);
  });

  it('counts a breach in full once a second point past the gate backs the first', () => {
    const breach = feed([900, 950, 980, 990]);
    expect(breach.pastRun).toBe(4);
    expect(isBreached(breach, p99)).toBe(true);
  });
});

describe('reachTowardGate: how much of the room under its gate a value has used', () => {
  it('measures from the normal (0) to the gate (1), either way round, and has nothing to measure without room', () => {
    // A 5xx rate gone 0.03 → 0.08 % against a 0.1 % gate: 5/7 of the way.
    expect(reachTowardGate({ limit: 0.001, comparator: '>' }, 0.0003, 0.0008)).toBeCloseTo(5 / 7, 10);
    // A success rate falling towards its floor: 99.9 → 99.5 % against 99 %.
    expect(reachTowardGate({ limit: 0.99, comparator: '<' }, 0.999, 0.995)).toBeCloseTo(4 / 9, 10);
    // The good side is negative; past the gate is above 1.
    expect(reachTowardGate({ limit: 500, comparator: '>' }, 200, 170)).toBeCloseTo(-0.1, 10);
    expect(reachTowardGate({ limit: 500, comparator: '>' }, 200, 650)).toBeCloseTo(1.5, 10);
    // A normal at or past the gate, or none yet: NaN.
    expect(reachTowardGate({ limit: 90, comparator: '>' }, 92, 95)).toBeNaN();
    expect(reachTowardGate({ limit: 90, comparator: '>' }, Number.NaN, 95)).toBeNaN();
  });
});

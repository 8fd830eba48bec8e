import { describe, expect, it } from 'vitest';
import {
  baselineDecays,
  createBaseline,
  expectedAt,
  isCold,
  learn,
  relearnNoise,
  reviveBaseline,
  sigmaAt,
  type BaselineParams,
  type BaselineState,
} from '../src/core/baseline/seasonal-baseline.js';
import { decodeState, encodeState } from '../src/core/state/json-codec.js';
import { defaultDetectionConfig } from '../src/config/detection.js';

const params: BaselineParams = defaultDetectionConfig().baseline;
const decays = baselineDecays(params);
const MIN = 60_000;

/** Deterministic noise so the numbers below are reproducible. */
function noise(i: number): number {
  const x = Math.sin(i * 12.9898) * 43758.5453;
  return (x - Math.floor(x) - 0.5) * 2; // uniform in [-1, 1]
}

function daily(minute: number): number {
  return 200 + 80 * Math.sin((2 * Math.PI * (minute % 1440)) / 1440);
}

function train(minutes: number, value: (m: number) => number) {
  const st = createBaseline(params);
  for (let m = 0; m < minutes; m++) {
    const ts = m * MIN;
    const expected = st.points === 0 ? value(m) : expectedAt(st, ts);
    learn(st, ts, value(m), expected, sigmaAt(st, expected, params, ts), isCold(st, ts), params, decays);
  }
  return st;
}

describe('seasonal baseline', () => {
  it('falls back to a short-horizon level during the first season and says so', () => {
    const st = train(600, (m) => daily(m) + 5 * noise(m));
    expect(isCold(st, 600 * MIN)).toBe(true);
    // The cold level tracks the recent value, within the lag of a 30-minute half-life.
    expect(Math.abs(expectedAt(st, 600 * MIN) - daily(600))).toBeLessThan(25);
  });

  it('after one season forecasts the time-of-day shape within a few units', () => {
    const st = train(1440 * 2, (m) => daily(m) + 5 * noise(m));
    expect(isCold(st, 2880 * MIN)).toBe(false);
    let worst = 0;
    for (let m = 2880; m < 2880 + 1440; m += 15) worst = Math.max(worst, Math.abs(expectedAt(st, m * MIN) - daily(m)));
    // 15-minute buckets on an 80-unit sinusoid: step error at most ~2.6, plus noise.
    expect(worst).toBeLessThan(8);
    // Uniform noise of amplitude 5 has sigma 2.9; the robust estimate lands near it.
    const sigma = sigmaAt(st, 200, params, 2880 * MIN);
    expect(sigma).toBeGreaterThan(2);
    expect(sigma).toBeLessThan(4);
  });

  it('is robust to outliers: ten 20-sigma spikes move the forecast by little', () => {
    const clean = train(2880, (m) => daily(m) + 5 * noise(m));
    const spiky = train(2880, (m) => daily(m) + 5 * noise(m) + (m % 288 === 100 ? 60 : 0));
    let worst = 0;
    for (let m = 2880; m < 4320; m += 5) worst = Math.max(worst, Math.abs(expectedAt(clean, m * MIN) - expectedAt(spiky, m * MIN)));
    expect(worst).toBeLessThan(3);
  });

  it('a spike that is the first point a bucket sees does not become what the bucket expects', () => {
    // A 5xx rate near 0.04 %, one 1.4 % spike on day one at 14:00 sharp, the first minute of its
    // 15-minute bucket. Learned as that bucket's value, with every later point clipped against it,
    // the bucket expected 1.2 % two days later.
    const at1400 = 14 * 60;
    const rate = (m: number) => (m === at1400 ? 0.014 : 0.0004 + 0.00008 * noise(m));
    const st = train(3 * 1440, rate);
    const expected = expectedAt(st, (2 * 1440 + at1400 + 5) * MIN);
    expect(isCold(st, (2 * 1440 + at1400) * MIN)).toBe(false);
    expect(expected).toBeGreaterThan(0.0003);
    expect(expected).toBeLessThan(0.0006);
    // The bucket next to it, never spiked, expects the same.
    expect(Math.abs(expected - expectedAt(st, (2 * 1440 + at1400 + 20) * MIN))).toBeLessThan(0.0001);
  });

  it('a counter that sits at 0 is never forecast below 0, so its zeros stay unremarkable', () => {
    // Restarts per minute: 0, a lone restart every 997 minutes, and a 20-minute restart loop on day
    // three at 08:00. While the loop holds the level up, the buckets visited learn 0 minus the level;
    // once it decays they forecast below 0 (-0.003 here), and against the sigma of a constant series
    // each later 0 scored 3 sigma.
    const restarts = (m: number) => (m % 997 === 500 || (m >= 2 * 1440 + 480 && m < 2 * 1440 + 500) ? 1 : 0);
    const st = createBaseline(params);
    let lowest = Infinity;
    let worstZ = 0; // the most a 0 reads as more restarts than expected
    for (let m = 0; m < 4 * 1440; m++) {
      const ts = m * MIN;
      const expected = st.points === 0 ? 0 : expectedAt(st, ts);
      const sigma = sigmaAt(st, expected, params, ts);
      if (m >= 3 * 1440 && restarts(m) === 0) {
        lowest = Math.min(lowest, expected);
        worstZ = Math.max(worstZ, (restarts(m) - expected) / sigma);
      }
      learn(st, ts, restarts(m), expected, sigma, isCold(st, ts), params, decays);
    }
    expect(lowest).toBe(0);
    expect(worstZ).toBe(0);
    expect([st.low, st.high]).toEqual([0, 1]);
    // A restart still stands out: the range holds the forecast in, not the point.
    expect(1 / sigmaAt(st, expectedAt(st, 4 * 1440 * MIN), params, 4 * 1440 * MIN)).toBeGreaterThan(100);
  });

  it('a checkpoint from before the range reads back without one and gains it from the next point', () => {
    const st = train(1500, (m) => daily(m) + noise(m));
    const { low: _low, high: _high, ...older } = JSON.parse(JSON.stringify(st));
    const revived = reviveBaseline(older);
    expect(revived.low).toBeNaN();
    expect(expectedAt(revived, 1500 * MIN)).toBe(expectedAt(st, 1500 * MIN));
    learn(revived, 1500 * MIN, 150, 150, 3, false, params, decays);
    expect([revived.low, revived.high]).toEqual([150, 150]);
  });

  it('state is plain data that survives a checkpoint round trip unchanged', () => {
    const st = train(1500, (m) => daily(m) + noise(m));
    const copy = reviveBaseline(decodeState<BaselineState>(encodeState(st)));
    expect(copy).toEqual(st);
    expect(expectedAt(copy, 1500 * MIN)).toBe(expectedAt(st, 1500 * MIN));
    // Plain JSON.stringify writes the typed arrays as objects of indices: still read back exactly.
    expect(reviveBaseline(JSON.parse(JSON.stringify(st)))).toEqual(st);
  });

  it('reads the layout before typed arrays (one number array per season, hour spreads apart)', () => {
    const st = train(1500, (m) => daily(m) + noise(m));
    const n = st.seasons[0]!.buckets;
    const legacy = {
      ...st,
      seasons: st.seasons.map((s) => ({
        minutes: s.minutes,
        bucketMinutes: s.bucketMinutes,
        value: Array.from(st.values.subarray(s.offset, s.offset + s.buckets)),
        count: Array.from(st.counts.subarray(s.offset, s.offset + s.buckets)),
      })),
      hourSpread: Array.from(st.values.subarray(n, n + 24)),
      hourCount: Array.from(st.values.subarray(n + 24, n + 48)),
      values: undefined,
      counts: undefined,
    };
    const copy = reviveBaseline(JSON.parse(JSON.stringify(legacy)));
    expect(copy).toEqual(st);
    for (let m = 1500; m < 1500 + 1440; m += 7) expect(expectedAt(copy, m * MIN)).toBe(expectedAt(st, m * MIN));
  });
});

describe('relearnNoise: a series whose volume multiplied', () => {
  it('keeps its mean, forgets the shape and the spread that noise drew, and learns the new noise within tens of points', () => {
    // Two days as a standby: a flat 100 under noise of amplitude 60 (the shape the buckets learn is noise).
    const st = train(2880, (m) => 100 + 60 * noise(m));
    const before = sigmaAt(st, 100, params, 2880 * MIN);
    expect(before).toBeGreaterThan(25);
    relearnNoise(st, 10, true);
    // One value for every bucket, the buckets' mean, each keeping its weight; the hours' counts are gone.
    const buckets = Array.from(st.values.subarray(0, 96));
    expect(Math.max(...buckets) - Math.min(...buckets)).toBe(0);
    expect(Math.abs(expectedAt(st, 2880 * MIN) - 100)).toBeLessThan(5);
    expect(Math.min(...st.counts)).toBeGreaterThan(10);
    expect(Array.from(st.values.subarray(96 + 24))).toEqual(new Array(24).fill(0));
    // At the new volume the noise is a tenth: forty points later sigma is within twice of it (~1.7).
    for (let m = 2880; m < 2920; m++) {
      const ts = m * MIN;
      const expected = expectedAt(st, ts);
      learn(st, ts, 100 + 6 * noise(m), expected, sigmaAt(st, expected, params, ts), isCold(st, ts), params, decays);
    }
    const after = sigmaAt(st, 100, params, 2920 * MIN);
    expect(after).toBeLessThan(before / 4);
    expect(after).toBeLessThan(8);
  });
});

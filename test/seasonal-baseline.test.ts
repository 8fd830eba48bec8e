import { describe, expect, it } from 'vitest';
import {
  baselineDecays,
  createBaseline,
  expectedAt,
  isCold,
  learn,
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

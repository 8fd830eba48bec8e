import { describe, expect, it } from 'vitest';
import { createThreshold, observe, persistence, persistenceFraction, type ThresholdParams } from '../src/core/threshold/two-stage.js';

const params = { warnScore: 4, recheckMinutes: 5, confirmFraction: 0.8, clearMinutes: 10 };
const MIN = 60_000;

function feed(scores: number[]) {
  const st = createThreshold();
  return { st, transitions: scores.map((s, i) => observe(st, i * MIN, s, params)) };
}

describe('two-stage threshold', () => {
  it('warns on the first crossing and confirms once 4 of the last 5 points stay beyond the bound', () => {
    const { transitions } = feed([0, 1, 5, 6, 2, 7, 8, 1]);
    expect(transitions).toEqual(['none', 'none', 'warn', 'none', 'none', 'none', 'confirmed', 'none']);
  });

  it('a lone spike warns but never confirms, and clears after the clear window', () => {
    const scores = [0, 9, ...Array(12).fill(0)];
    const { st, transitions } = feed(scores);
    expect(transitions.filter((t) => t === 'confirmed')).toHaveLength(0);
    expect(transitions[1]).toBe('warn');
    expect(transitions.indexOf('cleared')).toBe(11); // 10 minutes after the last hit at minute 1
    expect(st.phase).toBe('normal');
  });

  it('confirms a sharp, large move in two points, a moderate one in three, one at the bound in four of five', () => {
    expect(feed([0, 10, 10, 0]).transitions).toEqual(['none', 'warn', 'confirmed', 'none']);
    expect(feed([0, 6, 7, 0]).transitions).toEqual(['none', 'warn', 'none', 'none']);
    expect(feed([0, 6, 6, 6]).transitions).toEqual(['none', 'warn', 'none', 'confirmed']);
    expect(feed([0, 4.1, 4.2, 4.1, 1, 4.3]).transitions).toEqual(['none', 'warn', 'none', 'none', 'none', 'confirmed']);
  });

  it('a lone spike of any size never confirms, and two spikes apart are not a run', () => {
    expect(feed([0, 1000, 0, 0]).transitions.filter((t) => t === 'confirmed')).toEqual([]);
    expect(feed([0, 50, 0, 50, 0, 0]).transitions.filter((t) => t === 'confirmed')).toEqual([]);
  });

  it('ignores deviations in the good direction (negative scores)', () => {
    const { transitions } = feed([-10, -12, -9, -11, -10, -10]);
    expect(transitions.every((t) => t === 'none')).toBe(true);
  });

  it('turns the re-check window into points at the series resolution', () => {
    const st = createThreshold();
    // 5-minute data: a 5-minute window is one point; confirmation needs a second point.
    expect(observe(st, 0, 0, params)).toBe('none');
    for (let i = 1; i < 60; i++) observe(st, i * 5 * MIN, 0, params);
    expect(persistence(st, params).of).toBe(1);
    expect(observe(st, 60 * 5 * MIN, 6, params)).toBe('warn');
    expect(observe(st, 61 * 5 * MIN, 6, params)).toBe('confirmed');
  });

  it('after a change, errors confirm on two points in a row at the after-change bound, never on one', () => {
    const canary: ThresholdParams = { ...params, warnScore: 3, confirmRun: 2 };
    const feedWith = (p: ThresholdParams, scores: number[]) => {
      const st = createThreshold();
      return scores.map((x, i) => observe(st, i * MIN, x, p));
    };
    // 3.3σ then 4.7σ: the default rule needs 4 units of run strength (1.1 + 1.57 here) and waits.
    expect(feedWith({ ...params, warnScore: 3 }, [0, 3.3, 4.7, 0])).toEqual(['none', 'warn', 'none', 'none']);
    expect(feedWith(canary, [0, 3.3, 4.7, 0])).toEqual(['none', 'warn', 'confirmed', 'none']);
    // A lone spike of any size is still one point.
    expect(feedWith(canary, [0, 120, 0, 0, 2.9, 0])).not.toContain('confirmed');
    // With confirmWithin (after the rollout), two of three points past the bound confirm too, the
    // second on a hit (kit seed 44: a release's 5xx at 3.4σ, 2.0σ, then 4.1σ at its breach); two
    // hits further apart do not.
    const settled: ThresholdParams = { ...canary, confirmWithin: 3 };
    expect(feedWith(settled, [0, 3.4, 2.0, 4.1])).toEqual(['none', 'warn', 'none', 'confirmed']);
    expect(feedWith(settled, [0, 3.4, 0, 0, 4.1])).toEqual(['none', 'warn', 'none', 'none', 'none']);
    expect(feedWith(canary, [0, 3.4, 2.0, 4.1])).not.toContain('confirmed');
    expect(feedWith({ ...params, warnScore: 3 }, [0, 3.4, 2.0, 4.1])).not.toContain('confirmed');
  });

  it('after the rollout, a hit confirms at once when the points before it summed to a bound (CUSUM)', () => {
    const settled: ThresholdParams = { ...params, warnScore: 3, confirmRun: 2, confirmWithin: 3 };
    const run = (p: ThresholdParams, scores: number[], slowScore?: number) => {
      const st = createThreshold();
      if (slowScore !== undefined) st.slowScore = slowScore;
      const out = scores.map((x, i) => observe(st, i * MIN, x, p));
      return { out, cusum: st.cusum };
    };
    // Kit seed 11: a release's 5xx rising inside the noise, then a first hit two minutes before its breach.
    const ramp = [0, 2.1, 1.2, 1.7, 1.1, 1.9, 3.1];
    const r = run(settled, ramp);
    expect(r.out).toEqual(['none', 'none', 'none', 'none', 'none', 'none', 'confirmed']);
    // 1.6 + 0.7 + 1.2 + 0.6 + 1.4 before the hit, then the hit (clipped at the bound) less the slack.
    expect(r.cusum).toBeCloseTo(5.5 + 2.5, 10);
    // The same points during the rollout (no confirmWithin) or on an unchanged stack: one hit, no verdict.
    expect(run({ ...settled, confirmWithin: undefined }, ramp).out).not.toContain('confirmed');
    expect(run({ ...params, warnScore: 3 }, ramp).out).not.toContain('confirmed');
    // Points just past the slack do not add up to a bound, and a lone spike of any size after calm
    // points stays one point.
    expect(run(settled, [0, 0.9, 0.9, 0.9, 0.9, 0.9, 3.5]).out).not.toContain('confirmed');
    expect(run(settled, [0, 0.2, -1, 0.4, 0.1, 40]).out).not.toContain('confirmed');
    // A series running a sigma over its forecast while calm (slowScore 1) sums only what lies above that.
    expect(run(settled, ramp, 1).out).not.toContain('confirmed');
    // The hit may be the averaged channel's (imitation seed 7373: a cut-over release's 5xx at 0.9σ,
    // 1.4σ, 1.7σ, 2.5σ, then 2.9σ with its average at 3.3σ, a minute before the breach).
    const both = (points: number[], scores: number[]) => {
      const st = createThreshold();
      return points.map((x, i) => observe(st, i * MIN, scores[i]!, settled, x));
    };
    expect(both([0, 0.9, 1.4, 1.7, 2.5, 2.9], [0, 0.9, 1.4, 1.7, 2.5, 3.3])).toEqual(['none', 'none', 'none', 'none', 'none', 'confirmed']);
    // The average a lone spike carries into the calm point after it is no such hit: the spike
    // alone sums to 2.5 (clipped at the bound, less the slack), under a bound.
    expect(both([0, 0, 40, 0.5], [0, 0, 40, 3.1])).toEqual(['none', 'none', 'warn', 'none']);
    // Nor two spikes apart, each summed once, with the second's average carried into a calm point.
    expect(both([0, 40, 0, 0, 40, 0.5], [0, 40, 2.5, 2.0, 40, 3.1])).not.toContain('confirmed');
  });

  it('reports how much of the window a young episode has lived, and weighs persistence over that', () => {
    const { st } = feed([0, 0, 9, 9]);
    expect(persistence(st, params)).toEqual({ hits: 2, of: 5 });
    expect(persistence(st, params, 2)).toEqual({ hits: 2, of: 5, seen: 2 });
    expect(persistenceFraction(persistence(st, params, 2))).toBe(1);
    expect(persistenceFraction({ hits: 4, of: 5 })).toBeCloseTo(0.8, 10);
    // Once the episode is as old as the window, the window is what counts.
    expect(persistence(st, params, 7)).toEqual({ hits: 2, of: 5 });
  });
});

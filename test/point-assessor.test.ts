import { describe, expect, it } from 'vitest';
import { defaultDetectionConfig } from '../src/config/detection.js';
import { baselineDecays, createBaseline } from '../src/core/baseline/seasonal-baseline.js';
import { assessPoint, learnPoint, newAssessment } from '../src/core/detection/point-assessor.js';
import { createThreshold, type ThresholdParams } from '../src/core/threshold/two-stage.js';

const cfg = defaultDetectionConfig();
const MIN = 60_000;
const T0 = Date.UTC(2026, 2, 1);

/** Deterministic, roughly normal noise (sum of three uniforms, sd 1). */
function noise(i: number): number {
  let s = 0;
  for (let k = 0; k < 3; k++) {
    const x = Math.sin((i * 3 + k) * 12.9898 + 78.233) * 43758.5453;
    s += x - Math.floor(x) - 0.5;
  }
  return s * 2;
}

/**
 * Two days of 100 + noise learned, then `tail` (in sigmas of the learned spread) scored with
 * `threshold`; returns every point's score and whether the episode was confirmed.
 */
function run(tail: number[], threshold: ThresholdParams): { scores: number[]; points: number[]; confirmed: boolean } {
  const b = createBaseline(cfg.baseline);
  const decays = baselineDecays(cfg.baseline);
  const th = createThreshold();
  const a = newAssessment();
  let m = 0;
  for (; m < 2 * 1440; m++) {
    assessPoint(b, th, T0 + m * MIN, 100 + noise(m), 1, cfg, a, threshold);
    learnPoint(b, th, T0 + m * MIN, 100 + noise(m), a, cfg, decays, false);
  }
  expect(th.phase).toBe('normal');
  const sigma = a.sigma;
  const scores: number[] = [];
  const points: number[] = [];
  let confirmed = false;
  for (const z of tail) {
    const ts = T0 + m++ * MIN;
    const value = a.expected + z * sigma;
    assessPoint(b, th, ts, value, 1, cfg, a, threshold);
    learnPoint(b, th, ts, value, a, cfg, decays, false);
    scores.push(a.score);
    points.push((value - a.expected) / a.sigma);
    if (a.transition === 'confirmed') confirmed = true;
  }
  return { scores, points, confirmed };
}

describe('one point through baseline and threshold: the averaged (EWMA) channel', () => {
  // The bound a stack that just changed is judged by (afterChangeWarnScore, 3): the lowest in use.
  const afterChange: ThresholdParams = { ...cfg.threshold, warnScore: cfg.threshold.afterChangeWarnScore };

  it('does not carry a lone spike past the bound: 22σ, then points at 1-1.5σ, stays a warning', () => {
    // Seed 761107's false rollback: one 5xx minute at 22σ 37 minutes after a config change, then
    // minutes within the hour's ordinary noise. With a spike worth six sigmas in the average, those
    // minutes averaged 3.2-3.9σ and confirmed at 3.5σ.
    const { scores, points, confirmed } = run([22, 1.5, 1.5, 1.5, 1.5, 1, 1, 0.5], afterChange);
    expect(scores[0]).toBeGreaterThan(21);
    // After the spike, no point scores past the bound unless it is past the bound itself.
    for (let i = 1; i < scores.length; i++) if (points[i]! < afterChange.warnScore) expect(scores[i]).toBeLessThan(afterChange.warnScore);
    expect(points.slice(1).filter((z) => z >= afterChange.warnScore).length).toBeLessThan(2);
    expect(confirmed).toBe(false);
  });

  it('scores a point in the good direction below zero: the smoothed scores stacks are compared on read it so', () => {
    // A point floor (assessPoint's atLeast) of 0, the default, must leave these alone: clamped to
    // zero once, every health and smoothed score moved (the canary fixture's old version 0.78σ → 0.86σ).
    const { scores } = run([-3, -2, -1], cfg.threshold);
    expect(scores.every((x) => x < 0)).toBe(true);
    expect(scores[0]).toBeLessThan(-1);
  });

  it('still confirms a sustained shift the point test cannot see: 2.2σ for fifteen minutes', () => {
    const { scores, confirmed } = run(new Array(15).fill(2.2), cfg.threshold);
    expect(scores[0]).toBeLessThan(cfg.threshold.warnScore);
    expect(confirmed).toBe(true);
    // Confirmed once the average has built up (about eight points), not on the first ones.
    expect(scores.findIndex((s) => s >= cfg.threshold.warnScore)).toBeGreaterThan(3);
  });

  it('confirms a run of large points on the points themselves, whatever the average', () => {
    const { confirmed, scores } = run([9, 9, 9], cfg.threshold);
    expect(scores.every((s) => s > 8)).toBe(true);
    expect(confirmed).toBe(true);
  });
});

/**
 * `days` of 100 + `noise(m)` at one-minute points, learned, with `ramp(k)` sigmas added from
 * minute `from` on (k = minutes since `from`), scored with the slow (drift) channel on or off.
 * Returns the warnings raised, the minute of the ramp at which it was confirmed (-1: never), and
 * the slow channel's learned spread.
 */
function creep(drift: boolean, days: number, wander: (m: number) => number, from = Infinity, ramp: (k: number) => number = () => 0) {
  const b = createBaseline(cfg.baseline);
  const decays = baselineDecays(cfg.baseline);
  const th = createThreshold();
  const a = newAssessment();
  let sigma = 1;
  let warns = 0;
  let confirmedAt = -1;
  for (let m = 0; m < days * 1440; m++) {
    const value = 100 + wander(m) + (m >= from ? ramp(m - from) * sigma : 0);
    assessPoint(b, th, T0 + m * MIN, value, 1, cfg, a, cfg.threshold, 0, 1, Number.NaN, 0, drift ? 'judge' : 'off');
    if (m < from) sigma = a.sigma;
    learnPoint(b, th, T0 + m * MIN, value, a, cfg, decays, false);
    if (a.transition === 'warn') warns++;
    if (a.transition === 'confirmed' && m >= from && confirmedAt < 0) confirmedAt = m - from;
  }
  return { warns, confirmedAt, slowAbs: th.slowAbs };
}

/** Noise correlated from one minute to the next (AR(1), 0.9), of unit variance: how real residuals wander. */
const wandering = ((): ((m: number) => number) => {
  const x: number[] = [];
  let v = 0;
  for (let m = 0; m < 15 * 1440; m++) x.push((v = 0.9 * v + Math.sqrt(1 - 0.81) * noise(m + 7)));
  return (m) => x[m]!;
})();

describe('the slow (drift) channel: a creep towards a hard limit', () => {
  it('confirms an hour-long creep to 2σ twenty minutes before the point test and the short average do', () => {
    // Imitation error_creep, seed 2102: an error rate rising for an hour, one or two sigmas a
    // point, confirmed only 33 minutes after its breach without this channel.
    const ramp = (k: number): number => Math.min(k / 30, 4);
    const on = creep(true, 3, noise, 2 * 1440, ramp);
    const off = creep(false, 3, noise, 2 * 1440, ramp);
    expect(on.confirmedAt).toBeGreaterThan(30);
    expect(on.confirmedAt).toBeLessThan(62);
    expect(off.confirmedAt).toBeGreaterThan(on.confirmedAt + 15);
  });

  it('stays quiet through two weeks of independent noise, its spread at what theory gives', () => {
    const r = creep(true, 14, noise);
    expect(r.warns).toBe(0);
    // Mean |EWMA| of unit noise at gain 0.05: sqrt(0.05 / 1.95) * sqrt(2 / pi) = 0.128.
    expect(r.slowAbs).toBeGreaterThan(0.12);
    expect(r.slowAbs).toBeLessThan(0.15);
  });

  it('learns how far a wandering series strays and adds no warning of its own there', () => {
    const on = creep(true, 14, wandering);
    const off = creep(false, 14, wandering);
    // The short channels warn on the wander as they did; the slow one widened to it (3x and more).
    expect(on.warns).toBe(off.warns);
    expect(on.slowAbs).toBeGreaterThan(0.4);
  });
});

import { describe, expect, it } from 'vitest';
import { rawMinutesToBreach, type SloGate } from '../src/core/predict/breach-predictor.js';

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

  it('says nothing on a single point, a flat or receding run, or no earlier point', () => {
    expect(rawMinutesToBreach(errors, 0.0008, 5 * MIN, 0.0005, 4 * MIN, false, 1, 5)).toBeNaN();
    expect(rawMinutesToBreach(errors, 0.0008, 5 * MIN, 0.0009, 4 * MIN, true, 3, 5)).toBeNaN();
    expect(rawMinutesToBreach(errors, 0.0008, 5 * MIN, Number.NaN, Number.NaN, true, 3, 5)).toBeNaN();
  });
});

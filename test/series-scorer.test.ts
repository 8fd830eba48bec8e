import { seededUniform } from '../src/core/math/seeded-uniform.js';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultDetectionConfig } from '../src/config/detection.js';
import { sharedData } from './support/shared-data.js';
import { evaluateNab } from '../src/eval/nab-eval.js';
import { OnsetGate, RunningQuantile } from '../src/core/score/onset.js';
import { ALARM_EVIDENCE, REFRACTORY_POINTS, scoreSeries, SeriesScorer } from '../src/core/score/series-scorer.js';

const cfg = defaultDetectionConfig();
const MIN = 60_000;
const STEP_MIN = 5;
const DAY = 1440 / STEP_MIN; // points per day at 5-minute resolution
const T0 = Date.UTC(2024, 0, 1);

const rng = seededUniform;

/** Daily sinusoid (mean 200, amplitude 80) with gaussian noise of sigma 5, every 5 minutes, plus `extra(i)`. */
function seasonal(n: number, seed: number, extra: (i: number) => number = () => 0): { ts: number; value: number }[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const gauss = Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
    const minute = (i * STEP_MIN) % 1440;
    return { ts: T0 + i * STEP_MIN * MIN, value: 200 + 80 * Math.sin((2 * Math.PI * minute) / 1440) + 5 * gauss + extra(i) };
  });
}

function max(a: ArrayLike<number>, from = 0, to = a.length): { value: number; at: number } {
  let value = -Infinity;
  let at = -1;
  for (let i = from; i < to; i++) if (a[i]! > value) [value, at] = [a[i]!, i];
  return { value, at };
}

describe('series scorer', () => {
  it('is causal: appending future rows never changes earlier scores', () => {
    const rows = seasonal(6 * DAY, 11, (i) => (i >= 4 * DAY + 30 ? 60 : 0) + (i === 5 * DAY ? -150 : 0));
    const full = scoreSeries(rows, cfg);
    for (const cut of [50, DAY + 7, 4 * DAY + 30, 4 * DAY + 31, 5 * DAY + 1]) {
      const prefix = scoreSeries(rows.slice(0, cut), cfg);
      expect(Array.from(prefix)).toEqual(Array.from(full.slice(0, cut)));
    }
    // Point-at-a-time scoring is the same computation.
    const scorer = new SeriesScorer(cfg);
    const streamed = rows.map((r) => scorer.next(r.ts, r.value));
    expect(streamed).toEqual(Array.from(full));
  });

  it('is deterministic and stays in [0, 1)', () => {
    const rows = seasonal(5 * DAY, 3, (i) => (i % 397 === 0 ? 90 : 0));
    const a = scoreSeries(rows, cfg);
    const b = scoreSeries(rows, cfg);
    expect(Array.from(a)).toEqual(Array.from(b));
    for (const s of a) {
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(1);
    }
  });

  it('raises nothing on a clean seasonal series after a two-day warm-up', () => {
    const s = scoreSeries(seasonal(14 * DAY, 1), cfg);
    const worst = max(s, 2 * DAY);
    // The loudest point in 12 days of gaussian noise is ~3.7 sigma: evidence ~1.25, score ~0.46.
    expect(worst.value).toBeLessThan(0.5);
    expect(worst.value).toBeGreaterThan(0.3);
  });

  it('scores a level shift up or down as one onset >= 0.5 at once, then continuation below 0.5', () => {
    const at = 4 * DAY + 17;
    for (const jump of [60, -60]) {
      const s = scoreSeries(
        seasonal(6 * DAY, 1, (i) => (i >= at ? jump : 0)),
        cfg,
      );
      const onset = max(s, at, at + 3);
      expect(onset.value).toBeGreaterThanOrEqual(0.5); // a 12-sigma shift: measured 0.62-0.75
      // No second alarm while the shifted level persists (until the baseline has relearned it).
      const after = max(s, onset.at + 1, at + REFRACTORY_POINTS);
      expect(after.value).toBeLessThan(0.5);
      expect(after.value).toBeCloseTo(1 / (1 + ALARM_EVIDENCE), 6); // continuation: capped, not zero
    }
  });

  it('with a direction, only deviations that way alarm', () => {
    const at = 4 * DAY + 17;
    const rows = seasonal(6 * DAY, 1, (i) => (i >= at ? -60 : 0));
    expect(max(scoreSeries(rows, cfg, -1), at, at + 3).value).toBeGreaterThanOrEqual(0.5);
    expect(max(scoreSeries(rows, cfg, 1), at, at + 3).value).toBeLessThan(0.5);
  });

  it('alarms once for a burst of similar spikes, and again for a larger burst after the refractory period', () => {
    // Six spikes of +100 (20 sigma), one every 5 points; 300 points later six of +150. The second
    // burst is larger than any spike seen (an identical one would be a seen spike: see the next test).
    const bursts = [4 * DAY, 4 * DAY + 3 * REFRACTORY_POINTS];
    const size = [100, 150];
    const rows = seasonal(6 * DAY, 5, (i) => {
      const k = bursts.findIndex((b) => i >= b && i < b + 30 && (i - b) % 5 === 0);
      return k < 0 ? 0 : size[k]!;
    });
    const s = scoreSeries(rows, cfg);
    for (const b of bursts) {
      let alarms = 0;
      for (let i = b; i < b + 30; i++) if (s[i]! >= 0.5) alarms++;
      expect(alarms).toBe(1);
      expect(s[b]!).toBeGreaterThanOrEqual(0.5);
    }
  });

  it('does not alarm again for a burst of spikes no larger than the ones it has seen', () => {
    const bursts = [4 * DAY, 4 * DAY + 3 * REFRACTORY_POINTS];
    const rows = seasonal(6 * DAY, 5, (i) => (bursts.some((b) => i >= b && i < b + 30 && (i - b) % 5 === 0) ? 100 : 0));
    const s = scoreSeries(rows, cfg);
    expect(s[bursts[0]!]!).toBeGreaterThanOrEqual(0.5);
    expect(max(s, bursts[1]!, bursts[1]! + 30).value).toBeLessThan(0.5);
  });
});

describe('onset building blocks', () => {
  it('RunningQuantile settles near the requested quantile', () => {
    // Exponential(1): the upper 1 % quantile is ln(100) = 4.61.
    const r = rng(7);
    const q = new RunningQuantile(0.01, 0.02, 1);
    for (let i = 0; i < 200_000; i++) q.update(-Math.log(1 - r()));
    expect(q.value).toBeGreaterThan(4.1);
    expect(q.value).toBeLessThan(5.1);
  });

  it('OnsetGate passes the first crossing and escalations, and forgets after the refractory period', () => {
    const g = new OnsetGate(10, 1.2);
    expect(g.isOnset(3)).toBe(true);
    expect(g.isOnset(3.5)).toBe(false); // +17 %: same episode
    expect(g.isOnset(4.5)).toBe(true); // +29 % over the held 3.5
    for (let i = 0; i < 10; i++) expect(g.isOnset(1)).toBe(false);
    expect(g.isOnset(1)).toBe(true); // 11 points after the last peak: a new episode
  });
});

const { dir: nabDir, skip: noNab } = sharedData('nab-dev', join('labels', 'combined_windows.json'), 'the NAB dev score');

describe.skipIf(noNab)('NAB dev corpus (one corpus-wide threshold per profile)', () => {
  it('scores at least 72 / 60 / 78 (standard / low FP / low FN) with the defaults', () => {
    const r = evaluateNab(defaultDetectionConfig(), nabDir);
    expect(r.files).toBe(27);
    // Measured 76.9 / 68.8 / 81.5 with the defaults (74.8 / 62.6 / 80.7 without the seen-spike
    // memory; 74.3 / 62.9 / 80.4 before the capped rarity tracker; 71.1 / 59.8 / 77.6 with the
    // baseline detector alone).
    expect(r.profiles.standard.normalized).toBeGreaterThanOrEqual(72);
    expect(r.profiles.reward_low_FP.normalized).toBeGreaterThanOrEqual(60);
    expect(r.profiles.reward_low_FN.normalized).toBeGreaterThanOrEqual(78);
    // The noise-only files never alarm at the chosen threshold.
    expect(r.profiles.standard.byCategory['artificialNoAnomaly']!.fp).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  MAX_TP,
  NAB_PROFILES,
  optimizeThreshold,
  oracleScores,
  probationLength,
  scaledSigmoid,
  scoreCorpusAtThreshold,
  scoreFileAtThreshold,
  type NabFile,
} from '../src/eval/nab.js';
import { NAB_DEV_DIR, loadNabCorpus, nabCategory, normalizedByCategory } from '../src/eval/nab-corpus.js';

const STD = NAB_PROFILES.standard;
const T0 = Date.UTC(2020, 0, 1);
const MIN = 60_000;

/**
 * 100 rows, one per minute → probation = floor(0.15 * 100) = 15 rows (0..14).
 * One window covering rows 40..49 (width 10).
 */
function tinyFile(windows: [number, number][] = [[40, 49]], n = 100, name = 'cat/tiny.csv'): NabFile {
  const timestamps = Array.from({ length: n }, (_, i) => T0 + i * MIN);
  return { name, timestamps, windows: windows.map(([a, b]) => [T0 + a * MIN, T0 + b * MIN]) };
}

/** Scores that are 1 at the given rows and 0 elsewhere. */
function firesAt(n: number, rows: number[]): Float64Array {
  const s = new Float64Array(n);
  for (const r of rows) s[r] = 1;
  return s;
}

describe('NAB primitives', () => {
  it('probation is min(floor(0.15 N), 750)', () => {
    expect(probationLength(100)).toBe(15);
    expect(probationLength(4032)).toBe(604);
    expect(probationLength(15902)).toBe(750);
  });

  it('scaled sigmoid matches NAB: s(-1)=0.98661, s(0)=0, s(>3)=-1', () => {
    expect(MAX_TP).toBeCloseTo(0.9866142981514305, 15);
    expect(scaledSigmoid(-0.5)).toBeCloseTo(0.8482836399575129, 15);
    expect(scaledSigmoid(0)).toBe(0);
    expect(scaledSigmoid(1)).toBeCloseTo(-0.9866142981514305, 15);
    expect(scaledSigmoid(3.0001)).toBe(-1);
  });
});

describe('scoreFileAtThreshold (hand-computed, standard profile)', () => {
  const file = tinyFile();

  it('a detection at the window start earns exactly A_TP', () => {
    const r = scoreFileAtThreshold(file, firesAt(100, [40]), 0.5, STD);
    expect(r.score).toBe(1);
    expect(r).toMatchObject({ tp: 1, fp: 0, fn: 9, tn: 75, detectedWindows: 1, missedWindows: 0 });
  });

  it('a late detection earns less, by the sigmoid: y = -(49-45+1)/10 = -0.5 → s(-0.5)/s(-1)', () => {
    const r = scoreFileAtThreshold(file, firesAt(100, [45]), 0.5, STD);
    expect(r.score).toBeCloseTo(0.8597925669097837, 12);
    expect(r.score).toBeCloseTo(Math.tanh(1.25) / Math.tanh(2.5), 12);
    const last = scoreFileAtThreshold(file, firesAt(100, [49]), 0.5, STD);
    expect(last.score).toBeCloseTo(0.24824154977542992, 12);
  });

  it('only the earliest detection in a window counts', () => {
    const r = scoreFileAtThreshold(file, firesAt(100, [42, 45, 49]), 0.5, STD);
    const early = scoreFileAtThreshold(file, firesAt(100, [42]), 0.5, STD);
    expect(r.score).toBeCloseTo(early.score, 15);
    expect(r.tp).toBe(3);
  });

  it('a missed window costs A_FN (1 standard, 2 reward_low_FN)', () => {
    const none = new Float64Array(100);
    expect(scoreFileAtThreshold(file, none, 0.5, STD).score).toBe(-1);
    expect(scoreFileAtThreshold(file, none, 0.5, NAB_PROFILES.reward_low_FN).score).toBe(-2);
    expect(scoreFileAtThreshold(file, none, 0.5, STD)).toMatchObject({ tp: 0, fp: 0, fn: 10, tn: 75, missedWindows: 1 });
  });

  it('an FP far from any window costs A_FP', () => {
    // before any window: the full -A_FP
    expect(scoreFileAtThreshold(file, firesAt(100, [20]), 0.5, STD).score).toBeCloseTo(-1 - 0.11, 15);
    // more than 3 window-widths (3 * (10 - 1) rows) past the window: also the full -A_FP
    expect(scoreFileAtThreshold(file, firesAt(100, [77]), 0.5, STD).score).toBeCloseTo(-1.11, 15);
    expect(scoreFileAtThreshold(file, firesAt(100, [20]), 0.5, NAB_PROFILES.reward_low_FP).score).toBeCloseTo(-1.22, 15);
  });

  it('an FP right after a window costs less than a far one (weighted by position past it)', () => {
    const right = scoreFileAtThreshold(file, firesAt(100, [50]), 0.5, STD); // 1/9 of a width past
    const oneWidth = scoreFileAtThreshold(file, firesAt(100, [58]), 0.5, STD); // 9/9 past
    const far = scoreFileAtThreshold(file, firesAt(100, [90]), 0.5, STD);
    expect(right.score - -1).toBeCloseTo(-0.029793183036839352, 12); // 0.11 * s(1/9)
    expect(oneWidth.score - -1).toBeCloseTo(-0.10852757279665734, 12); // 0.11 * s(1)
    expect(far.score - -1).toBeCloseTo(-0.11, 12);
    expect(right.score).toBeGreaterThan(oneWidth.score);
    expect(oneWidth.score).toBeGreaterThan(far.score);
    expect(right.fp).toBe(1);
  });

  it('probation rows are ignored (detections there are neither TP nor FP)', () => {
    const r = scoreFileAtThreshold(file, firesAt(100, [0, 5, 14]), 0.5, STD);
    expect(r.score).toBe(-1);
    expect(r).toMatchObject({ tp: 0, fp: 0 });
    expect(r.tp + r.fp + r.fn + r.tn).toBe(85);
    // row 15 is the first scored row
    expect(scoreFileAtThreshold(file, firesAt(100, [15]), 0.5, STD).fp).toBe(1);
    // a window entirely inside probation is not scored at all
    const early = tinyFile([[2, 8]]);
    expect(scoreFileAtThreshold(early, new Float64Array(100), 0.5, STD).score).toBe(0);
    expect(scoreFileAtThreshold(early, firesAt(100, [3]), 0.5, STD).score).toBe(0);
  });

  it('detection means score >= threshold; NaN never fires', () => {
    const s = new Float64Array(100);
    s[40] = 0.7;
    expect(scoreFileAtThreshold(file, s, 0.7, STD).score).toBe(1);
    expect(scoreFileAtThreshold(file, s, 0.7000001, STD).score).toBe(-1);
    expect(scoreFileAtThreshold(file, s, Infinity, STD).score).toBe(-1);
    s[40] = NaN;
    expect(scoreFileAtThreshold(file, s, -Infinity, STD).tp).toBe(9); // every window row but the NaN one
    s[40] = Infinity;
    expect(scoreFileAtThreshold(file, s, 1e300, STD).score).toBe(1);
  });

  it('combines windows and FPs additively', () => {
    const two = tinyFile([
      [30, 39],
      [60, 69],
    ]);
    // window 1 at start (+1), window 2 missed (-1), FP at 20 (before any window: -0.11)
    expect(scoreFileAtThreshold(two, firesAt(100, [20, 30]), 0.5, STD).score).toBeCloseTo(1 - 1 - 0.11, 15);
  });

  it('rejects scores of the wrong length', () => {
    expect(() => scoreFileAtThreshold(file, new Float64Array(99), 0.5, STD)).toThrow(/99 scores for 100/);
  });
});

describe('optimizeThreshold and normalization', () => {
  it('a null detector normalizes to 0 and a perfect one to 100', () => {
    const file = tinyFile();
    for (const profile of Object.values(NAB_PROFILES)) {
      const nul = optimizeThreshold([{ file, scores: new Float64Array(100) }], profile);
      expect(nul.threshold).toBe(Infinity);
      expect(nul.score).toBe(-profile.fn);
      expect(nul.normalized).toBe(0);
      const perfect = optimizeThreshold([{ file, scores: oracleScores(file) }], profile);
      expect(perfect.threshold).toBe(1);
      expect(perfect.score).toBe(profile.tp);
      expect(perfect.normalized).toBe(100);
    }
  });

  it('picks the corpus threshold that maximises the summed score (hand example)', () => {
    const file = tinyFile();
    const s = new Float64Array(100);
    s[40] = 0.9; // window start
    s[20] = 0.95; // FP before any window
    // thresholds: ∞ → -1; 0.95 → -1.11; 0.9 → 1 - 0.11 = 0.89; 0 → everything fires (worse)
    const r = optimizeThreshold([{ file, scores: s }], STD);
    expect(r.threshold).toBe(0.9);
    expect(r.score).toBeCloseTo(0.89, 12);
    expect(r.normalized).toBeCloseTo((100 * (0.89 + 1)) / 2, 10);
    expect(r.nullScore).toBe(-1);
    expect(r.perfectScore).toBe(1);
    expect(r.perFile[0]).toMatchObject({ name: 'cat/tiny.csv', tp: 1, fp: 1 });
  });

  it('ties go to the highest threshold (as NAB’s stable sort)', () => {
    const file = tinyFile();
    const s = new Float64Array(100).fill(0.1);
    s[40] = 0.9; // at 0.9: +1, at 0.5 nothing more fires, at 0.1: everything fires
    const r = optimizeThreshold([{ file, scores: s }], STD);
    expect(r.threshold).toBe(0.9);
  });

  it('matches numenta/NAB sweeper.py + optimizer on random synthetic corpora (reference numbers from the Python code)', () => {
    // Reference: numenta/NAB nab/sweeper.py run (Python) on exactly these seeded corpora.
    const ref: Record<number, { threshold: number; score: number }[]> = {
      1: [
        { threshold: 0.95, score: 2.5837049878667417 },
        { threshold: 0.95, score: -1.3453203148872905 },
        { threshold: 0.95, score: 1.5837049878667417 },
      ],
      2: [
        { threshold: 0.9, score: -5.830240603764548 },
        { threshold: 1, score: -10.204646987822132 },
        { threshold: 0.9, score: -10.830240603764548 },
      ],
      3: [
        { threshold: 0.95, score: -4.210691565454883 },
        { threshold: 0.95, score: -8.606653387617518 },
        { threshold: 0.8, score: -7.2371231866039825 },
      ],
    };
    const perFile1 = [
      [-0.179857188004, 1, 10, 9, 54],
      [-0.531197908471, 1, 4, 23, 54],
      [1.06538948399, 2, 3, 28, 48],
      [0.234940489578, 2, 6, 7, 53],
      [0.336981961201, 1, 4, 4, 43],
      [1.657448149573, 5, 10, 38, 126],
    ];
    const profiles = [NAB_PROFILES.standard, NAB_PROFILES.reward_low_FP, NAB_PROFILES.reward_low_FN];
    for (const seed of [1, 2, 3]) {
      const files = syntheticCorpus(seed);
      profiles.forEach((profile, k) => {
        const r = optimizeThreshold(files, profile);
        expect(r.threshold).toBe(ref[seed]![k]!.threshold);
        expect(r.score).toBeCloseTo(ref[seed]![k]!.score, 10);
        if (seed === 1 && k === 0) {
          r.perFile.forEach((pf, j) => {
            const [score, tp, fp, fn, tn] = perFile1[j]!;
            expect(pf.score).toBeCloseTo(score!, 10);
            expect([pf.tp, pf.fp, pf.fn, pf.tn]).toEqual([tp, fp, fn, tn]);
          });
        }
      });
    }
  });

  it('property: the optimizer equals a brute-force search over every candidate threshold', () => {
    const fileArb = fc
      .record({
        n: fc.integer({ min: 8, max: 80 }),
        win: fc.array(fc.tuple(fc.nat(79), fc.integer({ min: 1, max: 15 })), { maxLength: 3 }),
        scoreSeed: fc.array(fc.integer({ min: 0, max: 10 }), { minLength: 80, maxLength: 80 }),
      })
      .map(({ n, win, scoreSeed }) => {
        const file = tinyFile(
          win.map(([a, w]): [number, number] => [a % n, Math.min(n - 1, (a % n) + w)]),
          n,
        );
        return { file, scores: Float64Array.from(scoreSeed.slice(0, n), (v) => v / 10) };
      });
    fc.assert(
      fc.property(fc.array(fileArb, { minLength: 1, maxLength: 4 }), fc.constantFrom(...Object.values(NAB_PROFILES)), (files, profile) => {
        const r = optimizeThreshold(files, profile);
        const candidates = [Infinity, ...new Set(files.flatMap((f) => [...f.scores]))];
        let best = -Infinity;
        for (const t of candidates) best = Math.max(best, scoreCorpusAtThreshold(files, t, profile).score);
        expect(r.score).toBeCloseTo(best, 9);
        expect(scoreCorpusAtThreshold(files, r.threshold, profile).score).toBeCloseTo(r.score, 12);
        if (r.perfectScore === r.nullScore)
          expect(r.normalized).toBeNaN(); // no windows at all
        else {
          expect(r.normalized).toBeLessThanOrEqual(100 + 1e-9);
          expect(r.normalized).toBeGreaterThanOrEqual(-1e-9);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('normalizedByCategory splits by the folder before "/" at the corpus threshold', () => {
    const a = tinyFile([[40, 49]], 100, 'alpha/a.csv');
    const b = tinyFile([[40, 49]], 100, 'beta/b.csv');
    const files = [
      { file: a, scores: firesAt(100, [40]) }, // perfect
      { file: b, scores: new Float64Array(100) }, // misses
    ];
    const byCat = normalizedByCategory(files, STD);
    expect(Object.keys(byCat).sort()).toEqual(['alpha', 'beta']);
    expect(byCat.alpha!.normalized).toBe(100);
    expect(byCat.beta!.normalized).toBe(0);
    expect(byCat.alpha!.files).toBe(1);
    expect(nabCategory('x/y.csv')).toBe('x');
    expect(nabCategory('y.csv')).toBe('');
    const whole = optimizeThreshold(files, STD);
    expect(whole.normalized).toBe(50);
  });
});

const haveNab = existsSync(join(NAB_DEV_DIR, 'labels', 'combined_windows.json'));
if (!haveNab && process.env['CI'] !== 'true') console.log(`skipping the real NAB corpus checks: no corpus in ${NAB_DEV_DIR}`);

describe.skipIf(!haveNab && process.env['CI'] !== 'true')('real NAB corpus (nab-dev)', () => {
  const corpus = haveNab || process.env['CI'] === 'true' ? loadNabCorpus() : [];

  it('loads every labelled file with windows on exact row timestamps', () => {
    expect(corpus.length).toBe(27);
    expect(corpus.every((f) => f.rejects === 0)).toBe(true);
    expect(corpus.reduce((acc, f) => acc + f.windows.length, 0)).toBe(53);
    const tsSets = corpus.map((f) => new Set(f.timestamps));
    corpus.forEach((f, i) => {
      for (const [a, b] of f.windows) {
        expect(tsSets[i]!.has(a)).toBe(true);
        expect(tsSets[i]!.has(b)).toBe(true);
      }
    });
    const cats = new Set(corpus.map((f) => f.category));
    expect([...cats].sort()).toEqual(['artificialNoAnomaly', 'artificialWithAnomaly', 'realAdExchange', 'realTweets']);
    const flat = corpus.find((f) => f.name === 'artificialWithAnomaly/art_daily_flatmiddle.csv')!;
    expect(flat.windows[0]![0]).toBe(Date.UTC(2014, 3, 10, 7, 15));
  });

  it('oracle scores 100, null 0, a random detector well below 50 — quickly', () => {
    let seed = 12345;
    const rnd = (): number => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 2 ** 32;
    };
    const random = corpus.map((file) => ({ file, scores: Float64Array.from(file.timestamps, () => rnd()) }));
    const oracle = corpus.map((file) => ({ file, scores: oracleScores(file) }));
    const nul = corpus.map((file) => ({ file, scores: new Float64Array(file.timestamps.length) }));
    for (const profile of Object.values(NAB_PROFILES)) {
      const t0 = performance.now();
      const r = optimizeThreshold(random, profile);
      expect(performance.now() - t0).toBeLessThan(3000);
      expect(r.normalized).toBeLessThan(50);
      expect(r.normalized).toBeGreaterThan(-100);
      expect(optimizeThreshold(oracle, profile).normalized).toBe(100);
      expect(optimizeThreshold(nul, profile).normalized).toBe(0);
    }
    const byCat = normalizedByCategory(random, STD);
    expect(Number.isNaN(byCat.artificialNoAnomaly!.normalized)).toBe(true); // no windows there
    expect(byCat.artificialNoAnomaly!.score).toBeLessThanOrEqual(0);
    expect(byCat.realTweets!.normalized).toBeLessThan(50);
  });
});

/** Seeded synthetic corpus (same generator as the one fed to NAB's Python sweeper for the reference). */
function syntheticCorpus(seed0: number): { file: NabFile; scores: number[] }[] {
  let seed = seed0;
  const rnd = (): number => {
    seed = (seed * 1664525 + 1013904223) >>> 0;
    return seed / 2 ** 32;
  };
  const files: { file: NabFile; scores: number[] }[] = [];
  for (let f = 0; f < 6; f++) {
    const n = 40 + Math.floor(rnd() * 200);
    const ts = Array.from({ length: n }, (_, i) => i * 1000);
    const windows: [number, number][] = [];
    let i = Math.floor(0.15 * n) + Math.floor(rnd() * 10);
    while (i < n - 3 && windows.length < 3) {
      const w = 2 + Math.floor(rnd() * 20);
      if (i + w >= n) break;
      if (rnd() < 0.6) {
        windows.push([ts[i]!, ts[i + w - 1]!]);
        i += w + 1 + Math.floor(rnd() * 30);
      } else i += 5 + Math.floor(rnd() * 30);
    }
    const scores = ts.map(() => Math.round(rnd() * 20) / 20);
    files.push({ file: { name: `c${f % 2}/f${f}.csv`, timestamps: ts, windows }, scores });
  }
  return files;
}

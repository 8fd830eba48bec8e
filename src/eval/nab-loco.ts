/**
 * Why this file: the plain NAB evaluation ({@link evaluateNab}) picks its corpus-wide threshold on the
 * very files it then scores, and the scorer's constants were tuned on the same files, so its figure
 * can be fitted. Leave-one-category-out cannot: for each category, the scorer's constants (from a
 * small fixed grid) and the threshold are chosen on the OTHER categories only, then the left-out
 * category is scored with them. The pooled figure adds up the left-out raw scores and normalizes them
 * against the pooled null and perfect scores, as NAB does for a whole corpus.
 */
import type { DetectionConfig } from '../config/detection.js';
import {
  DEFAULT_SCORER_OPTIONS,
  DRIFT_OPTIONS,
  scoreSeries,
  SHIFT_RECENT_POINTS,
  SHIFT_WEIGHT,
  type SeriesScorerOptions,
} from '../core/score/series-scorer.js';
import { corpusCounts, NAB_PROFILES, normalize, optimizeThreshold, scoreCorpusAtThreshold, type NabProfileName, type NabScoredFile } from './nab.js';
import { loadNabCorpus, NAB_DEV_DIR, type NabCorpusFile } from './nab-corpus.js';

/**
 * Candidate constants for the leave-one-category-out selection: every combination of the
 * window-shift weight (0 = baseline detector alone) and recent window, then the history length,
 * the refractory period, the shift rarity step, the onset gate's reference, the slow-drift mode and
 * the seen-spike suppression (off, shorter and longer spikes) one at a time around the shipped defaults (which come first, so they win ties).
 */
export const LOCO_GRID: readonly Partial<SeriesScorerOptions>[] = [
  {},
  ...[0, 0.5, 0.7, 1]
    .flatMap((shiftWeight) => [8, 16, 32, 64].map((shiftRecentPoints) => ({ shiftWeight, shiftRecentPoints })))
    .filter((o) => !(o.shiftWeight === SHIFT_WEIGHT && o.shiftRecentPoints === SHIFT_RECENT_POINTS)),
  { shiftHistoryPoints: 200 },
  { shiftHistoryPoints: 800 },
  { refractoryPoints: 100 },
  { refractoryPoints: 200 },
  { shiftRarityStep: 0.02 },
  { onsetFromLast: true },
  DRIFT_OPTIONS,
  { seenRank: 0 },
  { seenMaxRun: 2 },
  { seenMaxRun: 8 },
];

export interface LocoFold {
  /** The left-out category. */
  category: string;
  files: number;
  windows: number;
  /** Constants chosen on the other categories (full option set). */
  options: SeriesScorerOptions;
  /** Threshold chosen on the other categories. */
  threshold: number;
  /** Normalized score of the other categories with those constants and that threshold. */
  trainNormalized: number;
  /** Normalized score of the left-out category (NaN when it has no windows: see fp / score). */
  normalized: number;
  /** Raw score, null and perfect scores, and false-positive rows of the left-out category. */
  score: number;
  nullScore: number;
  perfectScore: number;
  fp: number;
  detectedWindows: number;
  missedWindows: number;
}

export interface LocoEvaluation {
  profile: NabProfileName;
  folds: LocoFold[];
  /** Left-out raw scores summed over every fold, normalized against the pooled null / perfect. */
  pooledNormalized: number;
  /** Mean of the folds' normalized scores (categories with windows only). */
  meanNormalized: number;
}

/** Scores `corpus` once per grid entry (the expensive part, shared by every profile and fold). */
export function scoreGrid(
  corpus: readonly NabCorpusFile[],
  config: DetectionConfig,
  grid: readonly Partial<SeriesScorerOptions>[],
  base: Partial<SeriesScorerOptions> = {},
): NabScoredFile[][] {
  return grid.map((o) => corpus.map((file) => ({ file, scores: scoreSeries(file.rows, config, 0, { ...base, ...o }) })));
}

/** Leave-one-category-out over already scored grid entries (see {@link scoreGrid}). */
export function locoFromScored(
  corpus: readonly NabCorpusFile[],
  grid: readonly Partial<SeriesScorerOptions>[],
  scored: readonly NabScoredFile[][],
  profileName: NabProfileName,
  /** The options the grid entries were scored on top of (reported in each fold's options). */
  base: Partial<SeriesScorerOptions> = {},
): LocoEvaluation {
  const profile = NAB_PROFILES[profileName];
  const categories = [...new Set(corpus.map((f) => f.category))].sort();
  const folds: LocoFold[] = [];
  for (const category of categories) {
    let best: { g: number; threshold: number; normalized: number } | undefined;
    grid.forEach((_, g) => {
      const train = scored[g]!.filter((s) => (s.file as NabCorpusFile).category !== category);
      const r = optimizeThreshold(train, profile);
      // Ties keep the earlier grid entry (the defaults come first).
      if (best === undefined || r.normalized > best.normalized) best = { g, threshold: r.threshold, normalized: r.normalized };
    });
    const chosen = best!;
    const test = scored[chosen.g]!.filter((s) => (s.file as NabCorpusFile).category === category);
    const r = scoreCorpusAtThreshold(test, chosen.threshold, profile);
    folds.push({
      category,
      files: test.length,
      windows: test.reduce((n, s) => n + s.file.windows.length, 0),
      options: { ...DEFAULT_SCORER_OPTIONS, ...base, ...grid[chosen.g] },
      threshold: chosen.threshold,
      trainNormalized: chosen.normalized,
      normalized: r.normalized,
      score: r.score,
      nullScore: r.nullScore,
      perfectScore: r.perfectScore,
      ...corpusCounts(r),
    });
  }
  const sum = (k: 'score' | 'nullScore' | 'perfectScore'): number => folds.reduce((n, f) => n + f[k], 0);
  const withWindows = folds.filter((f) => !Number.isNaN(f.normalized));
  return {
    profile: profileName,
    folds,
    pooledNormalized: normalize(sum('score'), sum('nullScore'), sum('perfectScore')),
    meanNormalized: withWindows.reduce((n, f) => n + f.normalized, 0) / withWindows.length,
  };
}

export interface NabLocoReport {
  /** The shipped constants kept fixed; only the threshold is chosen on the other categories. */
  fixed: LocoEvaluation[];
  /** Constants (from the grid) and threshold both chosen on the other categories. */
  grid: LocoEvaluation[];
}

/** Leave-one-category-out evaluation of `harbinger score` on a NAB-layout corpus, for each profile. */
export function evaluateNabLoco(
  config: DetectionConfig,
  dataDir: string = NAB_DEV_DIR,
  grid: readonly Partial<SeriesScorerOptions>[] = LOCO_GRID,
  profiles: readonly NabProfileName[] = Object.keys(NAB_PROFILES) as NabProfileName[],
  /** Options under every grid entry (e.g. the slow-drift mode); the grid entries override them. */
  base: Partial<SeriesScorerOptions> = {},
): NabLocoReport {
  const corpus = loadNabCorpus(dataDir);
  const full = grid.length > 0 && Object.keys(grid[0]!).length === 0 ? grid : [{}, ...grid];
  const scored = scoreGrid(corpus, config, full, base);
  return {
    fixed: profiles.map((p) => locoFromScored(corpus, full.slice(0, 1), scored.slice(0, 1), p, base)),
    grid: profiles.map((p) => locoFromScored(corpus, full, scored, p, base)),
  };
}

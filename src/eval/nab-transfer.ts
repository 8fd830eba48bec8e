import type { DetectionConfig } from '../config/detection.js';
import { scoreSeries, type SeriesScorerOptions } from '../core/score/series-scorer.js';
import { corpusCounts, NAB_PROFILES, optimizeThreshold, scoreCorpusAtThreshold, type NabProfileName } from './nab.js';
import { normalizedByCategory, type NabCategoryScore, type NabCorpusFile } from './nab-corpus.js';
import { windowedGaussianScores } from './windowed-gaussian.js';

/**
 * Transfer: the threshold a detector would ship with, chosen on one corpus, scored on another it
 * never saw. This is how a user meets `harbinger score` (one alarm level, their own series), and
 * the one NAB-style figure here that nothing was fitted to. NAB's windowed Gaussian goes through
 * the same steps in the same run, as the floor to beat.
 */

export interface TransferDetectorResult {
  /** Threshold chosen on the source corpus. */
  threshold: number;
  /** Normalized score on the source corpus at that threshold. */
  source: number;
  /** Normalized score on the target corpus at the same threshold. */
  target: number;
  /** The target's windows detected / missed, and its false-positive rows. */
  detectedWindows: number;
  missedWindows: number;
  fp: number;
}

export interface TransferProfileResult {
  harbinger: TransferDetectorResult;
  windowedGaussian: TransferDetectorResult;
  /** Harbinger's target score per category at the source threshold. */
  byCategory: Record<string, NabCategoryScore>;
}

export interface TransferEvaluation {
  sourceFiles: number;
  targetFiles: number;
  targetWindows: number;
  profiles: Record<NabProfileName, TransferProfileResult>;
}

type Scored = { file: NabCorpusFile; scores: ArrayLike<number> }[];

/** The source's best threshold for one profile, and the target scored at it. */
function atSourceThreshold(source: Scored, target: Scored, p: NabProfileName): TransferDetectorResult {
  const chosen = optimizeThreshold(source, NAB_PROFILES[p]);
  const r = scoreCorpusAtThreshold(target, chosen.threshold, NAB_PROFILES[p]);
  return {
    threshold: chosen.threshold,
    source: chosen.normalized,
    target: r.normalized,
    ...corpusCounts(r),
  };
}

export function evaluateTransfer(
  config: DetectionConfig,
  source: readonly NabCorpusFile[],
  target: readonly NabCorpusFile[],
  options: Partial<SeriesScorerOptions> = {},
): TransferEvaluation {
  const score = (files: readonly NabCorpusFile[], f: (file: NabCorpusFile) => ArrayLike<number>): Scored => files.map((file) => ({ file, scores: f(file) }));
  const ours = (file: NabCorpusFile): ArrayLike<number> => scoreSeries(file.rows, config, 0, options);
  const wg = (file: NabCorpusFile): ArrayLike<number> => windowedGaussianScores(file.rows);
  const [oursS, oursT, wgS, wgT] = [score(source, ours), score(target, ours), score(source, wg), score(target, wg)];
  const profiles = {} as TransferEvaluation['profiles'];
  for (const p of Object.keys(NAB_PROFILES) as NabProfileName[]) {
    const harbinger = atSourceThreshold(oursS, oursT, p);
    profiles[p] = {
      harbinger,
      windowedGaussian: atSourceThreshold(wgS, wgT, p),
      byCategory: normalizedByCategory(oursT, NAB_PROFILES[p], harbinger.threshold),
    };
  }
  return {
    sourceFiles: source.length,
    targetFiles: target.length,
    targetWindows: target.reduce((n, f) => n + f.windows.length, 0),
    profiles,
  };
}

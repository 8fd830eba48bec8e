import type { DetectionConfig } from '../config/detection.js';
import { scoreSeries, type SeriesScorerOptions } from '../core/score/series-scorer.js';
import { NAB_PROFILES, optimizeThreshold, type NabProfileName } from './nab.js';
import { loadNabCorpus, NAB_DEV_DIR, normalizedByCategory, type NabCategoryScore } from './nab-corpus.js';

export interface NabEvaluation {
  files: number;
  profiles: Record<NabProfileName, { threshold: number; normalized: number; byCategory: Record<string, NabCategoryScore> }>;
}

/** Scores every NAB file with `harbinger score`'s scorer and the corpus-wide optimal threshold. */
export function evaluateNab(config: DetectionConfig, dataDir: string = NAB_DEV_DIR, options: Partial<SeriesScorerOptions> = {}): NabEvaluation {
  const corpus = loadNabCorpus(dataDir);
  const scored = corpus.map((file) => ({ file, scores: scoreSeries(file.rows, config, 0, options) }));
  const profiles = {} as NabEvaluation['profiles'];
  for (const name of Object.keys(NAB_PROFILES) as NabProfileName[]) {
    const profile = NAB_PROFILES[name];
    const best = optimizeThreshold(scored, profile);
    profiles[name] = { threshold: best.threshold, normalized: best.normalized, byCategory: normalizedByCategory(scored, profile, best.threshold) };
  }
  return { files: corpus.length, profiles };
}

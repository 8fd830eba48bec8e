import type { DetectionConfig } from '../../config/detection.js';
import { baselineDecays, createBaseline, type BaselineDecays, type BaselineState } from '../baseline/seasonal-baseline.js';
import { createThreshold, type ThresholdState } from '../threshold/two-stage.js';
import { assessPoint, learnPoint, newAssessment, type Direction } from '../detection/point-assessor.js';

/**
 * Single-series anomaly score in [0, 1], causal (a point's score uses only earlier points), built
 * on the same baseline and two-stage threshold as the stream engine.
 *
 * The score is shaped for alarm semantics: an episode's onset (the warn crossing) and its
 * confirmation score in [0.5, 1), rising with the deviation; every other point scores below 0.5
 * in proportion to how close it came to the warn bound. A threshold of 0.5 therefore means
 * "alarm when an episode starts", and one alarm per episode rather than one per anomalous point.
 */
export class SeriesScorer {
  private readonly baseline: BaselineState;
  private readonly threshold: ThresholdState = createThreshold();
  private readonly a = newAssessment();
  private readonly decays: BaselineDecays;

  constructor(
    private readonly config: DetectionConfig,
    private readonly direction: Direction = 0,
  ) {
    this.baseline = createBaseline(config.baseline);
    this.decays = baselineDecays(config.baseline);
  }

  next(ts: number, value: number): number {
    const cfg = this.config;
    const a = assessPoint(this.baseline, this.threshold, ts, value, this.direction, cfg, this.a);
    learnPoint(this.baseline, this.threshold, ts, value, a, cfg, this.decays, false);
    const warn = cfg.threshold.warnScore;
    const z = a.score > 0 ? a.score : 0;
    if (a.transition === 'warn' || a.transition === 'confirmed') {
      const excess = z - warn > 0 ? z - warn : 0;
      return 0.5 + (0.5 * excess) / (excess + warn);
    }
    return 0.49 * (z < warn ? z / warn : 1);
  }
}

/** Scores a whole series (rows must be in time order; out-of-order rows score 0 and are skipped). */
export function scoreSeries(rows: readonly { ts: number; value: number }[], config: DetectionConfig, direction: Direction = 0): Float64Array {
  const scorer = new SeriesScorer(config, direction);
  const out = new Float64Array(rows.length);
  let last = -Infinity;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (r.ts <= last) continue;
    last = r.ts;
    out[i] = scorer.next(r.ts, r.value);
  }
  return out;
}

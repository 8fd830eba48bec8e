/**
 * Scoring a probabilistic classifier against 0/1 outcomes. Pure.
 *
 * - Brier score: mean (p − y)²; 0 is perfect, 0.25 is a constant 0.5.
 * - Expected calibration error (ECE): probabilities cut into `bins` equal-width bins over [0, 1]
 *   (p = 1 in the last bin); Σ_b (n_b / N) · |mean p_b − mean y_b|. 0: every bin's average
 *   confidence equals its observed frequency.
 * - Precision and recall of mitigations at the operating threshold: a sample is a mitigation when
 *   p ≥ threshold (the ITR gate is `confidence < minimum` → observe).
 */

export interface Scored {
  p: number;
  y: 0 | 1;
  /** Sample weight (default 1); metrics below are unweighted unless they say so. */
  w?: number;
}

export function brierScore(s: readonly Scored[]): number {
  if (s.length === 0) return NaN;
  let sum = 0;
  for (const { p, y } of s) sum += (p - y) * (p - y);
  return sum / s.length;
}

export interface CalibrationBin {
  from: number;
  to: number;
  n: number;
  meanP: number;
  rate: number;
}

export function calibrationBins(s: readonly Scored[], bins = 10): CalibrationBin[] {
  const out: CalibrationBin[] = Array.from({ length: bins }, (_, i) => ({ from: i / bins, to: (i + 1) / bins, n: 0, meanP: 0, rate: 0 }));
  for (const { p, y } of s) {
    const b = out[Math.min(bins - 1, Math.max(0, Math.floor(p * bins)))]!;
    b.n++;
    b.meanP += p;
    b.rate += y;
  }
  for (const b of out) {
    if (b.n > 0) {
      b.meanP /= b.n;
      b.rate /= b.n;
    }
  }
  return out;
}

export function expectedCalibrationError(s: readonly Scored[], bins = 10): number {
  if (s.length === 0) return NaN;
  return calibrationBins(s, bins).reduce((acc, b) => acc + (b.n / s.length) * Math.abs(b.meanP - b.rate), 0);
}

export function logLoss(s: readonly Scored[]): number {
  if (s.length === 0) return NaN;
  const eps = 1e-7;
  let sum = 0;
  for (const { p, y } of s) {
    const q = Math.min(1 - eps, Math.max(eps, p));
    sum -= y === 1 ? Math.log(q) : Math.log(1 - q);
  }
  return sum / s.length;
}

export interface ThresholdMetrics {
  threshold: number;
  /** Samples at or above the threshold: the mitigations. */
  mitigations: number;
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  /** TP / (TP + FP); 1 when nothing is flagged (no false mitigation). */
  precision: number;
  /** TP / (TP + FN); 1 when there is nothing to find. */
  recall: number;
}

export function atThreshold(s: readonly Scored[], threshold: number): ThresholdMetrics {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const { p, y } of s) {
    if (p >= threshold) {
      if (y === 1) tp++;
      else fp++;
    } else if (y === 1) fn++;
  }
  return {
    threshold,
    mitigations: tp + fp,
    truePositives: tp,
    falsePositives: fp,
    falseNegatives: fn,
    precision: tp + fp === 0 ? 1 : tp / (tp + fp),
    recall: tp + fn === 0 ? 1 : tp / (tp + fn),
  };
}

export interface ModelMetrics {
  n: number;
  positives: number;
  brier: number;
  ece: number;
  logLoss: number;
  at: ThresholdMetrics;
}

export function scoreAll(s: readonly Scored[], threshold: number, bins = 10): ModelMetrics {
  return {
    n: s.length,
    positives: s.filter((x) => x.y === 1).length,
    brier: brierScore(s),
    ece: expectedCalibrationError(s, bins),
    logLoss: logLoss(s),
    at: atThreshold(s, threshold),
  };
}

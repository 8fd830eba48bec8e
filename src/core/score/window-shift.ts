/**
 * Why this file: the seasonal baseline's robust z-score (the first detector of the single-series
 * score) judges each point against a forecast that keeps re-learning its level, so a level shift or
 * a slow drift on a series without a clean season fades out of it within hours, and on quantized or
 * flat series (MAD = 0) its scale is a floor, not a measurement. This is the complementary
 * distribution-change detector: the median of the last `recent` points against the distribution of
 * the `history` points before them (median and interquartile spread), on the raw values, so it does
 * not depend on the baseline's forecast at all.
 *
 * - Medians on both sides: an isolated spike moves neither (spikes are the baseline's job); a
 *   shift of more than half the recent window does.
 * - Spread: the history's interquartile range as a normal sigma, never below the history's
 *   quantization step (the smallest gap between two distinct values) nor a tiny fraction of its
 *   level, so a flat series that starts moving by one quantum scores 1, not infinity.
 * - Slow-drift option (`sigmaMemory` > 0): the spread is never above its own average over the last
 *   `sigmaMemory` points, so a drift that widens the history's IQR is still measured in the spread
 *   from before it (otherwise a linear drift saturates at a fixed number of its own widened sigmas).
 * - Cost: O(recent) per point for the recent median (kept sorted by insertion) plus a re-sort of the history every
 *   `resortEvery` points (O(history log history / resortEvery) amortized), with fixed buffers and
 *   no allocation per point. Causal: a point's output uses that point and earlier ones only.
 */
export class WindowShift {
  private readonly ring: Float64Array;
  private readonly sortedHist: Float64Array;
  private readonly recentBuf: Float64Array;
  private count = 0;
  private recentCount = 0;
  private head = 0;
  private sinceSort = Infinity;
  private histMedian = 0;
  private histSigma = 0;
  /** Slow average of the history spread (0: not started). */
  private slowSigma = 0;

  constructor(
    readonly history: number,
    readonly recent: number,
    readonly resortEvery: number = 8,
    /** Points over which the slow spread average follows the history spread (0: not used). */
    readonly sigmaMemory: number = 0,
  ) {
    this.ring = new Float64Array(history + recent);
    this.sortedHist = new Float64Array(history);
    this.recentBuf = new Float64Array(recent);
  }

  /**
   * Adds `x` and returns the signed shift (recent median - history median) / spread, or 0 until
   * `history + recent` points have been seen.
   */
  next(x: number): number {
    const size = this.ring.length;
    // Keep the recent window sorted: drop the value leaving it, insert x (O(recent), exact).
    const r = this.recentBuf;
    let rn = this.recentCount;
    if (rn === this.recent) {
      const out = this.ring[(this.head - this.recent + size) % size]!;
      let j = 0;
      while (j < rn - 1 && r[j] !== out) j++;
      for (; j < rn - 1; j++) r[j] = r[j + 1]!;
      rn--;
    }
    let j = rn;
    while (j > 0 && r[j - 1]! > x) {
      r[j] = r[j - 1]!;
      j--;
    }
    r[j] = x;
    this.recentCount = rn + 1;
    this.ring[this.head] = x;
    this.head = (this.head + 1) % size;
    if (this.count < size) this.count++;
    if (this.count < size) return 0;
    // The oldest `history` entries of the ring start at `head`; the newest `recent` follow them.
    if (++this.sinceSort >= this.resortEvery) {
      this.sinceSort = 0;
      this.refreshHistory();
    }
    const m = this.recent >> 1;
    const recentMedian = this.recent & 1 ? r[m]! : 0.5 * (r[m - 1]! + r[m]!);
    return (recentMedian - this.histMedian) / this.histSigma;
  }

  private refreshHistory(): void {
    const size = this.ring.length;
    const h = this.sortedHist;
    const n = this.history;
    for (let j = 0; j < n; j++) h[j] = this.ring[(this.head + j) % size]!;
    h.sort();
    const q = (p: number): number => {
      const pos = p * (n - 1);
      const lo = Math.floor(pos);
      const hi = lo + 1 < n ? lo + 1 : lo;
      return h[lo]! + (pos - lo) * (h[hi]! - h[lo]!);
    };
    this.histMedian = q(0.5);
    let quantum = Infinity;
    for (let j = 1; j < n; j++) {
      const gap = h[j]! - h[j - 1]!;
      if (gap > 0 && gap < quantum) quantum = gap;
    }
    const iqrSigma = (q(0.75) - q(0.25)) / 1.349;
    const levelFloor = Math.abs(this.histMedian) * LEVEL_FLOOR;
    let s = iqrSigma;
    if (quantum !== Infinity && quantum > s) s = quantum;
    if (levelFloor > s) s = levelFloor;
    s = s > 0 ? s : ABS_FLOOR;
    if (this.sigmaMemory > 0) {
      // Frozen-ish reference spread: a slow drift widens the history IQR, not this average, for a while.
      this.slowSigma = this.slowSigma === 0 ? s : this.slowSigma + (s - this.slowSigma) * Math.min(1, this.resortEvery / this.sigmaMemory);
      if (this.slowSigma < s) s = this.slowSigma;
    }
    this.histSigma = s;
  }
}

/** Spread never below this fraction of the history's median (a constant series never divides by 0). */
const LEVEL_FLOOR = 1e-3;
/** Spread of an all-zero history. */
const ABS_FLOOR = 1e-9;

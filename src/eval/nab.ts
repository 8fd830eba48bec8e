/**
 * A faithful reimplementation of the Numenta Anomaly Benchmark (NAB v1.x) scoring:
 * `nab/sweeper.py` (per-row sweep scores, threshold sweep), `nab/optimizer.py` (one threshold for
 * the whole corpus) and `nab/runner.py` (null / perfect normalization).
 *
 * Rules, as in NAB:
 * - The first `min(floor(0.15 N), 0.15 * 5000 = 750)` rows of each file are a probationary period:
 *   they are neither true nor false positives, and window rows inside it do not count.
 * - Every row gets a sweep score. Inside a window of `width` rows ending at `right`, row `i` is at
 *   `y = -(right - i + 1) / width` and is worth `A_TP * s(y) / s(-1)` with the scaled sigmoid
 *   `s(y) = 2 / (1 + e^(5y)) - 1` (s(y) = -1 for y > 3), so a detection at the window's first row is
 *   worth exactly `A_TP`. Outside windows a row is worth `A_FP * s(|prevRight - i| / (prevWidth - 1))`
 *   where `prev` is the closest preceding window, or `-A_FP` when no window precedes it: an FP right
 *   after a window costs almost nothing, one a window-width or more later almost the full `A_FP`.
 * - At a threshold `t`, a row is a detection when `score >= t`. A window contributes the best
 *   (= earliest) sweep score among its detections, or `-A_FN` when it has none; every detection
 *   outside windows adds its (negative) sweep score.
 * - The corpus threshold is the one maximising the summed score over all files, swept over every
 *   distinct anomaly-score value (plus "never fire"); ties go to the highest threshold, like NAB's
 *   stable sort.
 * - normalized = 100 (S - S_null) / (S_perfect - S_null) with S_null the score of the null detector
 *   (never fires: `-A_FN` per scorable window) and S_perfect = `A_TP` × number of windows (the
 *   score of a detector firing exactly at each window's first row, as long as no window starts in
 *   the probation period — true for the whole NAB corpus).
 *
 * Deviations, for robustness only (no effect on the NAB corpus, whose window limits are exact row
 * timestamps): a window covers the rows with `start <= ts <= end` (NAB matches the timestamps
 * exactly); windows without rows are dropped; overlapping windows are merged; a previous window of
 * width 1 makes following FPs count as far away (NAB divides by zero there). Timestamps must be
 * non-decreasing (realAdExchange repeats a few). NaN anomaly scores never fire.
 */

export interface NabFile {
  /** Relative name, `<category>/<file>.csv` in NAB. */
  name: string;
  /** Epoch ms, non-decreasing. */
  timestamps: number[];
  /** Anomaly windows `[start, end]`, epoch ms, inclusive. */
  windows: [number, number][];
}

export interface NabProfile {
  tp: number;
  fp: number;
  fn: number;
}

export const NAB_PROFILES = {
  standard: { tp: 1, fp: 0.11, fn: 1 },
  reward_low_FP: { tp: 1, fp: 0.22, fn: 1 },
  reward_low_FN: { tp: 1, fp: 0.11, fn: 2 },
} as const satisfies Record<string, NabProfile>;
export type NabProfileName = keyof typeof NAB_PROFILES;

export const NAB_PROBATION_PERCENT = 0.15;

/** NAB's probationary length: `min(floor(0.15 N), 0.15 * 5000)`. */
export function probationLength(numRows: number, probationPercent = NAB_PROBATION_PERCENT): number {
  return Math.min(Math.floor(probationPercent * numRows), probationPercent * 5000);
}

/** NAB's scaled sigmoid: `2 * sigmoid(-5 x) - 1`, and -1 for x > 3. */
export function scaledSigmoid(x: number): number {
  if (x > 3) return -1;
  return 2 / (1 + Math.exp(5 * x)) - 1;
}

/** `scaledSigmoid(-1)`, the normaliser that makes a detection at a window's first row worth A_TP. */
export const MAX_TP = scaledSigmoid(-1);

/** Per-file counts and score at one threshold. Counts are rows (as NAB reports them), after probation. */
export interface NabFileScore {
  score: number;
  /** Detections inside windows (rows). */
  tp: number;
  /** Detections outside windows (rows). */
  fp: number;
  /** Window rows without detection. */
  fn: number;
  /** Rows outside windows without detection. */
  tn: number;
  /** Scorable windows with at least one detection. */
  detectedWindows: number;
  /** Scorable windows without detection (each cost A_FN). */
  missedWindows: number;
}

/** Resolved window: row indices, inclusive. */
interface ResolvedWindow {
  left: number;
  right: number;
}

/** Profile-independent per-file preparation (the sweeper's first pass). */
interface PreparedFile {
  timestampsRef: ArrayLike<number>;
  windowsRef: readonly (readonly [number, number])[];
  n: number;
  probation: number;
  windows: ResolvedWindow[];
  /** Window index per row, -1 outside windows. */
  windowOf: Int32Array;
  /** Unweighted sweep value per row: s(y)/s(-1) inside windows, s(position past window) (or -1) outside. */
  unweighted: Float64Array;
  /** Windows with at least one row past probation (these are the ones NAB scores as TP/FN). */
  scorable: Uint8Array;
}

function resolveWindows(timestamps: ArrayLike<number>, windows: readonly (readonly [number, number])[]): ResolvedWindow[] {
  const n = timestamps.length;
  const sorted = [...windows].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: ResolvedWindow[] = [];
  for (const [start, end] of sorted) {
    let left = 0;
    while (left < n && timestamps[left]! < start) left++;
    let right = left - 1;
    while (right + 1 < n && timestamps[right + 1]! <= end) right++;
    if (left >= n || right < left) continue; // no rows in the window
    const prev = out[out.length - 1];
    if (prev !== undefined && left <= prev.right) {
      prev.right = Math.max(prev.right, right);
      continue;
    }
    out.push({ left, right });
  }
  return out;
}

const prepCache = new WeakMap<NabFile, PreparedFile>();

function prepare(file: NabFile): PreparedFile {
  const cached = prepCache.get(file);
  if (cached !== undefined && cached.timestampsRef === file.timestamps && cached.windowsRef === file.windows && cached.n === file.timestamps.length)
    return cached;
  const n = file.timestamps.length;
  const probation = probationLength(n);
  const windows = resolveWindows(file.timestamps, file.windows);
  const windowOf = new Int32Array(n).fill(-1);
  const unweighted = new Float64Array(n);
  const scorable = new Uint8Array(windows.length);
  let w = 0;
  let prev: ResolvedWindow | undefined;
  for (let i = 0; i < n; i++) {
    let cur = windows[w];
    if (cur !== undefined && i > cur.right) {
      prev = cur;
      w++;
      cur = windows[w];
    }
    if (cur !== undefined && i >= cur.left && i <= cur.right) {
      const width = cur.right - cur.left + 1;
      windowOf[i] = w;
      unweighted[i] = scaledSigmoid(-(cur.right - i + 1) / width) / MAX_TP;
      if (i >= probation) scorable[w] = 1;
    } else if (prev === undefined) {
      unweighted[i] = -1;
    } else {
      const prevWidth = prev.right - prev.left + 1;
      const pos = prevWidth > 1 ? Math.abs(prev.right - i) / (prevWidth - 1) : Infinity;
      unweighted[i] = scaledSigmoid(pos);
    }
  }
  const prepared: PreparedFile = { timestampsRef: file.timestamps, windowsRef: file.windows, n, probation, windows, windowOf, unweighted, scorable };
  prepCache.set(file, prepared);
  return prepared;
}

/** Anomaly score as used for thresholding: +Infinity behaves as the largest finite number. */
function normScore(s: number): number {
  return s === Infinity ? Number.MAX_VALUE : s;
}

/** Detection rule: `score >= threshold`; NaN never fires and a threshold of +Infinity means "never". */
function fires(score: number, threshold: number): boolean {
  return threshold !== Infinity && normScore(score) >= threshold; // NaN >= x is false
}

/** Raw NAB score of one file at a threshold (a row is a detection when `score >= threshold`). */
export function scoreFileAtThreshold(file: NabFile, scores: ArrayLike<number>, threshold: number, profile: NabProfile): NabFileScore {
  const p = prepare(file);
  if (scores.length !== p.n) throw new Error(`${file.name}: ${scores.length} scores for ${p.n} timestamps`);
  const windowPart = new Float64Array(p.windows.length).fill(-profile.fn);
  const detected = new Uint8Array(p.windows.length);
  let fpSum = 0;
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  const tpScale = profile.tp;
  for (let i = Math.ceil(p.probation); i < p.n; i++) {
    const w = p.windowOf[i]!;
    const hit = fires(scores[i]!, threshold);
    if (w >= 0) {
      if (hit) {
        tp++;
        detected[w] = 1;
        const v = p.unweighted[i]! * tpScale;
        if (v > windowPart[w]!) windowPart[w] = v;
      } else fn++;
    } else if (hit) {
      fp++;
      fpSum += p.unweighted[i]! * profile.fp;
    } else tn++;
  }
  let score = fpSum;
  let detectedWindows = 0;
  let missedWindows = 0;
  for (let w = 0; w < p.windows.length; w++) {
    if (!p.scorable[w]) continue;
    score += windowPart[w]!;
    if (detected[w]) detectedWindows++;
    else missedWindows++;
  }
  return { score, tp, fp, fn, tn, detectedWindows, missedWindows };
}

/** Number of windows that can be scored in a file (at least one row past probation). */
function scorableWindowCount(p: PreparedFile): number {
  let c = 0;
  for (let w = 0; w < p.scorable.length; w++) c += p.scorable[w]!;
  return c;
}

/** Raw score of the null detector (never fires): `-A_FN` per scorable window. */
export function nullScore(file: NabFile, profile: NabProfile): number {
  return -profile.fn * scorableWindowCount(prepare(file));
}

/** NAB's perfect score: `A_TP` per window (what a detector firing at each window's first row earns). */
export function perfectScore(file: NabFile, profile: NabProfile): number {
  return profile.tp * prepare(file).windows.length;
}

/** Anomaly scores of the oracle detector: 1 at each window's first row, 0 elsewhere. */
export function oracleScores(file: NabFile): Float64Array {
  const p = prepare(file);
  const out = new Float64Array(p.n);
  for (const w of p.windows) out[w.left] = 1;
  return out;
}

export function normalize(score: number, nullS: number, perfectS: number): number {
  const denom = perfectS - nullS;
  return denom === 0 ? NaN : (100 * (score - nullS)) / denom;
}

export interface NabScoredFile {
  file: NabFile;
  scores: ArrayLike<number>;
}

export interface NabOptimizeResult {
  /** Corpus threshold (a row fires when `score >= threshold`); Infinity means "never fire" was best. */
  threshold: number;
  /** Raw corpus score at the threshold (sum over files). */
  score: number;
  /** 100 (S - S_null) / (S_perfect - S_null); NaN when the corpus has no windows. */
  normalized: number;
  nullScore: number;
  perfectScore: number;
  perFile: ({ name: string } & NabFileScore)[];
}

/**
 * Find the single corpus-wide threshold that maximises the summed raw score (NAB's optimizer over
 * the sweeper), then score each file at it. O(R log R) for R scored rows.
 */
export function optimizeThreshold(files: readonly NabScoredFile[], profile: NabProfile): NabOptimizeResult {
  const prepared = files.map(({ file, scores }) => {
    const p = prepare(file);
    if (scores.length !== p.n) throw new Error(`${file.name}: ${scores.length} scores for ${p.n} timestamps`);
    return p;
  });

  // Flatten every scorable (post-probation, non-NaN) row of the corpus.
  let total = 0;
  for (const p of prepared) total += p.n - Math.ceil(p.probation);
  const rowScore = new Float64Array(total);
  const rowSweep = new Float64Array(total);
  const rowWindow = new Int32Array(total);
  let numWindows = 0;
  let baseline = 0;
  let perfect = 0;
  let k = 0;
  for (let f = 0; f < files.length; f++) {
    const p = prepared[f]!;
    const scores = files[f]!.scores;
    for (let i = Math.ceil(p.probation); i < p.n; i++) {
      const s = scores[i]!;
      if (Number.isNaN(s)) continue;
      const w = p.windowOf[i]!;
      rowScore[k] = normScore(s);
      rowWindow[k] = w >= 0 ? numWindows + w : -1;
      rowSweep[k] = w >= 0 ? p.unweighted[i]! * profile.tp : p.unweighted[i]! * profile.fp;
      k++;
    }
    numWindows += p.windows.length;
    baseline -= profile.fn * scorableWindowCount(p);
    perfect += profile.tp * p.windows.length;
  }
  const count = k;
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  order.sort((a, b) => rowScore[b]! - rowScore[a]!);

  const windowPart = new Float64Array(numWindows).fill(-profile.fn);
  let current = baseline;
  let bestScore = baseline;
  let bestThreshold = Infinity;
  for (let j = 0; j < count; ) {
    const t = rowScore[order[j]!]!;
    while (j < count && rowScore[order[j]!] === t) {
      const r = order[j]!;
      const w = rowWindow[r]!;
      const v = rowSweep[r]!;
      if (w < 0) current += v;
      else if (v > windowPart[w]!) {
        current += v - windowPart[w]!;
        windowPart[w] = v;
      }
      j++;
    }
    if (current > bestScore) {
      bestScore = current;
      bestThreshold = t;
    }
  }

  // Re-score each file exactly at the chosen threshold (avoids accumulated float drift).
  const perFile = files.map(({ file, scores }) => ({ name: file.name, ...scoreFileAtThreshold(file, scores, bestThreshold, profile) }));
  const score = perFile.reduce((acc, r) => acc + r.score, 0);
  return {
    threshold: bestThreshold,
    score,
    normalized: normalize(score, baseline, perfect),
    nullScore: baseline,
    perfectScore: perfect,
    perFile,
  };
}

/** Score a corpus at a given threshold (no optimisation). */
/** A corpus result's detected and missed windows and false-positive rows, summed over its files. */
export function corpusCounts(r: NabOptimizeResult): { detectedWindows: number; missedWindows: number; fp: number } {
  let detectedWindows = 0;
  let missedWindows = 0;
  let fp = 0;
  for (const f of r.perFile) {
    detectedWindows += f.detectedWindows;
    missedWindows += f.missedWindows;
    fp += f.fp;
  }
  return { detectedWindows, missedWindows, fp };
}

export function scoreCorpusAtThreshold(files: readonly NabScoredFile[], threshold: number, profile: NabProfile): NabOptimizeResult {
  const perFile = files.map(({ file, scores }) => ({ name: file.name, ...scoreFileAtThreshold(file, scores, threshold, profile) }));
  const score = perFile.reduce((acc, r) => acc + r.score, 0);
  const nullS = files.reduce((acc, { file }) => acc + nullScore(file, profile), 0);
  const perfectS = files.reduce((acc, { file }) => acc + perfectScore(file, profile), 0);
  return { threshold, score, normalized: normalize(score, nullS, perfectS), nullScore: nullS, perfectScore: perfectS, perFile };
}

/** The windows of `file` that score (inside its rows, merged). */
export function windowCount(file: NabFile): number {
  return prepare(file).windows.length;
}

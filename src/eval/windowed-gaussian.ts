/**
 * NAB's "windowed Gaussian" baseline detector (`nab/detectors/gaussian/windowedGaussian_detector.py`),
 * kept as the comparator every NAB-style figure here is printed beside: the mean and standard
 * deviation of the last WINDOW points (refreshed every STEP points once the window is full), and a
 * point scored by how far it lies from them.
 *
 * NAB scores `1 - Q(|z|)`-style tail probabilities, which reach 1.0 in double precision beyond
 * about 8 sigmas, so every large deviation ties. This returns |z| / (|z| + 1) instead: the same order
 * of points below that (so the same detections at the matching threshold) without the ties.
 */

const WINDOW = 6400;
const STEP = 100;
/** NAB's floor on a flat window's deviation. */
const MIN_STD = 1e-6;

export function windowedGaussianScores(rows: readonly { value: number }[]): Float64Array {
  const out = new Float64Array(rows.length);
  const window: number[] = [];
  let pending = 0;
  let mean = 0;
  let m2 = 0; // Welford's running sum of squares while the window fills
  let std = 1;
  const refresh = (): void => {
    let sum = 0;
    for (const v of window) sum += v;
    mean = sum / window.length;
    m2 = 0;
    for (const v of window) m2 += (v - mean) * (v - mean);
    std = Math.sqrt(m2 / window.length) || MIN_STD;
  };
  for (let i = 0; i < rows.length; i++) {
    const v = rows[i]!.value;
    if (window.length > 0) {
      const z = Math.abs(v - mean) / std;
      out[i] = z / (z + 1);
    }
    window.push(v);
    if (window.length <= WINDOW) {
      const d = v - mean;
      mean += d / window.length;
      m2 += d * (v - mean);
      std = Math.sqrt(m2 / window.length) || MIN_STD;
    } else if (++pending === STEP) {
      // Once full, NAB slides the window forward STEP points at a time.
      window.splice(0, STEP);
      pending = 0;
      refresh();
    }
  }
  return out;
}

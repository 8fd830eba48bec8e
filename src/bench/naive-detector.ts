import type { Sample } from '../domain/types.js';

/**
 * The obvious way to do it, kept as the benchmark's baseline: per series, keep the last hour of
 * points and recompute median and MAD over the window at every sample.
 */
export class NaiveWindowDetector {
  private readonly windows = new Map<string, number[]>();
  anomalies = 0;

  constructor(private readonly windowPoints = 60) {}

  offer(s: Sample): void {
    const key = `${s.service}|${s.metric}|${s.stack}`;
    let w = this.windows.get(key);
    if (w === undefined) this.windows.set(key, (w = []));
    if (w.length >= 10) {
      const sorted = [...w].sort((a, b) => a - b);
      const median = sorted[sorted.length >> 1]!;
      const dev = sorted.map((x) => Math.abs(x - median)).sort((a, b) => a - b);
      const mad = dev[dev.length >> 1]! * 1.4826 || 1e-9;
      if (Math.abs(s.value - median) / mad > 4) this.anomalies++;
    }
    w.push(s.value);
    if (w.length > this.windowPoints) w.shift();
  }
}

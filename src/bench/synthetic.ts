import type { Sample, Signal } from '../domain/types.js';

/**
 * Deterministic multi-series workload for benchmarks: daily seasonality plus noise, time-ordered.
 * `metricsPerService`: 4 (one per signal) by default; a platform has closer to a hundred.
 */
export function syntheticSamples(seriesCount: number, minutes: number, seed = 7, metricsPerService = 4): Sample[] {
  const out: Sample[] = new Array(seriesCount * minutes);
  let n = 0;
  forEachSyntheticSample(seriesCount, minutes, (s) => (out[n++] = s), seed, metricsPerService);
  return out;
}

/** The same samples, in the same order, handed to `fn` one at a time (for runs too long to hold in memory). */
export function forEachSyntheticSample(seriesCount: number, minutes: number, fn: (s: Sample) => void, seed = 7, metricsPerService = 4): void {
  let state = seed >>> 0;
  const rand = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const signals: Signal[] = ['latency', 'reliability', 'capacity', 'business'];
  const metrics = ['http_p99_ms', 'http_error_ratio', 'cpu_utilization', 'orders_per_min'];
  const stacks = ['us-east-1', 'us-west-2'];
  const keys: { signal: Signal; metric: string; stack: string; service: string; base: number }[] = [];
  for (let i = 0; keys.length < seriesCount; i++) {
    const k = i % metrics.length;
    const j = i % metricsPerService;
    const metric = j < metrics.length ? metrics[k]! : `${metrics[k]!}_${j}`;
    for (const stack of stacks) {
      if (keys.length < seriesCount)
        keys.push({ signal: signals[k]!, metric, stack, service: `svc-${Math.floor(i / metricsPerService)}`, base: [200, 0.0003, 0.4, 600][k]! });
    }
  }
  const t0 = Date.UTC(2026, 2, 1);
  for (let m = 0; m < minutes; m++) {
    const season = 1 + 0.3 * Math.sin((2 * Math.PI * (m % 1440)) / 1440);
    for (const k of keys)
      fn({
        ts: t0 + m * 60_000,
        signal: k.signal,
        metric: k.metric,
        stack: k.stack,
        service: k.service,
        value: k.base * season * (1 + 0.05 * (rand() - 0.5)),
      });
  }
}

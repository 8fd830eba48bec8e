/**
 * `npm run bench`: throughput, per-sample latency percentiles and memory of the detection core,
 * next to a naive baseline measured in the same run, plus JSONL replay end to end.
 * Run with --expose-gc for the memory figures.
 */
import { quantileSorted } from 'simple-statistics';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DetectionEngine } from '../core/detection/detection-engine.js';
import { parseConfig } from '../config/load.js';
import { replayFile } from '../app/replay.js';
import { syntheticSamples } from './synthetic.js';
import { NaiveWindowDetector } from './naive-detector.js';
import { benchCheckpoint } from './checkpoint-bench.js';
import { Pipeline } from '../pipeline/pipeline.js';
import type { Sample } from '../domain/types.js';

const fullConfig = parseConfig({});
const config = fullConfig.detection;
const gc = (globalThis as { gc?: () => void }).gc;

function percentile(sorted: Float64Array, p: number): number {
  return quantileSorted(Array.from(sorted), p);
}

function fmtRate(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

/** Runs `offer` over every sample; times every 16th one individually for the latency percentiles. */
function measure(name: string, samples: Sample[], offer: (s: Sample) => void): { rate: number; p50: number; p99: number } {
  const lat = new Float64Array(Math.ceil(samples.length / 16));
  let li = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < samples.length; i++) {
    if ((i & 15) === 0) {
      const a = process.hrtime.bigint();
      offer(samples[i]!);
      lat[li++] = Number(process.hrtime.bigint() - a);
    } else offer(samples[i]!);
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const sorted = lat.subarray(0, li).sort();
  const r = { rate: samples.length / secs, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
  console.log(
    `  ${name.padEnd(34)} ${fmtRate(r.rate).padStart(11)} samples/s   p50 ${r.p50.toFixed(0).padStart(5)} ns   p99 ${r.p99.toFixed(0).padStart(6)} ns`,
  );
  return r;
}

function heapPerSeries(seriesCount: number): number {
  gc?.();
  const before = process.memoryUsage().heapUsed;
  let emitted = 0;
  const engine = new DetectionEngine(config, { detection: () => emitted++ });
  // Two points per series: enough to create and exercise every piece of per-series state.
  const samples = syntheticSamples(seriesCount, 2);
  for (const s of samples) engine.offerSample(s);
  engine.flush();
  gc?.();
  const after = process.memoryUsage().heapUsed;
  if (engine.getStats().series !== seriesCount) throw new Error('series count mismatch');
  return (after - before) / seriesCount;
}

async function main(): Promise<void> {
  console.log(`Harbinger benchmark: node ${process.version}, ${process.arch}${gc ? '' : ' (run with --expose-gc for memory figures)'}\n`);

  const series = 50;
  const minutes = 7 * 1440;
  const samples = syntheticSamples(series, minutes);
  console.log(`Core per-sample path: ${series} series × one week at 1-minute resolution = ${samples.length.toLocaleString('en-US')} pre-parsed samples`);
  // Warm up the JIT on a separate engine, then measure a fresh one.
  {
    const warm = new DetectionEngine(config, { detection: () => {} });
    for (let i = 0; i < 200_000; i++) warm.offerSample(samples[i]!);
  }
  let events = 0;
  const engine = new DetectionEngine(config, { detection: () => events++ });
  const core = measure('harbinger detection engine', samples, (s) => engine.offerSample(s));
  engine.flush();
  let decisions = 0;
  const pipeline = new Pipeline(fullConfig, { output: (e) => (e.type === 'recommendation' ? decisions++ : 0) });
  measure('full pipeline (detection + decision)', samples, (s) => pipeline.offerSample(s));
  pipeline.flush();
  const naive = new NaiveWindowDetector(60);
  const base = measure('naive (median/MAD over 60 points)', samples, (s) => naive.offer(s));
  console.log(
    `  speed-up over naive: ${(core.rate / base.rate).toFixed(1)}×   (detection events: ${events}, recommendations: ${decisions}; target ≥ 1,000,000 samples/s on one core)\n`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'harbinger-bench-'));
  try {
    const path = join(dir, 'week.jsonl');
    writeFileSync(
      path,
      `${samples.map((s) => JSON.stringify({ type: 'sample', ts: new Date(s.ts).toISOString(), signal: s.signal, metric: s.metric, stack: s.stack, service: s.service, value: s.value })).join('\n')}\n`,
    );
    const summary = await replayFile(path, { config: fullConfig });
    console.log(
      `JSONL replay (parse + validate + detect), same week: ${fmtRate(summary.samplesPerSec)} samples/s, ${(summary.wallMs / 1000).toFixed(2)} s wall\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  // Decision path: the learned confidence model, once per recommendation (not per sample).
  const { initBackend } = await import('../model/backend.js');
  const { loadConfidenceModel, shippedModelDir } = await import('../model/load.js');
  const { measureLatency } = await import('../model/evaluate.js');
  const { formulaConfidence } = await import('../core/decide/confidence.js');
  const backend = await initBackend();
  const learned = await loadConfidenceModel(shippedModelDir(), { ignoreSelection: true });
  const evidence = Array.from({ length: 64 }, (_, i) => ({
    persistence: (i % 5) / 4,
    magnitude: 4 + (i % 30),
    separation: i % 9,
    businessImpact: (i % 3) / 2,
    correlation: (i % 3) / 2,
    dataCompleteness: 1,
    minutesToBreach: i % 4 === 0 ? null : i * 2,
  }));
  if (learned !== undefined) {
    const l = measureLatency(learned.model, evidence);
    const f = measureLatency(formulaConfidence({ warnScore: 4, horizonMinutes: 90 }), evidence);
    console.log(
      `Confidence per recommendation: learned (${backend}) p50 ${l.p50Us.toFixed(1)} µs, p99 ${l.p99Us.toFixed(1)} µs; formula p50 ${f.p50Us.toFixed(2)} µs, p99 ${f.p99Us.toFixed(2)} µs\n`,
    );
  }

  console.log('Checkpoint (serve), one JSON document vs streamed by metric group while samples keep arriving:');
  for (const n of [10_000, 100_000]) {
    const c = await benchCheckpoint(fullConfig, n);
    console.log(
      `  ${n.toLocaleString('en-US').padStart(7)} series: one-shot ${c.oneShotMs.toFixed(0).padStart(5)} ms with ingest stopped; streamed ${c.streamedTotalMs.toFixed(0).padStart(5)} ms, longest pause ${c.streamedLongestSliceMs.toFixed(1)} ms; ${Math.round(c.bytesPerSeries).toLocaleString('en-US')} B/series on disk`,
    );
  }
  console.log('');

  if (gc) {
    console.log('Memory (heap bytes per series, all per-series state included):');
    for (const n of [10_000, 100_000])
      console.log(`  ${n.toLocaleString('en-US').padStart(7)} series: ${Math.round(heapPerSeries(n)).toLocaleString('en-US')} B/series`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});

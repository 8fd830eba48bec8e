/**
 * `npm run bench`: throughput, per-sample latency percentiles and memory of the detection core,
 * next to a naive baseline measured in the same run, plus JSONL replay end to end next to the
 * read + JSON.parse ceiling of the same file, and checkpoints. Run with --expose-gc for the memory
 * figures; `--json` ends the output with one JSON line of every figure (fields in the README).
 * The long-run memory figure feeds 10,000 series 8 days of one-minute data (115 M samples, about
 * two minutes): `--memory-series 10000,100000` and `--memory-days N` change it.
 */
import { quantileSorted } from 'simple-statistics';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DetectionEngine } from '../core/detection/detection-engine.js';
import { parseConfig } from '../config/load.js';
import { replayFile } from '../app/replay.js';
import { syntheticSamples } from './synthetic.js';
import { NaiveWindowDetector } from './naive-detector.js';
import { option } from './bench-options.js';
import { benchCheckpoint } from './checkpoint-bench.js';
import { benchDecisionMemory, benchLongRunMemory, DAILY_AND_WEEKLY, type LongRunMemory } from './memory-bench.js';
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

/** Heap plus array buffers: typed arrays keep their bytes outside the V8 heap. */
function liveBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

function heapPerSeries(seriesCount: number): number {
  gc?.();
  const before = liveBytes();
  let emitted = 0;
  const engine = new DetectionEngine(config, { detection: () => emitted++ });
  // Two points per series: enough to create and exercise every piece of per-series state.
  const samples = syntheticSamples(seriesCount, 2);
  for (const s of samples) engine.offerSample(s);
  engine.flush();
  gc?.();
  const after = liveBytes();
  if (engine.getStats().series !== seriesCount) throw new Error('series count mismatch');
  return (after - before) / seriesCount;
}

/** What `--json` prints: every figure of the run. */
const figures: Record<string, unknown> = { node: process.version, arch: process.arch };

function asFigure(r: { rate: number; p50: number; p99: number }): { samplesPerSec: number; p50Ns: number; p99Ns: number } {
  return { samplesPerSec: r.rate, p50Ns: r.p50, p99Ns: r.p99 };
}

/** Reading the file and `JSON.parse` of every line, nothing else: what a replay cannot beat. */
function parseCeiling(path: string): number {
  const t0 = performance.now();
  const text = readFileSync(path, 'utf8');
  let n = 0;
  let start = 0;
  for (let nl = text.indexOf('\n', start); nl >= 0; nl = text.indexOf('\n', start)) {
    if (JSON.parse(text.slice(start, nl)).type === 'sample') n++;
    start = nl + 1;
  }
  return n / ((performance.now() - t0) / 1000);
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
  figures['detection'] = asFigure(core);
  engine.flush();
  let decisions = 0;
  const pipeline = new Pipeline(fullConfig, { output: (e) => (e.type === 'recommendation' ? decisions++ : 0) });
  figures['pipeline'] = asFigure(measure('full pipeline (detection + decision)', samples, (s) => pipeline.offerSample(s)));
  pipeline.flush();
  const naive = new NaiveWindowDetector(60);
  const base = measure('naive (median/MAD over 60 points)', samples, (s) => naive.offer(s));
  figures['naive'] = asFigure(base);
  figures['speedupOverNaive'] = core.rate / base.rate;
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
    const ceiling = parseCeiling(path);
    const summary = await replayFile(path, { config: fullConfig });
    figures['replay'] = { samplesPerSec: summary.samplesPerSec, readParseCeiling: ceiling, ratio: summary.samplesPerSec / ceiling };
    console.log(
      `JSONL replay (read + parse + validate + pipeline), same week: ${fmtRate(summary.samplesPerSec)} samples/s, ${(summary.wallMs / 1000).toFixed(2)} s wall; read + JSON.parse alone: ${fmtRate(ceiling)} samples/s (replay at ${((100 * summary.samplesPerSec) / ceiling).toFixed(0)} % of it)\n`,
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
    figures['confidence'] = { backend, learnedP50Us: l.p50Us, learnedP99Us: l.p99Us, formulaP50Us: f.p50Us, formulaP99Us: f.p99Us };
    console.log(
      `Confidence per recommendation: learned (${backend}) p50 ${l.p50Us.toFixed(1)} µs, p99 ${l.p99Us.toFixed(1)} µs; formula p50 ${f.p50Us.toFixed(2)} µs, p99 ${f.p99Us.toFixed(2)} µs\n`,
    );
  }

  console.log('Checkpoint (serve), one JSON document vs streamed by metric group while samples keep arriving:');
  const checkpoints: unknown[] = [];
  figures['checkpoint'] = checkpoints;
  for (const n of [10_000, 100_000]) {
    const c = await benchCheckpoint(fullConfig, n);
    checkpoints.push(c);
    console.log(
      `  ${n.toLocaleString('en-US').padStart(7)} series: one-shot ${c.oneShotMs === c.oneShotMs ? `${c.oneShotMs.toFixed(0).padStart(5)} ms with ingest stopped` : 'impossible (past the maximum string length)'}; streamed ${c.streamedTotalMs.toFixed(0).padStart(5)} ms, longest pause ${c.streamedLongestSliceMs.toFixed(1)} ms; ${Math.round(c.bytesPerSeries).toLocaleString('en-US')} B/series on disk gzipped${c.plainBytesPerSeries === c.plainBytesPerSeries ? ` (${Math.round(c.plainBytesPerSeries).toLocaleString('en-US')} B as one plain document)` : ''}`,
    );
  }
  console.log('');

  if (gc) {
    console.log('Memory (heap + array buffer bytes per series, all per-series state included), after two points per series:');
    const memory: { series: number; heapBytesPerSeries: number }[] = [];
    figures['memory'] = memory;
    for (const n of [10_000, 100_000]) {
      const b = heapPerSeries(n);
      memory.push({ series: n, heapBytesPerSeries: b });
      console.log(`  ${n.toLocaleString('en-US').padStart(7)} series: ${Math.round(b).toLocaleString('en-US')} B/series`);
    }
    const days = Number(option('--memory-days') ?? 8);
    const counts = (option('--memory-series') ?? '10000').split(',').map(Number);
    const longConfig = parseConfig({ detection: { baseline: { seasons: DAILY_AND_WEEKLY } } }).detection;
    console.log(`\nAfter ${days} days of one-minute data, daily (15-min buckets) + weekly (60-min) seasons; the same series with number[] buckets beside:`);
    const long: LongRunMemory[] = [];
    figures['longRunMemory'] = long;
    for (const n of counts) {
      const m = benchLongRunMemory(longConfig, n, days, gc);
      long.push(m);
      const b = (x: number): string => `${Math.round(x).toLocaleString('en-US')} B`;
      console.log(
        `  ${n.toLocaleString('en-US').padStart(7)} series (fed at ${fmtRate(m.samplesPerSec)} samples/s): heap ${b(m.heapBytesPerSeries)}/series (number[] ${b(m.numberArrayHeapBytesPerSeries)}); checkpoint ${b(m.checkpointBytesPerSeries)}/series (number[] ${b(m.numberArrayCheckpointBytesPerSeries)}), gzipped as serve writes it ${b(m.checkpointGzipBytesPerSeries)}/series (encode ${m.checkpointEncodeMicrosPerSeries.toFixed(0)} µs + gzip ${m.checkpointGzipMicrosPerSeries.toFixed(0)} µs a series)`,
      );
    }
    const decisionSeries = Number(option('--decision-memory-series') ?? 2000);
    const d = benchDecisionMemory(parseConfig({ detection: { baseline: { seasons: DAILY_AND_WEEKLY } } }), decisionSeries, days, gc);
    figures['decisionMemory'] = d;
    console.log(
      `  ${decisionSeries.toLocaleString('en-US').padStart(7)} series through the whole pipeline: ${Math.round(d.pipelineBytesPerSeries).toLocaleString('en-US')} B/series against ${Math.round(d.detectionBytesPerSeries).toLocaleString('en-US')} B/series for detection alone (${d.loadProfiles.toLocaleString('en-US')} load profiles in the look-ahead)`,
    );
  }
  if (process.argv.includes('--json')) console.log(JSON.stringify(figures));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});

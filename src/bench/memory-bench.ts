import type { DetectionConfig } from '../config/detection.js';
import type { HarbingerConfig } from '../config/load.js';
import { Pipeline } from '../pipeline/pipeline.js';
import type { BaselineState } from '../core/baseline/seasonal-baseline.js';
import { DetectionEngine } from '../core/detection/detection-engine.js';
import { encodeState } from '../core/state/json-codec.js';
import { gzipSync } from 'node:zlib';
import { forEachSyntheticSample } from './synthetic.js';

/** What issue 14 sizes a deployment by: a daily and a weekly season (the README's example). */
export const DAILY_AND_WEEKLY = [
  { minutes: 1440, bucketMinutes: 15 },
  { minutes: 10_080, bucketMinutes: 60 },
] as const;

export interface LongRunMemory {
  series: number;
  days: number;
  /** The feed's own rate (many series: less cache-friendly than the 50-series throughput figure). */
  samplesPerSec: number;
  /** Heap plus array buffers (the typed arrays' bytes live outside the V8 heap), per series. */
  heapBytesPerSeries: number;
  /** The same series with their buckets in number[] per season, the layout before typed arrays. */
  numberArrayHeapBytesPerSeries: number;
  /** Every metric group encoded as a streamed checkpoint writes it (one line each), per series. */
  checkpointBytesPerSeries: number;
  numberArrayCheckpointBytesPerSeries: number;
  /** The same lines as `serve` writes them by default: gzip level 1, one member per 64 groups. */
  checkpointGzipBytesPerSeries: number;
  /** CPU per series to encode the lines, and to gzip them. */
  checkpointEncodeMicrosPerSeries: number;
  checkpointGzipMicrosPerSeries: number;
}

function liveBytes(gc: () => void): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Groups per gzip member, as CheckpointFile compresses one take of the snapshot. */
const GROUPS_PER_MEMBER = 64;

function checkpointBytes(engine: DetectionEngine): number {
  return checkpointSizes(engine).plain;
}

function checkpointSizes(engine: DetectionEngine): { plain: number; gzip: number; encodeMs: number; gzipMs: number } {
  const groups = engine.snapshot().groups;
  let plain = 0;
  let gzip = 0;
  let encodeMs = 0;
  let gzipMs = 0;
  for (let i = 0; i < groups.length; i += GROUPS_PER_MEMBER) {
    const t0 = performance.now();
    const text = `${groups
      .slice(i, i + GROUPS_PER_MEMBER)
      .map((g) => encodeState(g))
      .join('\n')}\n`;
    const t1 = performance.now();
    gzip += gzipSync(text, { level: 1 }).length;
    gzipMs += performance.now() - t1;
    encodeMs += t1 - t0;
    plain += Buffer.byteLength(text);
  }
  return { plain, gzip, encodeMs, gzipMs };
}

/**
 * A baseline in the layout before typed arrays, allocated as that code did (an object literal,
 * `new Array(n).fill(0)` per season for values and for counts, hour spreads and counts apart).
 */
function numberArrayLayout(b: BaselineState): unknown {
  const n = b.seasons.reduce((sum, s) => sum + s.buckets, 0);
  const hours = b.values.length > n;
  return {
    firstTs: b.firstTs,
    lastTs: b.lastTs,
    points: b.points,
    warmPoints: b.warmPoints,
    coldLevel: b.coldLevel,
    level: b.level,
    spread: b.spread,
    tailQ: b.tailQ,
    recentZ: b.recentZ,
    low: b.low,
    high: b.high,
    ...(hours ? { hourSpread: plainArray(b.values, n, 24), hourCount: plainArray(b.values, n + 24, 24) } : {}),
    seasons: b.seasons.map((s) => ({
      minutes: s.minutes,
      bucketMinutes: s.bucketMinutes,
      value: plainArray(b.values, s.offset, s.buckets),
      count: plainArray(b.counts, s.offset, s.buckets),
    })),
  };
}

function plainArray(from: Float32Array | Uint16Array, start: number, length: number): number[] {
  const a = new Array<number>(length).fill(0);
  for (let i = 0; i < length; i++) a[i] = from[start + i]!;
  return a;
}

/**
 * `seriesCount` series fed `days` of one-minute data, then measured: live bytes per series (after
 * a full gc, against the bytes before the engine existed) and checkpoint bytes per series; then
 * the same engine with every baseline rewritten in the number[] layout, measured the same way.
 */
export function benchLongRunMemory(config: DetectionConfig, seriesCount: number, days: number, gc: () => void): LongRunMemory {
  const before = liveBytes(gc);
  const engine = new DetectionEngine(config, { detection: () => {} });
  const t0 = performance.now();
  forEachSyntheticSample(seriesCount, days * 1440, (s) => engine.offerSample(s));
  engine.flush();
  const samplesPerSec = (seriesCount * days * 1440) / ((performance.now() - t0) / 1000);
  if (engine.getStats().series !== seriesCount) throw new Error('series count mismatch');
  const typed = liveBytes(gc) - before;
  const typedCheckpoint = checkpointSizes(engine);
  for (const s of engine.series()) s.baseline = numberArrayLayout(s.baseline) as BaselineState;
  const plain = liveBytes(gc) - before;
  const plainCheckpoint = checkpointBytes(engine);
  return {
    series: seriesCount,
    days,
    samplesPerSec,
    heapBytesPerSeries: typed / seriesCount,
    numberArrayHeapBytesPerSeries: plain / seriesCount,
    checkpointBytesPerSeries: typedCheckpoint.plain / seriesCount,
    numberArrayCheckpointBytesPerSeries: plainCheckpoint / seriesCount,
    checkpointGzipBytesPerSeries: typedCheckpoint.gzip / seriesCount,
    checkpointEncodeMicrosPerSeries: (typedCheckpoint.encodeMs * 1000) / seriesCount,
    checkpointGzipMicrosPerSeries: (typedCheckpoint.gzipMs * 1000) / seriesCount,
  };
}

export interface DecisionMemory {
  series: number;
  days: number;
  /** The detection engine alone, as `longRunMemory` measures it. */
  detectionBytesPerSeries: number;
  /** The whole pipeline on the same feed: detection, merge and decisions (the look-ahead's load profiles). */
  pipelineBytesPerSeries: number;
  /** Load profiles the look-ahead keeps (one per saturation-gated series and stack). */
  loadProfiles: number;
}

/**
 * What the decision side adds to a series: the same feed through the detection engine alone, then
 * through the whole pipeline, whose look-ahead keeps a seasonal load profile (a baseline of its
 * own) per saturation-gated series and stack. Measured apart, at a count that feeds in a minute.
 */
export function benchDecisionMemory(config: HarbingerConfig, seriesCount: number, days: number, gc: () => void): DecisionMemory {
  const minutes = days * 1440;
  let before = liveBytes(gc);
  let engine: DetectionEngine | undefined = new DetectionEngine(config.detection, { detection: () => {} });
  forEachSyntheticSample(seriesCount, minutes, (s) => engine!.offerSample(s));
  engine.flush();
  const detection = liveBytes(gc) - before;
  engine = undefined;
  before = liveBytes(gc);
  const pipeline = new Pipeline(config, { output: () => {} });
  forEachSyntheticSample(seriesCount, minutes, (s) => pipeline.offerSample(s));
  pipeline.flush();
  const whole = liveBytes(gc) - before;
  return {
    series: seriesCount,
    days,
    detectionBytesPerSeries: detection / seriesCount,
    pipelineBytesPerSeries: whole / seriesCount,
    loadProfiles: pipeline.snapshot().decision.lookahead?.loads.length ?? 0,
  };
}

import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { readLineBatches } from '../adapters/file/line-reader.js';
import { ParsedBatchBuilder, ParsedBatchReader, type ParsedBatch } from '../ingest/parsed-batch.js';
import type { DetectionStats } from '../core/detection/detection-engine.js';
import type { HarbingerConfig } from '../config/load.js';
import { withActionsReachingData } from '../config/decision.js';
import type { ContextEvent, Sample } from '../domain/types.js';
import { Pipeline, type PipelineOutput } from '../pipeline/pipeline.js';
import type { ConfidenceModel } from '../core/decide/confidence.js';
import { gateCoverage, type GateCoverage } from '../core/detection/gate-coverage.js';

export interface ReplaySummary {
  lines: number;
  invalid: number;
  rejectsByReason: Record<string, number>;
  stats: DetectionStats;
  wallMs: number;
  samplesPerSec: number;
  /** Which SLO gate each metric met, and which met none. */
  gates: GateCoverage;
  /**
   * How far past its own stamp the newest input had gone when each recommendation first came out
   * (recommendations released only by the end of input left out): what a live feed, which cannot see
   * ahead, adds to every lead. Absent without such a recommendation.
   */
  decisionDelay?: { recommendations: number; medianMs: number; maxMs: number };
}

export interface ReplayOptions {
  config: HarbingerConfig;
  /** Every output event, in order. */
  onEvent?: (e: PipelineOutput) => void;
  /** Where rejected lines go (JSONL with line number and reason); omitted: counted only. */
  rejectsPath?: string;
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /** Invalid lines, reported as they happen (the CLI prints the first few). */
  onInvalid?: (lineNo: number, reason: string) => void;
  /** A confidence model other than the formula (a learned one). */
  confidence?: ConfidenceModel;
  /**
   * The SLO gate coverage, once, as soon as an hour of event time has been replayed (every series
   * has shown up by then), so a long replay says early which metrics no gate covers.
   */
  onEarlyGates?: (gates: GateCoverage) => void;
  /** The pipeline the replay runs, once created (a report reads its state at the end). */
  onPipeline?: (pipeline: Pipeline) => void;
  /** Each sample and event, in file order, just before the pipeline is offered it (the eval asks the rollout gate there). */
  beforeInput?: (x: Sample | ContextEvent) => void;
}

/** Event time replayed before the early gate report. */
const EARLY_GATES_AFTER_MS = 3_600_000;

/** Replays a JSONL file through the pipeline. Wall clock is used only to report speed. */
export async function replayFile(path: string, opts: ReplayOptions): Promise<ReplaySummary> {
  const started = performance.now();
  const rejectsByReason: Record<string, number> = {};
  let rejects: WriteStream | undefined;
  if (opts.rejectsPath !== undefined) rejects = createWriteStream(opts.rejectsPath);
  const reject = (reason: string, raw: string, line?: number): void => {
    const key = reason.split(':')[0]!;
    rejectsByReason[key] = (rejectsByReason[key] ?? 0) + 1;
    if (line !== undefined) opts.onInvalid?.(line, reason);
    rejects?.write(`${JSON.stringify({ source: path, line, reason, raw })}\n`);
  };
  const delays: number[] = [];
  const delayed = new Set<string>();
  let flushing = false;
  // Recorded data never sees what the replay decides: actions do not reach it.
  const engine = new Pipeline(withActionsReachingData(opts.config, false), {
    output: (e) => {
      if (e.type === 'recommendation' && !flushing && !delayed.has(e.id)) {
        delayed.add(e.id);
        delays.push(engine.detection.maxEventTime() - e.ts);
      }
      opts.onEvent?.(e);
    },
    rejected: (r: Sample | ContextEvent, reason) => reject(reason, JSON.stringify(r)),
  });
  if (opts.confidence !== undefined) engine.decision.setConfidenceModel(opts.confidence);
  opts.onPipeline?.(engine);
  let invalid = 0;
  let lines = 0;
  let earlyGatesSent = false;
  let firstTs: number | undefined;
  const before = opts.beforeInput;
  // Without a hook the engine is called directly: one closure fewer per record on the hot path.
  const hooked = <T extends Sample | ContextEvent>(offer: (x: T) => boolean): ((x: T) => boolean) =>
    before === undefined
      ? offer
      : (x: T) => {
          before(x);
          return offer(x);
        };
  const on = {
    sample: hooked((x: Sample) => engine.offerSample(x)),
    event: hooked((x: ContextEvent) => engine.offerEvent(x)),
    reject: (line: number, reason: string, raw: string) => {
      invalid++;
      reject(reason, raw, line);
    },
  };
  const reader = new ParsedBatchReader();
  for await (const batch of parsedBatches(path)) {
    lines += batch.lines;
    reader.read(batch, on);
    opts.onProgress?.(batch.bytesRead, batch.totalBytes);
    if (opts.onEarlyGates !== undefined && !earlyGatesSent) {
      const seen = engine.stats();
      if (firstTs === undefined && seen.samples > 0) firstTs = seen.watermark;
      if (firstTs !== undefined && seen.watermark - firstTs >= EARLY_GATES_AFTER_MS) {
        earlyGatesSent = true;
        opts.onEarlyGates(gateCoverage(engine.detection.series()));
      }
    }
  }
  flushing = true;
  engine.flush();
  if (rejects !== undefined) {
    rejects.end();
    await once(rejects, 'finish');
  }
  const wallMs = performance.now() - started;
  const stats = { ...engine.stats() };
  const summary: ReplaySummary = {
    lines,
    invalid,
    rejectsByReason,
    stats,
    wallMs,
    samplesPerSec: stats.samples / (wallMs / 1000),
    gates: gateCoverage(engine.detection.series()),
  };
  if (delays.length > 0) {
    delays.sort((a, b) => a - b);
    summary.decisionDelay = { recommendations: delays.length, medianMs: delays[(delays.length - 1) >> 1]!, maxMs: delays[delays.length - 1]! };
  }
  return summary;
}

/**
 * The file's lines, parsed, a chunk at a time: in a parsing thread when the compiled worker is
 * there (read + parse overlap the pipeline: on two cores the replay runs at about the speed of
 * parsing alone), in this thread otherwise (running from the TypeScript sources). Same batches,
 * same order, either way.
 */
async function* parsedBatches(path: string): AsyncGenerator<ParsedBatch> {
  const workerUrl = new URL('./replay-parse-worker.js', import.meta.url);
  if (!existsSync(fileURLToPath(workerUrl))) {
    const builder = new ParsedBatchBuilder();
    for await (const c of readLineBatches(path)) yield builder.build(c.lines, c.firstLineNo, c.bytesRead, c.totalBytes);
    return;
  }
  const worker = new Worker(workerUrl, { workerData: { path } });
  const queue: ParsedBatch[] = [];
  let done = false;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = (): void => {
    wake?.();
    wake = undefined;
  };
  worker.on('message', (m: { batch?: ParsedBatch; done?: boolean; error?: string; code?: string }) => {
    if (m.batch !== undefined) queue.push(m.batch);
    else if (m.done === true) done = true;
    else if (m.error !== undefined) failure = Object.assign(new Error(m.error), m.code !== undefined ? { code: m.code } : {});
    notify();
  });
  worker.on('error', (err) => {
    failure = err;
    notify();
  });
  worker.on('exit', () => {
    if (!done && failure === undefined) failure = new Error('the parsing thread stopped before the end of the file');
    notify();
  });
  try {
    for (;;) {
      const b = queue.shift();
      if (b !== undefined) {
        worker.postMessage('ack');
        yield b;
      } else if (failure !== undefined) throw failure;
      else if (done) return;
      else await new Promise<void>((r) => (wake = r));
    }
  } finally {
    await worker.terminate();
  }
}

import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { HarbingerConfig } from '../config/load.js';
import { PrometheusPoller } from '../adapters/prometheus/poller.js';
import { ServiceMetrics } from '../adapters/http/metrics.js';
import type { Logger } from '../adapters/log/logger.js';
import { writeFileAtomic, fsyncDir } from '../adapters/file/durable-file.js';
import { linesSync, readLineBatches } from '../adapters/file/line-reader.js';
import { CheckpointFile } from '../adapters/state/checkpoint-file.js';
import { parseLine } from '../ingest/record-parser.js';
import type { Sample } from '../domain/types.js';
import { EmbeddedRuntime } from './runtime/embedded-runtime.js';

/**
 * `harbinger backfill`: the baselines learn history (Prometheus query_range, or a JSONL file) into
 * the checkpoint `serve` restores from, before the service goes live. Like warm start, the history
 * goes through detection only (EmbeddedRuntime.warm): nothing it would have decided is kept.
 *
 * Resumable: after every chunk the state is checkpointed (state.json, fsynced and renamed) with the
 * chunk's end as its `savedAt`, and `backfill.json` beside it (written atomically) says what is
 * being backfilled. A rerun after an interruption restores that checkpoint and goes on from its
 * `savedAt`, the end of the last completed chunk: a crash between the two writes loses nothing,
 * since the checkpoint itself says how far it got.
 *
 * Live state is never rewound: a checkpoint that backfill did not write (serve's: its `savedAt`
 * is later than the backfill's end), or commands in the write-ahead log (serve ingested), is
 * refused unless `force`, which moves the old state aside (`*.replaced-<time>`) and starts over.
 */

/** The progress record beside the checkpoint. */
export interface BackfillProgress {
  version: 1;
  /** What is backfilled: a Prometheus URL with its queries and step, or a JSONL file. */
  source: string;
  from: number;
  until: number;
  stepSeconds: number;
  chunkMs: number;
  /** The end of the last completed chunk (also the checkpoint's savedAt). */
  doneUntil: number;
  complete: boolean;
}

export type BackfillSource = { kind: 'prometheus'; from: number; until: number; chunkMs?: number } | { kind: 'jsonl'; path: string };

export interface BackfillOptions {
  config: HarbingerConfig;
  source: BackfillSource;
  force?: boolean;
  log: Logger;
  /** After each completed (checkpointed) chunk. */
  onChunk?: (done: number, total: number, p: { doneUntil: number; samples: number; requests: number }) => void;
  /** Checked after every chunk: when aborted, backfill stops there (the checkpoint is written) and says so. */
  signal?: AbortSignal;
}

export interface BackfillResult {
  /** A JSONL backfill: lines that were not valid records, and context events (not learned). */
  invalid?: number;
  events?: number;
  /** failed: a query of a chunk failed after its retries; the chunks before it are checkpointed. */
  status: 'done' | 'interrupted' | 'failed' | 'already-done';
  /** Where a failed backfill stopped (the chunk that could not be fetched). */
  failedAt?: number;
  samples: number;
  series: number;
  /** Chunks fetched by this run, and all the backfill has. */
  chunks: number;
  totalChunks: number;
  /** Chunks already done by an earlier run (0 on a fresh backfill). */
  resumedChunks: number;
  /** query_range requests made by this run (one per query per chunk, retries not counted). */
  requests: number;
  failedQueries: number;
  from: number;
  until: number;
  seconds: number;
  checkpoint: string;
}

/** Refused: live state without --force, or a resume that does not match; a usage error for the CLI. */
export class BackfillRefused extends Error {}

/** Prometheus answers at most 11,000 points per series per query_range; a chunk stays under 10,000 steps. */
export const MAX_STEPS_PER_CHUNK = 10_000;
export const DEFAULT_CHUNK_MS = 6 * 3_600_000;

export const progressPath = (dataDir: string): string => join(dataDir, 'backfill.json');

/** The chunk length used: the asked one, at most 10,000 steps, a whole number of steps. */
export function chunkLength(stepSeconds: number, asked = DEFAULT_CHUNK_MS): number {
  const step = stepSeconds * 1000;
  return Math.max(step, Math.floor(Math.min(asked, MAX_STEPS_PER_CHUNK * step) / step) * step);
}

export async function backfill(opts: BackfillOptions): Promise<BackfillResult> {
  const started = performance.now();
  const { config: cfg, source, log } = opts;
  const dataDir = cfg.server.dataDir;
  mkdirSync(dataDir, { recursive: true });
  if (cfg.kafka !== undefined)
    throw new BackfillRefused('the config runs on Kafka, whose state lives on its topics: backfill writes the embedded checkpoint (state.json) only');
  const prom = cfg.prometheus;
  if (source.kind === 'prometheus' && prom === undefined)
    throw new BackfillRefused('no Prometheus queries: the config needs a prometheus section (url, queries)');
  const step = source.kind === 'prometheus' ? prom!.stepSeconds : 0;
  const chunkMs = source.kind === 'prometheus' ? chunkLength(step, source.chunkMs) : 0;
  let from = source.kind === 'prometheus' ? Math.floor(source.from / 1000 / step) * step * 1000 : 0;
  let until = source.kind === 'prometheus' ? Math.floor(source.until / 1000 / step) * step * 1000 : 0;
  const identity =
    source.kind === 'prometheus'
      ? `prometheus ${prom!.url} step ${step}s queries ${JSON.stringify(prom!.queries.map((q) => q.query))}`
      : `jsonl ${source.path}`;

  const previous = readProgress(dataDir);
  const head = checkpointHead(join(dataDir, 'state.json'));
  const open = (): EmbeddedRuntime => {
    const r = new EmbeddedRuntime(cfg, log, { onDecision: () => undefined, onRejected: () => undefined }, Date.now);
    // Commands in the write-ahead log are what serve ingested after its checkpoint: live state.
    r.recover();
    return r;
  };
  let runtime = open();
  const restart = (): void => {
    runtime.close();
    moveAside(dataDir);
    runtime = open();
  };
  let resumeFrom: number | undefined;
  try {
    if (!runtime.fresh) {
      const ours = previous !== undefined && head !== undefined && head.savedAt <= previous.until && !runtime.restoredFrom.includes('logged commands');
      if (!ours) {
        if (opts.force !== true)
          throw new BackfillRefused(
            `${dataDir} holds live state (a checkpoint or write-ahead log that serve wrote): a backfill would rewind it; --force moves it aside and starts over`,
          );
        restart();
      } else if (previous.source !== identity || (source.kind === 'prometheus' && (from < previous.from - chunkMs || previous.chunkMs !== chunkMs))) {
        if (opts.force !== true)
          throw new BackfillRefused(
            `${dataDir} holds a backfill of something else (${previous.source}, from ${new Date(previous.from).toISOString()}, ${previous.chunkMs / 60_000} min chunks): rerun it as it was to resume, or --force to start over`,
          );
        restart();
      } else if (previous.complete && (source.kind === 'jsonl' || head!.savedAt >= until)) {
        return { status: 'already-done', ...zero, from: previous.from, until: previous.until, seconds: 0, checkpoint: join(dataDir, 'state.json') };
      } else if (source.kind === 'prometheus') {
        // The checkpoint says how far it got (its savedAt is the end of its last chunk); the start
        // stays the first run's (a relative --since moves with the clock), the end is this run's.
        resumeFrom = head!.savedAt;
        from = previous.from;
        if (until < resumeFrom) until = resumeFrom;
      } else {
        // A JSONL backfill is one pass: an unfinished one starts over.
        restart();
      }
    }
  } catch (e) {
    runtime.close();
    throw e;
  }

  const metrics = new ServiceMetrics();
  try {
    if (source.kind === 'jsonl') return await fromJsonl(runtime, metrics, cfg, source.path, identity, opts, started);
    const start = resumeFrom ?? from;
    const totalChunks = Math.ceil((until - from) / chunkMs);
    const resumedChunks = Math.round((start - from) / chunkMs);
    const result: BackfillResult = {
      status: 'done',
      ...zero,
      totalChunks,
      resumedChunks,
      from,
      until,
      seconds: 0,
      checkpoint: join(dataDir, 'state.json'),
    };
    if (resumeFrom !== undefined)
      log.info({ from: new Date(start).toISOString(), resumedChunks, totalChunks }, 'backfill: resuming after the last completed chunk');
    const poller = new PrometheusPoller(prom!, () => undefined, log);
    let done = resumedChunks;
    for (let t = start; t < until; t += chunkMs) {
      if (opts.signal?.aborted === true) {
        result.status = 'interrupted';
        break;
      }
      const end = Math.min(until, t + chunkMs);
      let got = { samples: 0, failedQueries: 0 };
      await runtime.warm(async (offer) => {
        got = await poller.history(t, end, offer);
      });
      result.requests += prom!.queries.length;
      if (got.failedQueries > 0) {
        // Not a gap to keep, as a live poll would: this chunk is not checkpointed (what it fed is
        // dropped with the process), so a rerun fetches it again once Prometheus answers.
        result.failedQueries += got.failedQueries;
        result.status = 'failed';
        result.failedAt = t;
        break;
      }
      result.samples += got.samples;
      result.chunks++;
      done++;
      await runtime.checkpoint(end, metrics, true);
      fsyncDir(dataDir);
      writeProgress(dataDir, { version: 1, source: identity, from, until, stepSeconds: step, chunkMs, doneUntil: end, complete: end >= until });
      opts.onChunk?.(done, totalChunks, { doneUntil: end, samples: result.samples, requests: result.requests });
    }
    if (until <= start) writeProgress(dataDir, { version: 1, source: identity, from, until, stepSeconds: step, chunkMs, doneUntil: start, complete: true });
    result.series = [...runtime.series()].length;
    result.seconds = (performance.now() - started) / 1000;
    return result;
  } finally {
    runtime.close();
  }
}

const zero = { samples: 0, series: 0, chunks: 0, totalChunks: 0, resumedChunks: 0, requests: 0, failedQueries: 0 };

/** A JSONL file of samples (context events and invalid lines are counted and skipped) in one pass, checkpointed at the end. */
async function fromJsonl(
  runtime: EmbeddedRuntime,
  metrics: ServiceMetrics,
  cfg: HarbingerConfig,
  path: string,
  identity: string,
  opts: BackfillOptions,
  started: number,
): Promise<BackfillResult> {
  let samples = 0;
  let invalid = 0;
  let events = 0;
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  await runtime.warm(async (offer) => {
    for await (const batch of readLineBatches(path)) {
      const out: Sample[] = [];
      for (const line of batch.lines) {
        if (line.trim() === '') continue;
        const r = parseLine(line);
        if (!r.ok) invalid++;
        else if (r.kind === 'event') events++;
        else {
          out.push(r.sample);
          if (r.sample.ts < first) first = r.sample.ts;
          if (r.sample.ts > last) last = r.sample.ts;
        }
      }
      samples += out.length;
      if (out.length > 0) offer(out);
      opts.onChunk?.(batch.bytesRead, batch.totalBytes, { doneUntil: last, samples, requests: 0 });
    }
  });
  if (samples === 0) throw new BackfillRefused(`${path}: no valid sample in it (${invalid} invalid lines, ${events} context events)`);
  const dataDir = cfg.server.dataDir;
  await runtime.checkpoint(last, metrics, true);
  fsyncDir(dataDir);
  writeProgress(dataDir, { version: 1, source: identity, from: first, until: last, stepSeconds: 0, chunkMs: 0, doneUntil: last, complete: true });
  return {
    status: 'done',
    ...zero,
    samples,
    invalid,
    events,
    series: [...runtime.series()].length,
    chunks: 1,
    totalChunks: 1,
    from: first,
    until: last,
    seconds: (performance.now() - started) / 1000,
    checkpoint: join(dataDir, 'state.json'),
  };
}

function readProgress(dataDir: string): BackfillProgress | undefined {
  for (const { line } of linesSync(progressPath(dataDir))) {
    try {
      const p = JSON.parse(line) as BackfillProgress;
      return p.version === 1 ? p : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function writeProgress(dataDir: string, p: BackfillProgress): void {
  writeFileAtomic(progressPath(dataDir), `${JSON.stringify(p)}\n`);
}

/** The checkpoint's head line (its savedAt), without reading the groups. */
function checkpointHead(path: string): { savedAt: number } | undefined {
  const lines = new CheckpointFile(path).lines();
  const head = lines.next();
  lines.return(undefined);
  if (head.done === true) return undefined;
  // The head line may be long (the decision snapshot); savedAt comes right after the version.
  const m = /^\{"version":\d+,"savedAt":(\d+)/.exec(head.value);
  return { savedAt: m !== null ? Number(m[1]) : Number.POSITIVE_INFINITY };
}

/** --force: the state there is kept, renamed, rather than deleted. */
function moveAside(dataDir: string): void {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  for (const name of ['state.json', 'wal.sqlite', 'wal.sqlite-wal', 'wal.sqlite-shm', 'wal.jsonl', 'backfill.json']) {
    const p = join(dataDir, name);
    if (existsSync(p)) renameSync(p, `${p}.replaced-${stamp}`);
  }
  fsyncDir(dataDir);
}

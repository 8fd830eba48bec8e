import { join } from 'node:path';
import type { HarbingerConfig } from '../../config/load.js';
import type { DetectionSnapshot } from '../../core/detection/detection-engine.js';
import type { DecisionSnapshot } from '../../core/decide/decision-engine.js';
import type { MergeSnapshot } from '../../core/merge/detection-merge.js';
import type { SeriesState } from '../../core/detection/series-state.js';
import type { ContextEvent, Sample } from '../../domain/types.js';
import type { AlertTrigger, DecisionEvent, DecisionResult } from '../../domain/decision.js';
import { Pipeline, snapshotFromPieces, type StreamedHead } from '../../pipeline/pipeline.js';
import { CheckpointFile } from '../../adapters/state/checkpoint-file.js';
import { decodeState } from '../../core/state/json-codec.js';
import { WriteAheadLog } from '../../adapters/file/write-ahead-log.js';
import type { ServiceMetrics } from '../../adapters/http/metrics.js';
import type { Logger } from '../../adapters/log/logger.js';
import type { Kept, Runtime } from './runtime.js';

/** The head line of a streamed checkpoint; one piece per line follows it (a metric group or a load profile, see Pipeline.takeGroups). */
interface CheckpointHead {
  version: 2;
  savedAt: number;
  walSeq: number;
  pipeline: StreamedHead;
}

/** A checkpoint of one JSON document, as written before checkpoints were streamed (still read). */
interface Checkpoint {
  version: 1;
  savedAt: number;
  detection: DetectionSnapshot;
  /** Absent in checkpoints written before the merge stage existed. */
  merge?: MergeSnapshot;
  decision: DecisionSnapshot;
  /** The last write-ahead-log record the checkpoint holds (absent before the log existed). */
  walSeq?: number;
}

/** Everything that changes state, as the write-ahead log records it. */
export type Command =
  | { op: 'ingest'; samples: Sample[]; events: ContextEvent[] }
  | { op: 'alert'; alert: AlertTrigger; ts: number }
  | { op: 'decide'; id: string; verdict: 'approve' | 'reject'; by: string; ts: number }
  | { op: 'tick'; to: number; now: number }
  | { op: 'failed'; id: string; detail: string; ts: number };

export interface RuntimeHooks {
  /** A decision made here: the service's sinks (audit first) act on it. `replayed`: made again while recovering. */
  onDecision(e: DecisionEvent, replayed: boolean): void;
  onRejected(reason: string): void;
}

/**
 * The whole pipeline in this process. State is checkpointed to `state.json`; every command
 * between checkpoints is in the write-ahead log (`wal.sqlite`) first, so a crash loses nothing that was acknowledged.
 */
export class EmbeddedRuntime implements Runtime {
  readonly kind = 'embedded' as const;
  readonly pipeline: Pipeline;
  readonly failure = undefined;
  restoredFrom = 'nothing (fresh start)';
  private readonly store: CheckpointFile;
  private inFlight: Promise<void> | null = null;
  private readonly wal: WriteAheadLog<Command>;
  private walSeq = 0;
  private replaying = false;
  private warming = false;
  private lastIngest = 0;

  constructor(
    private readonly cfg: HarbingerConfig,
    private readonly log: Logger,
    hooks: RuntimeHooks,
    private readonly now: () => number,
  ) {
    this.pipeline = new Pipeline(cfg, {
      output: (e) => {
        if (this.warming) return;
        if (e.type === 'recommendation' || e.type === 'outcome' || e.type === 'incident') hooks.onDecision(e, this.replaying);
      },
      rejected: (_r, reason) => hooks.onRejected(reason),
    });
    this.store = new CheckpointFile(join(cfg.server.dataDir, 'state.json'), cfg.server.checkpointGzipLevel);
    this.restore();
    this.wal = new WriteAheadLog<Command>(join(cfg.server.dataDir, 'wal.sqlite'), this.walSeq, join(cfg.server.dataDir, 'wal.jsonl'));
  }

  get decision(): Pipeline['decision'] {
    return this.pipeline.decision;
  }

  /** Applies the commands logged after the checkpoint: the state a run that never died would have. */
  recover(): void {
    let commands = 0;
    let fromSeq = 0;
    let toSeq = 0;
    this.replaying = true;
    try {
      for (const r of this.wal.takeUnapplied()) {
        if (commands++ === 0) fromSeq = r.seq;
        toSeq = r.seq;
        this.apply(r.cmd);
      }
    } finally {
      this.replaying = false;
    }
    if (commands === 0) return;
    this.restoredFrom += ` and ${commands} logged commands after it`;
    this.log.info({ commands, fromSeq, toSeq }, 'recovered the write-ahead log');
  }

  /** Whether this runtime started from nothing (no checkpoint, no logged command): the case warm start is for. */
  get fresh(): boolean {
    return this.restoredFrom === 'nothing (fresh start)';
  }

  /**
   * Learn from history before serving (warm start): the samples go through detection, so the
   * baselines see their seasons and event time reaches the present, but nothing the history would
   * have decided is kept or delivered: the decision side is put back as it was.
   */
  async warm(feed: (offer: (samples: Sample[]) => void) => Promise<void>): Promise<void> {
    // A copy: the snapshot shares arrays with the live engine (its incident history), which the
    // history would otherwise write into, keeping the past's incidents after all.
    const decision = structuredClone(this.pipeline.decision.snapshot());
    this.warming = true;
    try {
      await feed((samples) => this.offer(samples, []));
      this.pipeline.flush();
    } finally {
      this.warming = false;
      this.pipeline.decision.restore(decision);
    }
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  close(): void {
    this.wal.close();
  }

  withinSeriesLimit(samples: Sample[]): { kept: Sample[]; refused: number; limit: number } {
    return { ...this.pipeline.detection.withinSeriesLimit(samples), limit: this.pipeline.detection.seriesLimit };
  }

  ingest(samples: Sample[], events: ContextEvent[]): Kept {
    if (samples.length + events.length === 0) return { samples: 0, events: 0, late: 0 };
    this.wal.append({ op: 'ingest', samples, events });
    this.lastIngest = this.now();
    return this.offer(samples, events);
  }

  alert(alert: AlertTrigger, ts: number): 'accepted' | 'duplicate' | 'limited' {
    this.wal.append({ op: 'alert', alert, ts });
    return this.pipeline.decision.onAlert(alert, ts);
  }

  decide(id: string, verdict: 'approve' | 'reject', by: string, ts: number): DecisionResult {
    this.wal.append({ op: 'decide', id, verdict, by, ts });
    return verdict === 'approve' ? this.pipeline.decision.approve(id, by, ts) : this.pipeline.decision.reject(id, by, ts);
  }

  executionFailed(id: string, detail: string, ts: number): void {
    this.wal.append({ op: 'failed', id, detail, ts });
    this.pipeline.decision.onExecutionResult(id, false, detail, ts);
  }

  decides(): boolean {
    return true;
  }

  exclusive<T>(fn: () => T): T {
    return fn();
  }

  afterHumanDecision(): void {}

  announce(event: ContextEvent): void {
    this.ingest([], [event]);
  }

  maxEventTime(): number {
    return this.pipeline.detection.maxEventTime();
  }

  series(): Iterable<SeriesState> {
    return this.pipeline.detection.series();
  }

  tick(now: number, metrics: ServiceMetrics): void {
    // Only a quiet source lets the wall clock move event time: while data flows (a backlog, a
    // remote_write WAL replay), event time is the data's own.
    if (this.cfg.server.wallClockWatermark && now - this.lastIngest >= this.cfg.server.idleSeconds * 1000) {
      const cmd: Command = { op: 'tick', to: now - this.cfg.detection.eventTime.allowedLatenessSeconds * 1000, now };
      this.wal.append(cmd);
      this.apply(cmd);
    }
    const stats = this.pipeline.stats();
    metrics.series.set(stats.series);
    const maxTs = this.pipeline.detection.maxEventTime();
    if (Number.isFinite(maxTs)) metrics.eventTimeLag.set((now - maxTs) / 1000);
    if (Number.isFinite(stats.watermark)) metrics.watermarkLag.set((now - stats.watermark) / 1000);
  }

  /**
   * State to `state.json` with the log position it holds, then the log cut to what came after.
   * Streamed: ingest goes on while the groups are written, each as it was when the checkpoint
   * began. Rejects when the state cannot be written (the previous checkpoint stays); a checkpoint
   * asked for while one is being written is skipped.
   */
  async checkpoint(now: number, metrics: ServiceMetrics, final = false, onBegin?: () => void): Promise<boolean> {
    if (this.inFlight !== null) {
      if (!final) return false;
      await this.inFlight.catch(() => {});
    }
    this.inFlight = this.writeCheckpoint(now, metrics, onBegin);
    try {
      await this.inFlight;
      return true;
    } finally {
      this.inFlight = null;
    }
  }

  private async writeCheckpoint(now: number, metrics: ServiceMetrics, onBegin: (() => void) | undefined): Promise<void> {
    const t = performance.now();
    const mark = this.wal.mark();
    try {
      const head = `{"version":2,"savedAt":${now},"walSeq":${mark.seq},"pipeline":${this.pipeline.beginSnapshot()}}`;
      onBegin?.();
      const beginMs = performance.now() - t;
      const w = await this.store.write(head, (max) => this.pipeline.takeGroups(max));
      this.walSeq = mark.seq;
      await this.wal.dropThrough(mark);
      metrics.checkpointDuration.observe((performance.now() - t) / 1000);
      metrics.checkpointBytes.set(w.bytes);
      metrics.checkpointLongestSlice.observe(Math.max(beginMs, w.maxSliceMs) / 1000);
    } finally {
      this.pipeline.endSnapshot();
    }
  }

  private apply(cmd: Command): void {
    switch (cmd.op) {
      case 'ingest':
        this.offer(cmd.samples, cmd.events);
        return;
      case 'alert':
        this.pipeline.decision.onAlert(cmd.alert, cmd.ts);
        return;
      case 'decide':
        if (cmd.verdict === 'approve') this.pipeline.decision.approve(cmd.id, cmd.by, cmd.ts);
        else this.pipeline.decision.reject(cmd.id, cmd.by, cmd.ts);
        return;
      case 'tick':
        this.pipeline.advanceTo(cmd.to);
        this.pipeline.decision.onTick(cmd.now);
        return;
      case 'failed':
        this.pipeline.decision.onExecutionResult(cmd.id, false, cmd.detail, cmd.ts);
        return;
    }
  }

  /**
   * Offered in event-time order across both lists (each keeps its own order; at one instant the
   * event first): an event stamped later than the body's first samples, offered before them,
   * would move the watermark past them.
   */
  private offer(samples: Sample[], events: ContextEvent[]): Kept {
    const kept: Kept = { samples: 0, events: 0, late: 0 };
    let i = 0;
    let j = 0;
    while (i < samples.length || j < events.length) {
      if (j < events.length && (i >= samples.length || events[j]!.ts <= samples[i]!.ts)) {
        if (this.pipeline.offerEvent(events[j++]!)) kept.events++;
        else kept.late++;
      } else if (this.pipeline.offerSample(samples[i++]!)) kept.samples++;
      else kept.late++;
    }
    return kept;
  }

  private restore(): void {
    let cp: Checkpoint | undefined;
    try {
      cp = this.readCheckpoint();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'state checkpoint unreadable: starting fresh (the file is left for inspection)');
      return;
    }
    if (cp === undefined) return;
    this.pipeline.restore(cp);
    this.walSeq = cp.walSeq ?? 0;
    this.restoredFrom = `checkpoint of ${new Date(cp.savedAt).toISOString()}`;
  }

  /** The checkpoint on disk, streamed (head line, then groups) or a single document (older ones). */
  private readCheckpoint(): Checkpoint | undefined {
    const lines = this.store.lines();
    const first = lines.next();
    if (first.done === true) return undefined;
    const head = decodeState<Checkpoint | CheckpointHead>(first.value);
    if (head.version === 1) {
      lines.return(undefined);
      return head;
    }
    const pieces = function* (): Generator<unknown> {
      for (const line of lines) yield decodeState(line);
    };
    return { version: 1, savedAt: head.savedAt, walSeq: head.walSeq, ...snapshotFromPieces(head.pipeline, pieces()) };
  }
}

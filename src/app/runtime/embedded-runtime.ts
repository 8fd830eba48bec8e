import { join } from 'node:path';
import type { HarbingerConfig } from '../../config/load.js';
import type { DetectionSnapshot } from '../../core/detection/detection-engine.js';
import type { DecisionSnapshot } from '../../core/decide/decision-engine.js';
import type { MergeSnapshot } from '../../core/merge/detection-merge.js';
import type { SeriesState } from '../../core/detection/series-state.js';
import type { ContextEvent, Sample } from '../../domain/types.js';
import type { DecisionEvent } from '../../domain/decision.js';
import { Pipeline } from '../../pipeline/pipeline.js';
import { FileStateStore } from '../../adapters/state/file-state-store.js';
import type { ServiceMetrics } from '../../adapters/http/metrics.js';
import type { Logger } from '../../adapters/log/logger.js';
import type { Kept, Runtime } from './runtime.js';

interface Checkpoint {
  version: 1;
  savedAt: number;
  detection: DetectionSnapshot;
  /** Absent in checkpoints written before the merge stage existed. */
  merge?: MergeSnapshot;
  decision: DecisionSnapshot;
}

export interface RuntimeHooks {
  /** A decision made here: the service's sinks (audit first) act on it. */
  onDecision(e: DecisionEvent): void;
  onRejected(reason: string): void;
}

/** The whole pipeline in this process, checkpointed to `state.json` in the data directory. */
export class EmbeddedRuntime implements Runtime {
  readonly kind = 'embedded' as const;
  readonly pipeline: Pipeline;
  readonly failure = undefined;
  restoredFrom = 'nothing (fresh start)';
  private readonly store: FileStateStore<Checkpoint>;
  private lastIngest = 0;

  constructor(
    private readonly cfg: HarbingerConfig,
    private readonly log: Logger,
    hooks: RuntimeHooks,
    private readonly now: () => number,
  ) {
    this.pipeline = new Pipeline(cfg, {
      output: (e) => {
        if (e.type === 'recommendation' || e.type === 'outcome' || e.type === 'incident') hooks.onDecision(e);
      },
      rejected: (_r, reason) => hooks.onRejected(reason),
    });
    this.store = new FileStateStore<Checkpoint>(join(cfg.server.dataDir, 'state.json'));
    this.restore();
  }

  get decision(): Pipeline['decision'] {
    return this.pipeline.decision;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  ingest(samples: Sample[], events: ContextEvent[]): Kept {
    const kept: Kept = { samples: 0, events: 0, late: 0 };
    for (const e of events) {
      if (this.pipeline.offerEvent(e)) kept.events++;
      else kept.late++;
    }
    for (const s of samples) {
      if (this.pipeline.offerSample(s)) kept.samples++;
      else kept.late++;
    }
    if (samples.length + events.length > 0) this.lastIngest = this.now();
    return kept;
  }

  decides(): boolean {
    return true;
  }

  exclusive<T>(fn: () => T): T {
    return fn();
  }

  afterHumanDecision(): void {}

  announce(event: ContextEvent): void {
    this.pipeline.offerEvent(event);
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
      this.pipeline.advanceTo(now - this.cfg.detection.eventTime.allowedLatenessSeconds * 1000);
      this.pipeline.decision.onTick(now);
    }
    const stats = this.pipeline.stats();
    metrics.series.set(stats.series);
    const maxTs = this.pipeline.detection.maxEventTime();
    if (Number.isFinite(maxTs)) metrics.eventTimeLag.set((now - maxTs) / 1000);
    if (Number.isFinite(stats.watermark)) metrics.watermarkLag.set((now - stats.watermark) / 1000);
  }

  checkpoint(now: number, metrics: ServiceMetrics): void {
    const t = performance.now();
    this.store.save({ version: 1, savedAt: now, ...this.pipeline.snapshot() });
    metrics.checkpointDuration.observe((performance.now() - t) / 1000);
  }

  private restore(): void {
    let cp: Checkpoint | undefined;
    try {
      cp = this.store.load();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'state checkpoint unreadable: starting fresh (the file is left for inspection)');
      return;
    }
    if (cp === undefined) return;
    this.pipeline.restore(cp);
    this.restoredFrom = `checkpoint of ${new Date(cp.savedAt).toISOString()}`;
  }
}

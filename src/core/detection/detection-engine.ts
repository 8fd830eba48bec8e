import type { ContextEvent, DetectionEvent, Sample } from '../../domain/types.js';
import type { DetectionParams } from './detection-params.js';
import { MS_PER_MIN } from '../time-units.js';
import { ContextState, type ContextSnapshot } from './context-state.js';
import type { HealthAccJSON } from './health-board.js';
import { compareStep, stepCompared, type ComparisonContext, type MetricGroup } from './metric-group.js';
import { RecentPoints, type RecentPointsReader } from './recent-points.js';
import { SampleScorer } from './sample-scorer.js';
import { SeriesRegistry } from './series-registry.js';
import type { SeriesState } from './series-state.js';
import { SloGates } from './slo-gates.js';
import { groupSnapshot, type GroupSnapshot } from './snapshot-stream.js';
import { isEvent, StepClock, type BufferSnapshot, type Item } from './step-clock.js';

/** Where the engine's output goes. Context events are passed on in event-time order too. */
export interface DetectionSink {
  detection(event: DetectionEvent): void;
  context?(event: ContextEvent): void;
  /** A record that was accepted by the parser but could not be used, with why. */
  rejected?(record: Sample | ContextEvent, reason: string): void;
}

export interface DetectionStats {
  samples: number;
  events: number;
  late: number;
  conflicts: number;
  /** Samples refused because they would have started a series past `maxSeries`. */
  limited?: number;
  series: number;
  watermark: number;
  emitted: Record<DetectionEvent['type'], number>;
}

export interface DetectionSnapshot extends ContextSnapshot {
  version: 1;
  groups: GroupSnapshot[];
  buffer: BufferSnapshot;
  /** The step index open when the checkpoint was taken (called `minute`: a step is one minute by default). */
  minute: number;
  stats: DetectionStats;
  /** The current step's health accumulators, so a mid-step checkpoint resumes exactly. */
  health?: HealthAccJSON;
  /** Per series (service|metric|stack): the step it last counted as reporting (older checkpoints). */
  reported?: Record<string, number>;
}

/**
 * The detection half of the pipeline, in event time: reorder (StepClock) → series (SeriesRegistry)
 * → seasonal baseline, two-stage threshold and breach prediction (SampleScorer) → cross-stack delta
 * per step (metric-group) → stack health per step (HealthBoard). Pure: no I/O, no wall clock.
 */
export class DetectionEngine {
  private readonly clock: StepClock;
  private readonly registry: SeriesRegistry;
  private readonly context: ContextState;
  private readonly scorer: SampleScorer;
  /** What the per-step cross-stack comparison reads. */
  private readonly comparison: ComparisonContext;
  private readonly stats: DetectionStats = {
    samples: 0,
    events: 0,
    late: 0,
    conflicts: 0,
    series: 0,
    watermark: -Infinity,
    emitted: { anomaly: 0, prediction: 0, delta: 0, recovery: 0, breach: 0, health: 0 },
  };
  /** The last points of each series, for plots (not checkpointed; see recent-points.ts). */
  private readonly recent = new RecentPoints();
  get recentPoints(): RecentPointsReader & Pick<RecentPoints, 'watch' | 'release' | 'hold'> {
    return this.recent;
  }
  private readonly emitBound = (event: DetectionEvent): void => this.emit(event);

  constructor(
    config: DetectionParams,
    private readonly sink: DetectionSink,
    /** A partitioned source sets the watermark itself (see ReorderBuffer). */
    externalWatermark = false,
    /** Active series this engine keeps at most (limits.maxSeries); samples of further series are refused. */
    maxSeries = Number.POSITIVE_INFINITY,
  ) {
    const stepMs = config.eventTime.stepSeconds * 1000;
    this.clock = new StepClock(stepMs, config.eventTime.allowedLatenessSeconds * 1000, externalWatermark, {
      item: (item) => (isEvent(item) ? this.applyContext(item) : this.process(item)),
      close: (step) => this.closeStep(step),
    });
    this.registry = new SeriesRegistry(new SloGates(config.slo.gates), config.baseline, maxSeries);
    this.context = new ContextState(config.threshold.changeWatchMinutes * MS_PER_MIN);
    this.scorer = new SampleScorer(config, this.context, this.recent, this.emitBound);
    const context = this.context;
    this.comparison = {
      config,
      stepMs,
      get shares() {
        return context.shares;
      },
      get changes() {
        return context.changes;
      },
      get explained() {
        return context.explained;
      },
    };
  }

  /** Offer a sample; returns false (and reports it) when it is later than the allowed lateness. */
  offerSample(sample: Sample): boolean {
    return this.offer(sample);
  }

  offerEvent(event: ContextEvent): boolean {
    return this.offer(event);
  }

  /**
   * The samples of `batch` that `limits.maxSeries` leaves room for (see SeriesRegistry.withinLimit):
   * for the edge to refuse the rest in its answer.
   */
  withinSeriesLimit(batch: readonly Sample[]): { kept: Sample[]; refused: number } {
    return this.registry.withinLimit(batch);
  }

  get seriesLimit(): number {
    return this.registry.maxSeries;
  }

  private offer(item: Item): boolean {
    if (this.clock.offer(item)) return true;
    this.stats.late++;
    this.sink.rejected?.(item, `late: ${new Date(item.ts).toISOString()} is behind the watermark ${new Date(this.clock.watermark).toISOString()}`);
    return false;
  }

  /** End of input: release everything buffered and close the last step. */
  flush(): void {
    this.clock.flush();
  }

  /**
   * The engine's output is complete up to here: every event it emits later has `ts` at or after
   * it (deltas and health carry the end of their step and are emitted once event time leaves
   * it). A downstream merge of several engines releases on the smallest of these.
   */
  get watermark(): number {
    return this.clock.watermark;
  }

  /** The newest event time seen (-Infinity before any). */
  maxEventTime(): number {
    return this.clock.maxEventTime;
  }

  /** External-watermark mode: the source's watermark moved; release what is due. */
  setWatermark(ts: number): void {
    this.clock.setWatermark(ts);
  }

  /** Advance event time without data (see ReorderBuffer.advance) and release what is due. */
  advanceTo(ts: number): void {
    this.clock.advanceTo(ts);
  }

  /** Everything needed to resume exactly here on another process: plain JSON. */
  snapshot(): DetectionSnapshot {
    const groups: GroupSnapshot[] = [];
    for (const g of this.registry.groups()) groups.push(groupSnapshot(g));
    return { ...this.snapshotHead(), groups };
  }

  /**
   * The same snapshot, streamed: everything but the groups now, and the groups as they are now,
   * in slices from `takeGroups` while samples keep flowing (see GroupSnapshotter). For checkpoints
   * of many series that must not stop ingest while they are written.
   */
  beginSnapshot(): Omit<DetectionSnapshot, 'groups'> {
    this.registry.beginSnapshot();
    return this.snapshotHead();
  }

  /** Up to about `max` groups of the snapshot begun, encoded; null when all are written. */
  takeGroups(max: number): string[] | null {
    return this.registry.snapshotter.take(max);
  }

  /** Abandons a streamed snapshot (a failed write). */
  endSnapshot(): void {
    this.registry.snapshotter.end();
  }

  private snapshotHead(): Omit<DetectionSnapshot, 'groups'> {
    return {
      version: 1,
      ...this.context.toJSON(),
      buffer: this.clock.toJSON(),
      minute: this.clock.step,
      stats: { ...this.getStats(), emitted: { ...this.stats.emitted } },
      health: this.registry.health.toJSON(),
    };
  }

  restore(snap: DetectionSnapshot): void {
    if (snap.version !== 1) throw new Error(`detection snapshot version ${String(snap.version)} is not supported`);
    this.registry.restore(snap.groups, snap.minute, snap.health, snap.reported);
    this.context.restore(snap);
    this.clock.restore(snap.buffer, snap.minute ?? Number.NaN);
    Object.assign(this.stats, snap.stats);
  }

  getStats(): Readonly<DetectionStats> {
    this.stats.watermark = this.clock.watermark;
    this.stats.series = this.registry.size;
    return this.stats;
  }

  /** Every series' state, for checkpoints and inspection. */
  series(): IterableIterator<SeriesState> {
    return this.registry.series();
  }

  private applyContext(event: ContextEvent): void {
    this.stats.events++;
    this.context.apply(event);
    this.sink.context?.(event);
  }

  private process(s: Sample): void {
    const step = this.clock.step;
    const runtime = this.registry.admit(s, step);
    if ('kind' in runtime) {
      if (runtime.kind === 'limit') this.stats.limited = (this.stats.limited ?? 0) + 1;
      else this.stats.conflicts++;
      this.sink.rejected?.(s, runtime.reason);
      return;
    }
    this.stats.samples++;
    const group = runtime.group;
    const firstInStep = !(Math.floor(runtime.state.lastTs / this.comparison.stepMs) === group.step);
    this.scorer.score(runtime, s, step);
    if (firstInStep && ++group.reported === group.stacks.size && group.stacks.size > 1 && !stepCompared(group, this.comparison.stepMs)) {
      const delta = compareStep(group, this.comparison, s.ts);
      if (delta !== undefined) this.emit(delta);
    }
  }

  /** Event time left the step: compare the stacks of every metric that had data, then health. */
  private closeStep(step: number): void {
    this.registry.closeStep(this.compareClosed);
    this.registry.health.close((step + 1) * this.comparison.stepMs - 1, this.emitBound);
  }

  private readonly compareClosed = (g: MetricGroup): void => {
    if (stepCompared(g, this.comparison.stepMs)) return;
    const delta = compareStep(g, this.comparison);
    if (delta !== undefined) this.emit(delta);
  };

  private emit(event: DetectionEvent): void {
    this.stats.emitted[event.type]++;
    this.sink.detection(event);
  }
}

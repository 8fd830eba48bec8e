import { SIGNALS, type Sample } from '../../domain/types.js';
import { createBaseline, reviveBaseline, type BaselineParams } from '../baseline/seasonal-baseline.js';
import { judgedPerShare } from '../context/traffic-shares.js';
import { createTrend } from '../predict/breach-predictor.js';
import { createThreshold } from '../threshold/two-stage.js';
import { HealthBoard, type HealthAccJSON } from './health-board.js';
import { newMetricGroup, type MetricGroup, type SeriesRuntime } from './metric-group.js';
import { newRelativeDeviation } from './relative-deviation.js';
import { followsLoad } from './load-following.js';
import { badDirection } from './series-direction.js';
import { emptyTally, type SeriesState } from './series-state.js';
import type { SloGates } from './slo-gates.js';
import { GroupSnapshotter, restoredRelative, type GroupSnapshot } from './snapshot-stream.js';

/** Why a sample found no series to go to. */
export interface Refusal {
  kind: 'limit' | 'conflict' | 'duplicate';
  reason: string;
}

/**
 * Every series the engine knows, grouped by service and metric (a metric's stacks are compared
 * together), with the health accumulator each reports into and the groups that have data in the
 * step now open. Creates a series on first sight, within `maxSeries`, judged by the SLO gate its
 * name matches; refuses a sample whose signal contradicts its metric's or that repeats a point.
 */
export class SeriesRegistry {
  private readonly services = new Map<string, Map<string, MetricGroup>>();
  readonly health = new HealthBoard();
  readonly snapshotter = new GroupSnapshotter();
  /** Groups with data in the open step: compared when event time leaves it. */
  readonly open: MetricGroup[] = [];
  private count = 0;

  constructor(
    private readonly gates: SloGates,
    private readonly baselineParams: BaselineParams,
    /** Active series kept at most (limits.maxSeries); samples of further series are refused. */
    readonly maxSeries: number,
  ) {}

  get size(): number {
    return this.count;
  }

  /**
   * The series `s` goes to, created on first sight, with its group opened for step `step`; or why
   * the sample is refused. The hot path: a lookup and no allocation for a known series.
   */
  admit(s: Sample, step: number): SeriesRuntime | Refusal {
    let metrics = this.services.get(s.service);
    if (this.count >= this.maxSeries && metrics?.get(s.metric)?.stacks.has(s.stack) !== true) {
      return { kind: 'limit', reason: `limit: ${this.maxSeries} active series reached (limits.maxSeries): samples of new series are refused` };
    }
    if (metrics === undefined) this.services.set(s.service, (metrics = new Map()));
    let group = metrics.get(s.metric);
    if (group === undefined) {
      group = newMetricGroup(s.service, s.metric, s.signal);
      this.snapshotter.born(group);
      metrics.set(s.metric, group);
    } else if (group.signal !== s.signal) {
      return { kind: 'conflict', reason: `signal '${s.signal}' conflicts with '${group.signal}' seen earlier for metric ${s.metric} of ${s.service}` };
    }
    this.snapshotter.touch(group);
    // Steps close in order, so a group is either open in this step or closed.
    if (!group.open) {
      group.open = true;
      group.step = step;
      group.reported = 0;
      this.open.push(group);
    }
    let runtime = group.stacks.get(s.stack);
    if (runtime === undefined) {
      runtime = this.runtimeOf(group, this.createSeries(s), Number.NaN, newRelativeDeviation());
      group.stacks.set(s.stack, runtime);
      this.count++;
    } else if (s.ts <= runtime.state.lastTs) {
      return { kind: 'duplicate', reason: `duplicate: series already has a point at or after ${new Date(runtime.state.lastTs).toISOString()}` };
    }
    return runtime;
  }

  /**
   * The samples of `batch` that `maxSeries` leaves room for: those of known series, and of as many
   * new series as there is room (counted in the batch). For the edge to refuse the rest in its
   * answer; what is still buffered is not counted, so `admit`'s own check stays.
   */
  withinLimit(batch: readonly Sample[]): { kept: Sample[]; refused: number } {
    if (this.count + batch.length <= this.maxSeries) return { kept: batch as Sample[], refused: 0 };
    let room = this.maxSeries - this.count;
    const fresh = new Set<string>();
    const kept: Sample[] = [];
    for (const s of batch) {
      if (this.services.get(s.service)?.get(s.metric)?.stacks.has(s.stack) === true) kept.push(s);
      else {
        const key = `${s.service}\u0000${s.metric}\u0000${s.stack}`;
        if (fresh.has(key)) kept.push(s);
        else if (room > 0) {
          room--;
          fresh.add(key);
          kept.push(s);
        }
      }
    }
    return { kept, refused: batch.length - kept.length };
  }

  /** Hands each group with data in the step that closed to `each`, then closes it. */
  closeStep(each: (g: MetricGroup) => void): void {
    for (const g of this.open) {
      this.snapshotter.touch(g);
      each(g);
      g.open = false;
    }
    this.open.length = 0;
  }

  *groups(): IterableIterator<MetricGroup> {
    for (const metrics of this.services.values()) yield* metrics.values();
  }

  *series(): IterableIterator<SeriesState> {
    for (const g of this.groups()) for (const r of g.stacks.values()) yield r.state;
  }

  /** Begins a streamed snapshot of every group (see GroupSnapshotter). */
  beginSnapshot(): void {
    this.snapshotter.begin(this.services);
  }

  /**
   * Replaces everything with a checkpoint's groups. `openStep` is the step open when it was taken
   * (older checkpoints carry no per-group `open`); `reported` is the older per-series form of the
   * reporting steps; `healthKnown` says whether the checkpoint has the step's health accumulators.
   */
  restore(groups: GroupSnapshot[], openStep: number, health: HealthAccJSON | undefined, reported?: Record<string, number>): void {
    this.snapshotter.end();
    this.services.clear();
    this.health.clear();
    this.open.length = 0;
    this.count = 0;
    for (const g of groups) {
      let metrics = this.services.get(g.service);
      if (metrics === undefined) this.services.set(g.service, (metrics = new Map()));
      const group: MetricGroup = {
        ...newMetricGroup(g.service, g.metric, g.signal),
        step: g.step,
        open: g.open ?? g.step === openStep,
        verdict: g.verdict,
        candidate: g.candidate,
        candidateMinutes: g.candidateMinutes,
        lastCloseTs: g.lastCloseTs ?? Number.NaN,
        anchors: g.anchors ?? {},
        changeMarks: g.changeMarks ?? {},
      };
      for (let i = 0; i < g.series.length; i++) {
        const state = g.series[i]!;
        state.baseline = reviveBaseline(state.baseline);
        this.refreshGate(state);
        const reportedStep = g.reported?.[i] ?? reported?.[`${g.service}|${g.metric}|${state.stack}`] ?? Number.NaN;
        const runtime = this.runtimeOf(group, state, reportedStep, restoredRelative(g.relative, i));
        if (health === undefined && state.threshold.phase !== 'normal') runtime.health.episodes.add(state.metric);
        group.stacks.set(state.stack, runtime);
        this.count++;
      }
      metrics.set(g.metric, group);
      if (group.open) this.open.push(group);
    }
    this.health.restore(health ?? []);
  }

  private runtimeOf(group: MetricGroup, state: SeriesState, reportedStep: number, relative: SeriesRuntime['relative']): SeriesRuntime {
    group.direction = badDirection(state.signal, state.metric, state.gate);
    // A stack joining a group its values made a volume (see SampleScorer) is one too.
    if (state.signal === 'business' && state.volume !== true && state.baseline.points === 0) {
      for (const r of group.stacks.values()) if (r.state.volume === true) state.volume = true;
    }
    const runtime: SeriesRuntime = {
      state,
      group,
      health: this.health.acc(state.service, state.stack),
      signalIndex: SIGNALS.indexOf(state.signal),
      reportedStep,
      perShare: state.signal === 'business' && judgedPerShare(state.metric, state.volume),
      followsLoad: state.signal === 'capacity' && followsLoad(state.metric),
      relative,
    };
    runtime.health.known++;
    return runtime;
  }

  /**
   * A restored series is judged by the gates configured now, not by those in force when it was
   * checkpointed (a gate added or changed must reach it); a unit it already learned from its
   * values is kept when the gate is the same.
   */
  private refreshGate(state: SeriesState): void {
    const old = state.gate;
    const fresh = this.gates.match(state.signal, state.metric) ?? null;
    if (fresh !== null && old !== null && fresh.kind === old.kind && fresh.unitFromValues === true && old.unit !== undefined && old.unitFromValues !== true) {
      fresh.limit = old.limit;
      fresh.unit = old.unit;
      fresh.unitFromValues = false;
      if (old.unitWatch === true) fresh.unitWatch = true;
    } else if (fresh !== null && old !== null && fresh.unitFromValues === true && old.unitFromValues === true) {
      fresh.unitSeen = old.unitSeen ?? 0;
      fresh.unitAbove = old.unitAbove ?? 0;
    }
    state.gate = fresh;
    if (fresh === null) state.trend = null;
    else state.trend ??= createTrend();
  }

  private createSeries(s: Sample): SeriesState {
    const gate = this.gates.match(s.signal, s.metric) ?? null;
    return {
      service: s.service,
      metric: s.metric,
      stack: s.stack,
      signal: s.signal,
      baseline: createBaseline(this.baselineParams),
      threshold: createThreshold(),
      gate,
      trend: gate === null ? null : createTrend(),
      lastTs: Number.NaN,
      lastValue: Number.NaN,
      lastExpected: Number.NaN,
      smoothedScore: 0,
      episodePoints: 0,
      episodeVolume: Number.NaN,
      noiseShare: Number.NaN,
      seasonShare: Number.NaN,
      spreadShare: Number.NaN,
      countLow: Number.POSITIVE_INFINITY,
      countHigh: Number.NEGATIVE_INFINITY,
      ...(s.signal === 'business' ? { tally: emptyTally() } : {}),
    };
  }
}

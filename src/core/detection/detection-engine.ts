import { BAD_DIRECTION, SIGNALS, type ContextEvent, type DetectionEvent, type Sample, type SloKind } from '../../domain/types.js';
import type { DetectionConfig } from '../../config/detection.js';
import { baselineDecays, createBaseline, reviveBaseline, type BaselineDecays, type BaselineParams } from '../baseline/seasonal-baseline.js';
import { Decay } from '../math/decay.js';
import { createThreshold, persistence, recheckPoints } from '../threshold/two-stage.js';
import { assessPoint, learnPoint, newAssessment } from './point-assessor.js';
import {
  createTrend,
  isBreached,
  isPastGate,
  minutesToBreach,
  rawMinutesToBreach,
  trendParams,
  updateTrend,
  type TrendParams,
} from '../predict/breach-predictor.js';
import { ReorderBuffer } from '../event-time/reorder-buffer.js';
import { followsTrafficShare, gained, TrafficShares } from '../context/traffic-shares.js';
import { ExplainedWindows } from '../context/explained-windows.js';
import { RecentChanges, watchedAfterChange } from '../context/recent-changes.js';
import type { ThresholdParams } from '../threshold/two-stage.js';
import { adaptGateToValue, SloGates } from './slo-gates.js';
import { newRelativeDeviation, trackRelative } from './relative-deviation.js';
import { GroupSnapshotter, groupSnapshot, restoredRelative, type GroupSnapshot } from './snapshot-stream.js';
import { compareStep, newMetricGroup, stepCompared, type ComparisonContext, type MetricGroup, type SeriesRuntime } from './metric-group.js';
import { HealthBoard } from './health-board.js';
import { round4 } from '../math/round.js';
import { emptyTally, type SeriesState } from './series-state.js';
import { MS_PER_MIN } from '../time-units.js';
import { RecentPoints, type RecentPointsReader } from './recent-points.js';

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

export interface DetectionSnapshot {
  version: 1;
  groups: GroupSnapshot[];
  shares: ReturnType<TrafficShares['toJSON']>;
  explained: ReturnType<ExplainedWindows['toJSON']>;
  changes?: ReturnType<RecentChanges['toJSON']>;
  buffer: { maxTs: number | null; released: number | null; items: [number, Sample | ContextEvent][] };
  minute: number;
  stats: DetectionStats;
  /** The current minute's health accumulators, so a mid-minute checkpoint resumes exactly. */
  health?: { service: string; stack: string; worst: number[]; saturation: number; reporting: number; episodes: string[] }[];
  /** Per series (service|metric|stack): the minute it last counted as reporting. */
  reported?: Record<string, number>;
}

/** Samples and events share the reorder buffer; only events have a `kind`. */
type Item = Sample | ContextEvent;
const isEvent = (item: Item): item is ContextEvent => (item as ContextEvent).kind !== undefined;
/** At one instant a context event goes before samples: a change is in force from its timestamp on. */
const rankOf = (item: Item): number => (isEvent(item) ? 0 : 1);

/**
 * The detection half of the pipeline, in event time: reorder → normalize → seasonal baseline →
 * two-stage threshold → breach prediction → cross-stack delta. Pure: no I/O, no wall clock.
 */
export class DetectionEngine {
  private buffer: ReorderBuffer<Item>;
  private readonly services = new Map<string, Map<string, MetricGroup>>();
  private shares = new TrafficShares();
  private explained = new ExplainedWindows();
  private changes: RecentChanges;
  /**
   * The thresholds a recently changed stack's series are judged by (see afterChangeWarnScore):
   * latency at the lower bound; errors also confirm on two points in a row, since a good version
   * does not raise errors, while a cold cache or JIT warm-up after any deploy does raise latency.
   */
  private readonly changeThreshold: ThresholdParams;
  private readonly changeErrorThreshold: ThresholdParams;
  private readonly gates: SloGates;
  private readonly baselineParams: BaselineParams;
  private readonly decays: BaselineDecays;
  /** The comparison and health step (one minute by default). */
  private readonly stepMs: number;
  private readonly smoothing: Decay;
  /** What the per-step cross-stack comparison reads (shares and changes are swapped on restore: a getter). */
  private get comparison(): ComparisonContext {
    return { config: this.config, stepMs: this.stepMs, shares: this.shares, changes: this.changes, explained: this.explained };
  }
  private readonly absoluteTrend: TrendParams;
  private readonly relativeTrend: TrendParams;
  /** Reused for every point: the hot path allocates nothing it does not emit. */
  private readonly assessment = newAssessment();
  private readonly stats: DetectionStats = {
    samples: 0,
    events: 0,
    late: 0,
    conflicts: 0,
    series: 0,
    watermark: -Infinity,
    emitted: { anomaly: 0, prediction: 0, delta: 0, recovery: 0, breach: 0, health: 0 },
  };
  private readonly health = new HealthBoard();
  private readonly snapshotter = new GroupSnapshotter();
  /** The last points of each series, for plots (not checkpointed; see recent-points.ts). */
  private readonly recent = new RecentPoints();
  get recentPoints(): RecentPointsReader & Pick<RecentPoints, 'watch' | 'release'> {
    return this.recent;
  }
  /** Groups with data in the current minute: compared when event time leaves the minute. */
  private openGroups: MetricGroup[] = [];
  private minute = NaN;
  private readonly releaseItem = (item: Item, ts: number): void => {
    const minute = Math.floor(ts / this.stepMs);
    if (minute !== this.minute) {
      if (this.minute === this.minute) this.closeMinute();
      this.minute = minute;
    }
    if (isEvent(item)) this.applyContext(item);
    else this.process(item);
  };

  constructor(
    private readonly config: DetectionConfig,
    private readonly sink: DetectionSink,
    /** A partitioned source sets the watermark itself (see ReorderBuffer). */
    private readonly externalWatermark = false,
    /** Active series this engine keeps at most (limits.maxSeries); samples of further series are refused. */
    private readonly maxSeries = Number.POSITIVE_INFINITY,
  ) {
    this.buffer = new ReorderBuffer<Item>(config.eventTime.allowedLatenessSeconds * 1000, externalWatermark, rankOf);
    this.gates = new SloGates(config.slo.gates);
    this.changes = new RecentChanges(config.threshold.changeWatchMinutes * MS_PER_MIN);
    const afterChange = Math.min(config.threshold.warnScore, config.threshold.afterChangeWarnScore);
    this.changeThreshold = { ...config.threshold, warnScore: afterChange };
    this.changeErrorThreshold = { ...this.changeThreshold, confirmRun: 2 };
    this.baselineParams = config.baseline;
    this.decays = baselineDecays(config.baseline);
    this.stepMs = config.eventTime.stepSeconds * 1000;
    this.smoothing = new Decay(config.delta.windowMinutes / 2);
    const p = config.prediction;
    this.absoluteTrend = trendParams(p.levelHalfLifeMinutes, p.trendHalfLifeMinutes, p.horizonMinutes);
    this.relativeTrend = trendParams(p.relativeLevelHalfLifeMinutes, p.trendHalfLifeMinutes, p.horizonMinutes);
  }

  /** Offer a sample; returns false (and reports it) when it is later than the allowed lateness. */
  offerSample(sample: Sample): boolean {
    return this.offer(sample);
  }

  /**
   * The samples of `batch` that `limits.maxSeries` leaves room for: those of known series, and of
   * as many new series as there is room (counted in the batch). For the edge to refuse the rest
   * in its answer; what is still buffered is not counted, so the engine's own check stays.
   */
  withinSeriesLimit(batch: readonly Sample[]): { kept: Sample[]; refused: number } {
    if (this.stats.series + batch.length <= this.maxSeries) return { kept: batch as Sample[], refused: 0 };
    let room = this.maxSeries - this.stats.series;
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

  get seriesLimit(): number {
    return this.maxSeries;
  }

  offerEvent(event: ContextEvent): boolean {
    return this.offer(event);
  }

  private offer(item: Item): boolean {
    if (!this.buffer.push(item.ts, item)) {
      this.stats.late++;
      this.sink.rejected?.(item, `late: ${new Date(item.ts).toISOString()} is behind the watermark ${new Date(this.buffer.watermark).toISOString()}`);
      return false;
    }
    this.drain();
    return true;
  }

  /** End of input: release everything buffered and close the last minute. */
  flush(): void {
    this.buffer.flush(this.releaseItem);
    if (this.minute === this.minute) this.closeMinute();
    this.minute = NaN;
  }

  /**
   * The engine's output is complete up to here: every event it emits later has `ts` at or after
   * it (deltas and health carry the end of their minute and are emitted once event time leaves
   * it). A downstream merge of several engines releases on the smallest of these.
   */
  get watermark(): number {
    return this.buffer.watermark;
  }

  /**
   * Release what the watermark allows, and close the minute as soon as event time has left it,
   * not only when a later sample happens to arrive: the minute's comparisons and health then
   * never wait on data, which is what lets several partitions' engines be merged by watermark.
   */
  private drain(): void {
    this.buffer.drain(this.releaseItem);
    if (this.minute === this.minute && this.buffer.watermark >= (this.minute + 1) * this.stepMs) {
      this.closeMinute();
      this.minute = NaN;
    }
  }

  /** The newest event time seen (-Infinity before any). */
  maxEventTime(): number {
    return this.buffer.maxEventTime;
  }

  /** External-watermark mode: the source's watermark moved; release what is due. */
  setWatermark(ts: number): void {
    this.buffer.raiseWatermark(ts);
    this.drain();
  }

  /** Advance event time without data (see ReorderBuffer.advance) and release what is due. */
  advanceTo(ts: number): void {
    this.buffer.advance(ts);
    this.drain();
  }

  /** Everything needed to resume exactly here on another process: plain JSON. */
  snapshot(): DetectionSnapshot {
    const groups: GroupSnapshot[] = [];
    for (const g of this.groups()) groups.push(groupSnapshot(g));
    return { ...this.snapshotHead(), groups };
  }

  /**
   * The same snapshot, streamed: everything but the groups now, and the groups as they are now,
   * in slices from `takeGroups` while samples keep flowing (see GroupSnapshotter). For checkpoints
   * of many series that must not stop ingest while they are written.
   */
  beginSnapshot(): Omit<DetectionSnapshot, 'groups'> {
    this.snapshotter.begin(this.services);
    return this.snapshotHead();
  }

  /** Up to about `max` groups of the snapshot begun, encoded; null when all are written. */
  takeGroups(max: number): string[] | null {
    return this.snapshotter.take(max);
  }

  /** Abandons a streamed snapshot (a failed write). */
  endSnapshot(): void {
    this.snapshotter.end();
  }

  private *groups(): IterableIterator<MetricGroup> {
    for (const metrics of this.services.values()) yield* metrics.values();
  }

  private snapshotHead(): Omit<DetectionSnapshot, 'groups'> {
    return {
      version: 1,
      shares: this.shares.toJSON(),
      explained: this.explained.toJSON(),
      changes: this.changes.toJSON(),
      buffer: this.buffer.toJSON(),
      minute: this.minute,
      stats: { ...this.stats, emitted: { ...this.stats.emitted } },
      health: this.health.toJSON(),
    };
  }

  restore(snap: DetectionSnapshot): void {
    if (snap.version !== 1) throw new Error(`detection snapshot version ${String(snap.version)} is not supported`);
    this.snapshotter.end();
    this.services.clear();
    this.health.clear();
    this.openGroups = [];
    for (const g of snap.groups) {
      let metrics = this.services.get(g.service);
      if (metrics === undefined) this.services.set(g.service, (metrics = new Map()));
      const group: MetricGroup = {
        ...newMetricGroup(g.service, g.metric, g.signal),
        step: g.step,
        open: g.open ?? g.step === snap.minute,
        verdict: g.verdict,
        candidate: g.candidate,
        candidateMinutes: g.candidateMinutes,
        lastCloseTs: g.lastCloseTs ?? Number.NaN,
        anchors: g.anchors ?? {},
      };
      for (let i = 0; i < g.series.length; i++) {
        const state = g.series[i]!;
        state.baseline = reviveBaseline(state.baseline);
        this.refreshGate(state);
        const runtime: SeriesRuntime = {
          state,
          health: this.health.acc(state.service, state.stack),
          signalIndex: SIGNALS.indexOf(state.signal),
          reportedMinute: g.reported?.[i] ?? snap.reported?.[`${g.service}|${g.metric}|${state.stack}`] ?? NaN,
          perShare: state.signal === 'business' && followsTrafficShare(state.metric),
          relative: restoredRelative(g.relative, i),
        };
        runtime.health.known++;
        if (snap.health === undefined && state.threshold.phase !== 'normal') runtime.health.episodes.add(state.metric);
        group.stacks.set(state.stack, runtime);
      }
      metrics.set(g.metric, group);
      if (group.open) this.openGroups.push(group);
    }
    this.health.restore(snap.health ?? []);
    this.shares = TrafficShares.fromJSON(snap.shares);
    this.explained = ExplainedWindows.fromJSON(snap.explained);
    this.changes = RecentChanges.fromJSON(this.config.threshold.changeWatchMinutes * MS_PER_MIN, snap.changes);
    this.buffer = ReorderBuffer.fromJSON<Item>(
      this.config.eventTime.allowedLatenessSeconds * 1000,
      snap.buffer as ReturnType<ReorderBuffer<Item>['toJSON']>,
      this.externalWatermark,
      rankOf,
    );
    this.minute = snap.minute ?? NaN;
    Object.assign(this.stats, snap.stats);
  }

  getStats(): Readonly<DetectionStats> {
    this.stats.watermark = this.buffer.watermark;
    return this.stats;
  }

  /** Every series' state, for checkpoints and inspection. */
  *series(): IterableIterator<SeriesState> {
    for (const metrics of this.services.values()) for (const g of metrics.values()) for (const r of g.stacks.values()) yield r.state;
  }

  private applyContext(event: ContextEvent): void {
    this.stats.events++;
    if (event.kind === 'traffic_shift') {
      // Only stacks that gained traffic warm their caches; the first split is no shift at all.
      const up = gained(this.shares.apply(event)).map((c) => c.stack);
      if (up.length > 0) this.explained.add(event, up);
    } else {
      this.explained.add(event);
      this.changes.add(event);
    }
    this.sink.context?.(event);
  }

  private process(s: Sample): void {
    if (this.stats.series >= this.maxSeries && this.services.get(s.service)?.get(s.metric)?.stacks.has(s.stack) !== true) {
      this.stats.limited = (this.stats.limited ?? 0) + 1;
      this.sink.rejected?.(s, `limit: ${this.maxSeries} active series reached (limits.maxSeries): samples of new series are refused`);
      return;
    }
    let metrics = this.services.get(s.service);
    if (metrics === undefined) this.services.set(s.service, (metrics = new Map()));
    let group = metrics.get(s.metric);
    if (group === undefined) {
      group = newMetricGroup(s.service, s.metric, s.signal);
      this.snapshotter.born(group);
      metrics.set(s.metric, group);
    } else if (group.signal !== s.signal) {
      this.stats.conflicts++;
      this.sink.rejected?.(s, `signal '${s.signal}' conflicts with '${group.signal}' seen earlier for metric ${s.metric} of ${s.service}`);
      return;
    }
    this.snapshotter.touch(group);
    // Minutes close in order (closeMinute), so a group is either open in this minute or closed.
    if (!group.open) {
      group.open = true;
      group.step = Math.floor(s.ts / this.stepMs);
      group.reported = 0;
      this.openGroups.push(group);
    }
    let runtime = group.stacks.get(s.stack);
    if (runtime === undefined) {
      runtime = {
        state: this.createSeries(s),
        health: this.health.acc(s.service, s.stack),
        signalIndex: SIGNALS.indexOf(s.signal),
        reportedMinute: NaN,
        perShare: s.signal === 'business' && followsTrafficShare(s.metric),
        relative: newRelativeDeviation(),
      };
      runtime.health.known++;
      group.stacks.set(s.stack, runtime);
      this.stats.series++;
    } else if (s.ts <= runtime.state.lastTs) {
      this.stats.conflicts++;
      this.sink.rejected?.(s, `duplicate: series already has a point at or after ${new Date(runtime.state.lastTs).toISOString()}`);
      return;
    }
    this.stats.samples++;
    const firstInStep = !(Math.floor(runtime.state.lastTs / this.stepMs) === group.step);
    this.score(runtime, s);
    if (firstInStep && ++group.reported === group.stacks.size && group.stacks.size > 1 && !stepCompared(group, this.stepMs)) {
      const delta = compareStep(group, this.comparison, s.ts);
      if (delta !== undefined) this.emit(delta);
    }
  }

  /** Event time left the minute: compare the stacks of every metric that had data, then health. */
  private closeMinute(): void {
    // Built once per minute, not per group: shares and changes are swapped on restore, so not a field.
    const comparison = this.comparison;
    for (const g of this.openGroups) {
      this.snapshotter.touch(g);
      if (!stepCompared(g, this.stepMs)) {
        const delta = compareStep(g, comparison);
        if (delta !== undefined) this.emit(delta);
      }
      g.open = false;
    }
    this.openGroups.length = 0;
    this.health.close((this.minute + 1) * this.stepMs - 1, (e) => this.emit(e));
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
      lastTs: NaN,
      lastValue: NaN,
      lastExpected: NaN,
      smoothedScore: 0,
      episodePoints: 0,
      episodeVolume: NaN,
      noiseShare: NaN,
      countLow: Number.POSITIVE_INFINITY,
      countHigh: Number.NEGATIVE_INFINITY,
      ...(s.signal === 'business' ? { tally: emptyTally() } : {}),
    };
  }

  /** Canary analysis: a changed stack's errors and latency are judged more sensitively (see changeThreshold). */
  private thresholdFor(s: Sample): ThresholdParams {
    if (!watchedAfterChange(s.signal) || !this.changes.changed(s.stack, s.service, s.ts)) return this.config.threshold;
    return s.signal === 'reliability' ? this.changeErrorThreshold : this.changeThreshold;
  }

  /** The per-sample hot path: no allocation unless something is emitted. */
  private score(runtime: SeriesRuntime, s: Sample): void {
    const series = runtime.state;
    const cfg = this.config;
    const ts = s.ts;
    const b = series.baseline;
    // Business volumes are judged per 100 % of traffic, so a traffic shift is not an anomaly
    // (ratios such as a success rate are not: they do not follow the share).
    const share = s.signal === 'business' ? this.shares.shareOf(s.stack) : undefined;
    if (share === 0) {
      // A stack that takes no traffic (the idle colour of a blue/green pair, a drained stack) has no
      // business to judge: its zeros are neither a drop nor a normal to learn, or the day it takes
      // traffic again would be judged against a baseline of nothing.
      series.lastTs = ts;
      series.lastValue = s.value;
      return;
    }
    const scale = share !== undefined && runtime.perShare && s.count === undefined ? 100 / share : 1;
    const value = s.value * scale;
    const gate = series.gate;
    if (gate !== null && (gate.unitFromValues === true || gate.unitWatch === true)) adaptGateToValue(gate, s.value);

    const threshold = this.thresholdFor(s);
    const trafficShare = s.count === undefined && s.signal !== 'capacity' ? (share ?? this.shares.shareOf(s.stack)) : undefined;
    const a = assessPoint(
      b,
      series.threshold,
      ts,
      value,
      BAD_DIRECTION[s.signal],
      cfg,
      this.assessment,
      threshold,
      s.count !== undefined ? countNoise(series, s.count) : eventCountNoise(series, s.value, scale),
      noiseScale(series, trafficShare),
    );
    const { expected, score, transition } = a;
    const ready = b.points >= cfg.baseline.minHistoryPoints;

    const th = series.threshold;
    if (th.episodeStartTs === ts) {
      series.episodePoints = 0;
      series.episodeVolume = NaN;
    }
    if (th.phase !== 'normal') {
      series.episodePoints++;
      // A business volume (orders) is its own sample size; a business ratio (a success or agreement
      // ratio) is not one: without a count it has no minimum sample to wait for.
      const volume = s.count ?? (runtime.perShare ? s.value : NaN);
      if (volume === volume) series.episodeVolume = (series.episodeVolume === series.episodeVolume ? series.episodeVolume : 0) + volume;
    }
    const dtMin = series.lastTs === series.lastTs ? (ts - series.lastTs) / MS_PER_MIN : 1;
    const gain = this.smoothing.gain(dtMin);
    series.smoothedScore += gain * (score - series.smoothedScore);
    trackRelative(runtime.relative, value, expected, a.sigma, a.cold ? Number.NaN : b.level, BAD_DIRECTION[s.signal], gain, ready);
    series.lastScore = score;
    const prevTs = series.lastTs;
    const prevValue = series.lastValue;
    series.lastTs = ts;
    series.lastValue = s.value;
    series.lastExpected = expected / scale;
    this.recent.record(series, ts, s.value, series.lastExpected, ready ? (threshold.warnScore * a.sigma) / scale : NaN);
    if (s.signal === 'business') tallyPoint(series, s.value, ready && !a.cold ? series.lastExpected : NaN, a.sigma / scale);

    const h = runtime.health;
    if (runtime.reportedMinute !== this.minute) {
      runtime.reportedMinute = this.minute;
      h.reporting++;
    }
    if (score > h.worst[runtime.signalIndex]!) h.worst[runtime.signalIndex] = score;
    if (gate !== null && gate.kind === 'saturation' && s.value / gate.limit > h.saturation) h.saturation = s.value / gate.limit;

    if (transition === 'warn' || transition === 'confirmed') {
      h.episodes.add(s.metric);
      this.emit({
        type: 'anomaly',
        ts,
        stack: s.stack,
        service: s.service,
        signal: s.signal,
        metric: s.metric,
        stage: transition,
        value: s.value,
        expected: round4(expected / scale),
        score: round4(score),
        persistence: persistence(th, cfg.threshold, series.episodePoints),
        coldStart: a.cold,
        gate: gate === null ? null : gate.kind,
      });
    } else if (transition === 'cleared') {
      h.episodes.delete(s.metric);
      this.emit({
        type: 'recovery',
        ts,
        stack: s.stack,
        service: s.service,
        signal: s.signal,
        metric: s.metric,
        episodeStartTs: th.episodeStartTs,
        peakScore: round4(th.peakScore),
      });
    }

    const learned = learnPoint(b, th, ts, value, a, cfg, this.decays, this.explained.explaining(s.stack, s.service, ts) !== undefined);
    if (learned && trafficShare !== undefined && trafficShare > 0) {
      const known = series.noiseShare;
      series.noiseShare = known === undefined || !(known > 0) ? trafficShare : known + this.decays.spread.gain(dtMin) * (trafficShare - known);
    }

    if (series.trend !== null) this.predict(series, s, value, expected, scale, ready, prevTs, prevValue);
  }

  private predict(series: SeriesState, s: Sample, value: number, expected: number, scale: number, ready: boolean, prevTs: number, prevValue: number): void {
    const gate = series.gate!;
    const trend = series.trend!;
    const cfg = gate.relative ? this.relativeTrend : this.absoluteTrend;
    if (gate.relative && !ready) return;
    const gateValue = gate.relative ? (expected !== 0 ? value / expected : 1) : s.value;
    updateTrend(trend, s.ts, gateValue, cfg, gate);
    // Being past a gate counts only when the deviation is also significant against the series' own
    // baseline, on both points that crossed it: a gate that sits inside the normal noise (a 0.1 %
    // error gate on a dependency whose failure rate wanders around 0.09 %) is crossed by noise every
    // hour, and a spike followed by an ordinary point just over it is still one spike. A relative
    // (business) gate, and an absolute gate that the series' normal is already past, need a
    // confirmed episode, since being past them is no news, getting worse is.
    // Once breached, the gate stays breached while the smoothed value is past it (hysteresis: one
    // raw point back under the limit does not end it, so a series hovering there is one breach).
    const th = series.threshold;
    const normal = expected / scale;
    const normallyPast = !gate.relative && (gate.comparator === '>' ? normal > gate.limit : normal < gate.limit);
    const holds = trend.breached && isPastGate(trend, gate);
    if (
      holds ||
      (isBreached(trend, gate) && (th.phase === 'confirmed' || (th.phase === 'warn' && (th.pointRun ?? 0) >= 2 && !gate.relative && !normallyPast)))
    ) {
      if (!trend.breached) {
        trend.breached = true;
        trend.lastBreachAt = NaN;
        this.emit({ type: 'breach', ts: s.ts, stack: s.stack, service: s.service, signal: s.signal, metric: s.metric, value: s.value, slo: sloOf(gate) });
      }
      return;
    }
    trend.breached = false;
    if (series.threshold.phase === 'normal') {
      trend.lastBreachAt = NaN;
      return;
    }
    let eta = minutesToBreach(trend, gate, cfg);
    // The smoothed trend is built to ignore noise, so it lags a fast ramp by many minutes. Inside
    // an episode of an error rate the raw points speak too: a confirmed point already past the gate
    // is a breach happening now, and a run of points beyond the bound heads for it at its own pace.
    // Errors only: a load test pushing CPU past 90 % or latency up is load, judged on the trend.
    if (!gate.relative && gate.kind === 'error_rate') {
      const raw = rawMinutesToBreach(
        gate,
        s.value,
        s.ts,
        prevValue,
        prevTs,
        series.threshold.phase === 'confirmed',
        th.pointRun ?? 0,
        recheckPoints(th, this.config.threshold),
      );
      if (raw === raw && !(eta <= raw)) eta = raw;
    }
    if (eta !== eta) return;
    const breachAt = Math.round(s.ts + eta * MS_PER_MIN);
    // Re-emit only when the forecast moved materially: by the configured shift, and by a quarter
    // of the time left, so a noisy slope does not produce a prediction every minute.
    if (trend.lastBreachAt === trend.lastBreachAt) {
      const moved = Math.abs(breachAt - trend.lastBreachAt);
      if (moved < this.config.prediction.reemitShiftMinutes * MS_PER_MIN || moved < 0.25 * (trend.lastBreachAt - s.ts)) return;
    }
    trend.lastBreachAt = breachAt;
    this.emit({
      type: 'prediction',
      ts: s.ts,
      stack: s.stack,
      service: s.service,
      signal: s.signal,
      metric: s.metric,
      breachAt,
      slo: sloOf(gate),
      value: s.value,
      slopePerMin: round4(trend.trendPerMin * (gate.relative ? series.lastExpected : 1)),
      beyondBound: (th.hits & 1) === 1,
    });
  }

  private emit(event: DetectionEvent): void {
    this.stats.emitted[event.type]++;
    this.sink.detection(event);
  }
}

/**
 * A statistic over a stack's requests (a rate, a quantile, a per-share volume) is noisier on less
 * traffic: its sd grows as 1/sqrt(volume). A stack whose share fell since its spread was learned
 * (the colour that went idle, a drained stack) is judged with the spread widened by
 * sqrt(learned share / share now), never narrowed: a stack that gained traffic keeps the wider
 * spread it learned until it relearns it (narrowing would page on every warm-up).
 */
function noiseScale(series: SeriesState, share: number | undefined): number {
  const learned = series.noiseShare;
  if (share === undefined || !(share > 0) || learned === undefined || !(learned > share)) return 1;
  return Math.sqrt(learned / share);
}

/**
 * The sampling noise of an error ratio over `count` requests (binomial, at the rate the baseline
 * expects, never below one error: a rate over fewer is all sampling noise), in the series' unit. Zero for other series: counts say how
 * much data a ratio rests on, nothing about a latency or a business rate.
 */
function countNoise(series: SeriesState, count: number): number {
  const gate = series.gate;
  if (gate === null || gate.kind !== 'error_rate' || gate.relative || !(count > 0)) return 0;
  const scale = gate.unit === 'percent' ? 100 : 1;
  const expected = series.lastExpected / scale;
  const p = Math.min(0.5, Math.max(expected === expected ? expected : 0, 1 / count));
  return Math.sqrt((p * (1 - p)) / count) * scale;
}

/**
 * A series that has only ever sent non-negative integers over a range of at least 0..2 counts
 * events (restarts, orders, queued jobs): its noise is at least Poisson's, sqrt(expected count),
 * and never below one event. A series of zeros whose learned spread is nil would otherwise read
 * two restarts as thousands of sigma. The range excludes flags and ratios that sit at 0 or 1.
 * Errors and business only: a quantile in whole milliseconds, a CPU in whole percent or a speed in
 * whole miles per hour is no count, and a floor of sqrt(45) on a CPU at 45 % would hide a rise to
 * 55 %. (Queue depths and pools in use are counts too, but capacity keeps its own spread.) `scale` is the
 * business per-share factor: the count is the raw one, the floor is in the scaled unit.
 */
function eventCountNoise(series: SeriesState, raw: number, scale: number): number {
  let low = series.countLow;
  if (low === undefined || low !== low || (series.signal !== 'reliability' && series.signal !== 'business')) return 0;
  if (raw < 0 || raw !== Math.floor(raw)) {
    series.countLow = Number.NaN;
    return 0;
  }
  let high = series.countHigh!;
  if (raw < low) series.countLow = low = raw;
  if (raw > high) series.countHigh = high = raw;
  if (high - low < 2) return 0;
  const expected = series.lastExpected; // raw units (see lastExpected)
  return Math.sqrt(expected > 1 ? expected : 1) * scale;
}

/** The gate as events report it; built only when something is emitted. */
function sloOf(gate: { kind: SloKind; limit: number; comparator: '>' | '<' }): { kind: SloKind; limit: number; comparator: '>' | '<' } {
  return { kind: gate.kind, limit: gate.limit, comparator: gate.comparator };
}

/** Add one business point to its series' running sums (see SeriesState.tally); NaN expected: not seasoned. */
function tallyPoint(series: SeriesState, observed: number, expected: number, sigma: number): void {
  const t = (series.tally ??= emptyTally());
  t.observed += observed;
  if (!(expected === expected && sigma === sigma)) return;
  t.seasonedObserved += observed;
  t.expected += expected;
  t.variance += sigma * sigma;
}

import type { DetectionEvent, EventKind, Signal, StackDeviation } from '../../domain/types.js';
import type { DetectionParams } from './detection-params.js';
import type { ExplainedWindows } from '../context/explained-windows.js';
import { watchedAfterChange, type RecentChanges } from '../context/recent-changes.js';
import type { TrafficShares } from '../context/traffic-shares.js';
import { round4 } from '../math/round.js';
import { MS_PER_MIN } from '../time-units.js';
import { judgeStacks, type DeltaVerdict, type StackInput } from './cross-stack-delta.js';
import type { StackHealthAcc } from './health-board.js';
import type { RelativeDeviation } from './relative-deviation.js';
import { badDirection } from './series-direction.js';
import type { SeriesState } from './series-state.js';

/** A series' plain state plus the engine-side references that are rebuilt, not checkpointed. */
export interface SeriesRuntime {
  state: SeriesState;
  /** The metric group the series is compared in. */
  group: MetricGroup;
  health: StackHealthAcc;
  signalIndex: number;
  /** The step this series last counted as reporting in (completeness counts series, not samples). */
  reportedStep: number;
  /** A business volume, judged per 100 % of traffic (see followsTrafficShare): from the name, or the values of a rate-named one (SeriesState.volume); not checkpointed. */
  perShare: boolean;
  /** The series' deviation as a fraction of its expected value (checkpointed with the group). */
  relative: RelativeDeviation;
  /** A capacity series whose use grows with the traffic (see followsLoad); derived from the name. */
  followsLoad: boolean;
}

/** One metric of one service across its stacks: what the cross-stack comparison judges each step. */
export interface MetricGroup {
  service: string;
  metric: string;
  signal: Signal;
  /** Which way is bad for this metric (see badDirection): from its gate or name, not checkpointed. */
  direction: 1 | -1;
  stacks: Map<string, SeriesRuntime>;
  /** The step index (event time / step length) the group last had data in. */
  step: number;
  /** Whether `step` has data and is not compared yet (it is, when event time leaves it). */
  open: boolean;
  /**
   * Stacks that have reported in `step` so far. When every known stack has, the step is compared at
   * once instead of when event time leaves it: peers scraped together need not wait out the minute.
   * Not checkpointed (a restored group compares at the minute's end, as before).
   */
  reported: number;
  /** The verdict last announced, and a candidate that must hold `stableMinutes` to replace it. */
  verdict: string;
  /**
   * The announced local verdict is one of a stack standing apart amid a platform-wide episode
   * (DeltaVerdict.amidGlobal). Not checkpointed: a restored one is withdrawn as any other.
   */
  verdictAmidGlobal?: boolean;
  candidate: string;
  /** Minutes of data the candidate has held (a step of hourly data counts 60). */
  candidateMinutes: number;
  lastCloseTs: number;
  /**
   * Per stack in an episode: every stack's baseline level when that episode began. The stack's own
   * baseline stops learning in its episode while its calm peers' keep learning, so hours into a
   * platform-wide dip their level corrections have absorbed much of it and its own none: measured
   * against the levels of the anchor, each peer's move is what it was, not what its baseline left of it.
   */
  anchors: Record<string, Anchor>;
  /**
   * Per stack that changed (deployment, rollback, config change) while the group was in an
   * episode: every stack's relative deviation when the change began. A fault the change brings
   * on top of a platform-wide episode shows as the changed stack's move since then against its
   * unchanged peers' (see apartSinceChange).
   */
  changeMarks: Record<string, ChangeMark>;
  /** The streamed snapshot this group was last written to (see GroupSnapshotter); not checkpointed. */
  savedEpoch: number;
}

export function newMetricGroup(service: string, metric: string, signal: Signal): MetricGroup {
  return {
    service,
    metric,
    signal,
    direction: badDirection(signal, metric),
    stacks: new Map(),
    step: Number.NaN,
    open: false,
    reported: 0,
    verdict: '',
    candidate: '',
    candidateMinutes: 0,
    lastCloseTs: Number.NaN,
    anchors: {},
    changeMarks: {},
    savedEpoch: 0,
  };
}

/** Every stack's relative deviation (see RelativeDeviation.dev) when one stack's change began at `from`. */
export interface ChangeMark {
  from: number;
  dev: Record<string, number>;
}

/** Every stack's baseline level (see RelativeDeviation.level) when one stack's episode began at `start`. */
export interface Anchor {
  start: number;
  level: Record<string, number>;
  /** When that episode cleared, while the anchor is kept for one that resumes it (see anchorEpisodes). */
  cleared?: number;
}

/** What the comparison reads besides the group: configuration, traffic shares, recent changes, explained windows. */
export interface ComparisonContext {
  config: DetectionParams;
  stepMs: number;
  shares: TrafficShares;
  changes: RecentChanges;
  /** Absent: no stack is left out for a perf test, chaos or maintenance on it. */
  explained?: ExplainedWindows;
}

/**
 * Events that make a stack no control for its peers while they last: it is loaded, broken or
 * worked on on purpose. A campaign or a traffic shift is not aimed at one stack's health.
 */
const ASIDE_KINDS: ReadonlySet<EventKind> = new Set<EventKind>(['perf_test', 'chaos', 'maintenance']);

type DeltaEvent = Extract<DetectionEvent, { type: 'delta' }>;

/** Whether the group's current step has been compared already (its stacks all reported early). */
export function stepCompared(group: MetricGroup, stepMs: number): boolean {
  return group.lastCloseTs === (group.step + 1) * stepMs - 1;
}

/**
 * Compare the stacks of one metric in its step: as soon as every stack has reported (`at`: the
 * time of the point that completed it), or else when event time leaves the step. Returns the
 * `delta` event when the verdict changes (after its debounce), when a global one holds as a
 * stack begins a new episode, or when a held local one lapses (see lapse); undefined otherwise;
 * updates the group's verdict state.
 */
export function compareStep(group: MetricGroup, ctx: ComparisonContext, at?: number): DeltaEvent | undefined {
  const { config, stepMs } = ctx;
  const stepEnd = (group.step + 1) * stepMs - 1;
  const stepMinutes =
    group.lastCloseTs === group.lastCloseTs ? Math.min(60, Math.max(stepMs / MS_PER_MIN, (stepEnd - group.lastCloseTs) / MS_PER_MIN)) : stepMs / MS_PER_MIN;
  group.lastCloseTs = stepEnd;
  const resumeMs = resumeWindowMs(ctx.config);
  if (group.verdict === '') {
    let any = false;
    for (const r of group.stacks.values()) if (r.state.threshold.phase !== 'normal') any = true;
    if (!any) {
      anchorEpisodes(group, stepEnd, resumeMs);
      group.changeMarks = {};
      return undefined;
    }
  }
  // An episode begun since the last comparison (anchors are checkpointed, so a restored run sees the same).
  const episodeBegan = anchorEpisodes(group, stepEnd, resumeMs);
  if (watchedAfterChange(group.signal)) markChanges(group, ctx.changes, stepEnd, stepMs);
  const staleMs = Math.max(2 * config.delta.windowMinutes * MS_PER_MIN, 3 * stepMs);
  const inputs: StackInput[] = [];
  let anyEpisode = false;
  for (const { state: series, perShare, relative } of group.stacks.values()) {
    if (stepEnd - series.lastTs > staleMs) continue;
    const inEpisode = series.threshold.phase !== 'normal';
    anyEpisode ||= inEpisode;
    const share = perShare ? ctx.shares.shareOf(series.stack) : undefined;
    // A stack confirmed in its change window is compared on its latest point, not on an average
    // that has not caught up yet: the canary verdict is about now, its unchanged peers are the control.
    // Whether the stack is in its change window: asked for errors (every stack: the peers are the
    // control, see errorCanary) and for a confirmed latency episode, not for every series every step.
    const confirmedNow = series.threshold.phase === 'confirmed' && (series.lastScore ?? 0) > series.smoothedScore;
    const changed =
      watchedAfterChange(group.signal) && (group.signal === 'reliability' || confirmedNow) && ctx.changes.changed(series.stack, group.service, stepEnd);
    const canaryNow = changed && confirmedNow;
    const aside = ctx.explained?.aimedAt(series.stack, group.service, stepEnd, ASIDE_KINDS);
    const anchor = liveAnchor(group, series.stack);
    inputs.push({
      stack: series.stack,
      score: round4(canaryNow ? series.lastScore! : series.smoothedScore),
      value: series.lastValue,
      expected: round4(series.lastExpected),
      samplesInWindow: inEpisode ? series.episodePoints : 0,
      inEpisode,
      volume: series.episodeVolume,
      episodeMinutes: inEpisode ? series.episodePoints * series.threshold.intervalMinutes : 0,
      confirmed: series.threshold.phase === 'confirmed',
      ...(series.lastScore !== undefined ? { latest: round4(series.lastScore), latestRun: series.threshold.pointRun ?? 0 } : {}),
      ...(share !== undefined ? { trafficShare: share } : {}),
      ...(relative.dev === relative.dev
        ? {
            relative: {
              dev: relative.dev,
              noise: relative.noise,
              expected: relative.expected,
              direction: group.direction,
              level: relative.level,
              ...(anchor !== undefined ? { anchor } : {}),
            },
          }
        : {}),
      ...(group.changeMarks[series.stack] !== undefined ? { sinceChange: group.changeMarks[series.stack]! } : {}),
      ...(aside !== undefined ? { aside: `${aside.kind} ${aside.id}` } : {}),
      ...(changed && group.signal === 'reliability' ? { errorCanary: true as const } : {}),
    });
  }
  if (!anyEpisode) {
    group.verdict = '';
    group.changeMarks = {};
    return undefined;
  }
  // A local verdict ends with its stack's episode, even while another stack keeps the group in
  // one: when that stack deviates again, its verdict is news again.
  if (group.verdict.startsWith('local:') && !inputs.some((i) => i.inEpisode && group.verdict === `local:${i.stack}`)) group.verdict = '';
  const verdict =
    judgeStacks(inputs, { ...config.delta, warnScore: config.threshold.warnScore }) ??
    lapse(group, inputs, config.threshold.warnScore, config.delta.globalScore);
  if (verdict === undefined) return undefined;
  const key = `${verdict.scope}:${verdict.stack ?? ''}`;
  // Debounce: near the bounds a verdict can flip minute to minute; only a stable one is news.
  // A global verdict that holds as a stack begins a new episode is news for that episode: the
  // decision reads a verdict older than an episode as one from an earlier run (it cannot see the
  // run go on), and a Saturday's orders dip, global since 05:03 while the stacks' episodes came
  // and went, left the peer of a pool exhausting at 14:00 "degraded" and nowhere to shift to.
  if (key === group.verdict) {
    group.candidate = '';
    if (!(episodeBegan && verdict.scope === 'global')) return undefined;
  } else if (!settled(group, ctx, verdict, key, inputs, stepEnd, stepMinutes)) return undefined;
  // The verdict is reset when no stack is in an episode, so a global one here is from this run.
  // A stack that stands apart while every stack still moves is no straggler of that run.
  const afterGlobal = key !== group.verdict && group.verdict.startsWith('global:') && verdict.amidGlobal !== true;
  group.verdict = key;
  group.verdictAmidGlobal = verdict.amidGlobal === true;
  group.candidate = '';
  inputs.sort((a, b) => (a.stack < b.stack ? -1 : a.stack > b.stack ? 1 : 0));
  // Stamped with the point that completed the step, or else with the end of the step, like
  // health: either way it is emitted in the call that released that time, so nothing the engine
  // emits later is older than its watermark.
  return {
    type: 'delta',
    ts: at ?? stepEnd,
    service: group.service,
    metric: group.metric,
    signal: group.signal,
    scope: verdict.scope,
    stack: verdict.stack,
    reason: verdict.reason,
    separation: round4(verdict.separation),
    stacks: inputs.map(toDeviation),
    ...(afterGlobal ? { afterGlobal: true } : {}),
    ...(verdict.lapsed === true ? { lapsed: true as const } : {}),
    ...(verdict.sinceChange !== undefined ? { sinceChange: verdict.sinceChange } : {}),
  };
}

/**
 * A held local verdict lapses once its stack is back within its bounds (its latest point under the
 * warn bound, its smoothed score under the global one) though its episode has not cleared yet:
 * what the verdict said is over, and when the stack moves again it must stand apart anew. Held, a
 * verdict formed at 10:07 on a noise blip was still the stack's at 10:12, when a platform-wide fault
 * reached that stack two minutes before its peer, and the decision shifted traffic onto the peer.
 */
function lapse(group: MetricGroup, inputs: readonly StackInput[], warnScore: number, globalScore: number): DeltaVerdict | undefined {
  if (!group.verdict.startsWith('local:')) return undefined;
  const stack = group.verdict.slice('local:'.length);
  const s = inputs.find((i) => i.stack === stack);
  if (s === undefined) return undefined;
  const latest = s.latest ?? s.score;
  if (!(latest < warnScore) || s.score >= globalScore) return undefined;
  return {
    scope: 'insufficient',
    stack: null,
    separation: 0,
    lapsed: true,
    reason: `${stack} is back within its bounds (${s.score.toFixed(1)} sigma, latest ${latest.toFixed(1)}): its local verdict lapses until it stands apart again`,
  };
}

/** Whether a verdict other than the group's has held long enough to be news (the debounce). */
function settled(
  group: MetricGroup,
  ctx: ComparisonContext,
  verdict: NonNullable<ReturnType<typeof judgeStacks>>,
  key: string,
  inputs: readonly StackInput[],
  stepEnd: number,
  stepMinutes: number,
): boolean {
  const { config } = ctx;
  if (key !== group.candidate) {
    group.candidate = key;
    group.candidateMinutes = 0;
  }
  group.candidateMinutes += stableMinutesOf(stepMinutes, verdict.scope, verdict.separation, config.delta.minSeparation, config.delta.stableMinutes);
  // A confirmed stack that changed recently, against unchanged peers, is the canary verdict:
  // it needs no debounce (the peers are the control, the change the prior).
  const canary =
    verdict.scope === 'local' &&
    watchedAfterChange(group.signal) &&
    inputs.some((i) => i.stack === verdict.stack && i.confirmed) &&
    ctx.changes.changed(verdict.stack!, group.service, stepEnd) &&
    !inputs.some((i) => i.stack !== verdict.stack && ctx.changes.changed(i.stack, group.service, stepEnd));
  // Leaving a local verdict because peers moved too is the safe direction: it withdraws a
  // culprit, it names none, so it is news at once. Debounce guards against acting, not against caution.
  // Except when only their fractions moved (their scores call them healthy): a peer's fraction near
  // the bar crosses it and back minute to minute, and each return would announce the culprit
  // anew, so that verdict holds like any other before it is news.
  // Nor when the culprit stood apart amid a platform-wide episode: every stack is many sigma off
  // there, and one point of the culprit under the warn bound, or of a peer catching up, reads
  // global again (on the imitation seeds, 33 of 84 such withdrawals were announced anew within
  // five minutes).
  const withdraws = group.verdict.startsWith('local:') && verdict.scope !== 'local' && verdict.movedAlike !== true && group.verdictAmidGlobal !== true;
  return group.candidateMinutes >= config.delta.stableMinutes || canary || withdraws;
}

/**
 * How many minutes of stability one step of this verdict is worth. Near its bound a local verdict
 * can flip step to step, so it must hold `stableMinutes`; far beyond it, flipping back would take
 * a move of many sigma, so waiting only costs lead time. Weighted by magnitude like the threshold's
 * persistence: a step at twice the minimum separation counts its own length, at 2k times it counts
 * k times that, never more than the whole debounce. A dependency failing at 35 sigma on one stack
 * with calm peers is announced in the step it is judged, not three minutes later.
 */
export function stableMinutesOf(stepMinutes: number, scope: DeltaEvent['scope'], separation: number, minSeparation: number, stableMinutes: number): number {
  if (scope !== 'local' || !(minSeparation > 0)) return stepMinutes;
  const w = separation / (2 * minSeparation);
  if (w <= 1) return stepMinutes;
  const weighted = stepMinutes * w;
  const cap = stableMinutes > stepMinutes ? stableMinutes : stepMinutes;
  return weighted < cap ? weighted : cap;
}

function toDeviation(s: StackInput): StackDeviation {
  const { inEpisode: _e, volume, episodeMinutes: _m, confirmed: _c, relative: _r, aside: _a, sinceChange: _s, latestRun: _l, errorCanary: _k, ...rest } = s;
  return volume === volume ? { ...rest, samplesInWindow: s.samplesInWindow } : rest;
}

/**
 * Marks each change that began in this step or the one before with every stack's relative
 * deviation now, and drops the marks of changes whose window has passed. A change first seen
 * later than that (the group was calm when it landed) gets none: what it moved is then measured
 * from the baseline, as every move is.
 */
function markChanges(group: MetricGroup, changes: RecentChanges, stepEnd: number, stepMs: number): void {
  for (const stack of group.stacks.keys()) {
    const from = changes.latestChange(stack, group.service, stepEnd);
    const known = group.changeMarks[stack];
    if (known !== undefined && known.from === from) continue;
    if (!(stepEnd - from <= 2 * stepMs)) {
      if (known !== undefined) delete group.changeMarks[stack];
      continue;
    }
    const dev: Record<string, number> = {};
    for (const [other, o] of group.stacks) if (o.relative.dev === o.relative.dev) dev[other] = o.relative.dev;
    group.changeMarks[stack] = { from, dev };
  }
}

/** The levels anchored at the stack's episode, unless that episode has cleared (kept only for one that resumes it). */
function liveAnchor(group: MetricGroup, stack: string): Record<string, number> | undefined {
  const a = group.anchors[stack];
  return a !== undefined && a.cleared === undefined ? a.level : undefined;
}

/**
 * How soon after an episode clears one that begins again resumes it: a quarter of the baseline
 * level's half-life, in which its level has learned under a sixth of what it missed in the episode.
 */
function resumeWindowMs(config: ComparisonContext['config']): number {
  return (config.baseline.levelHalfLifeMinutes / 4) * MS_PER_MIN;
}

/**
 * Anchors each episode that has none yet (or a newer one) with every stack's baseline level now,
 * its first comparison, and drops the anchors of stacks back to normal for `resumeMs`.
 *
 * An episode that begins again within `resumeMs` of the last one clearing resumes it, anchor and
 * all: the stack's baseline learned little in between, its peers' went on learning all the while
 * (see resumeWindowMs).
 * Held-out imitation seed 77 (a Saturday): one stack's orders were in an episode from 10:32 to
 * 18:56 while its peer's baseline followed the weekend dip; re-anchored at the 19:00 episode, the
 * peer read 4.5 % down, the stack 20 %, and its traffic was moved off it for a dip both shared.
 */
function anchorEpisodes(group: MetricGroup, now: number, resumeMs: number): boolean {
  let began = false;
  for (const [stack, r] of group.stacks) {
    const th = r.state.threshold;
    const anchor = group.anchors[stack];
    if (th.phase === 'normal') {
      if (anchor === undefined) continue;
      if (anchor.cleared === undefined) anchor.cleared = now;
      else if (now - anchor.cleared > resumeMs) delete group.anchors[stack];
      continue;
    }
    if (anchor?.start === th.episodeStartTs) continue;
    if (anchor?.cleared !== undefined && th.episodeStartTs - anchor.cleared <= resumeMs) {
      // A new episode all the same: its verdict is announced again (see compareStep).
      anchor.start = th.episodeStartTs;
      delete anchor.cleared;
      began = true;
      continue;
    }
    const level: Record<string, number> = {};
    for (const [other, o] of group.stacks) if (Number.isFinite(o.relative.level)) level[other] = o.relative.level;
    group.anchors[stack] = { start: th.episodeStartTs, level };
    began = true;
  }
  return began;
}

import type { SeriesState } from './series-state.js';
import type { Anchor, ChangeMark, MetricGroup } from './metric-group.js';
import type { Signal } from '../../domain/types.js';
import { encodeState } from '../state/json-codec.js';
import { newRelativeDeviation, type RelativeDeviation } from './relative-deviation.js';

/**
 * Encoded pieces (metric groups, load profiles) a streamed snapshot's reader takes per call: small
 * enough that a take costs well under a slice of ingest time. Shared by every writer of one.
 */
export const PIECES_PER_TAKE = 64;

/** One metric group as a checkpoint holds it. */
export interface GroupSnapshot {
  service: string;
  metric: string;
  signal: Signal;
  step: number;
  open?: boolean;
  verdict: string;
  candidate: string;
  candidateMinutes: number;
  lastCloseTs: number;
  series: SeriesState[];
  /** Each series' reporting step, in `series` order (absent in checkpoints written before streaming). */
  reported?: number[];
  /** Each series' relative deviation, in `series` order (absent in older checkpoints). */
  relative?: RelativeDeviation[];
  /** Baseline levels at the start of each stack's episode (see MetricGroup.anchors; absent in older checkpoints). */
  anchors?: Record<string, Anchor>;
  /** Deviations when a stack's change began amid an episode (see MetricGroup.changeMarks; absent in older checkpoints). */
  changeMarks?: Record<string, ChangeMark>;
}

/** Series `i`'s relative deviation from a group snapshot; unknown (NaN) in a checkpoint without one. */
export function restoredRelative(relative: GroupSnapshot['relative'], i: number): RelativeDeviation {
  const r = relative?.[i];
  return r === undefined ? newRelativeDeviation() : { ...newRelativeDeviation(), ...r };
}

export function groupSnapshot(g: MetricGroup): GroupSnapshot {
  const series: SeriesState[] = [];
  const reported: number[] = [];
  const relative: RelativeDeviation[] = [];
  for (const r of g.stacks.values()) {
    series.push(r.state);
    reported.push(r.reportedStep);
    relative.push({ ...r.relative });
  }
  return {
    service: g.service,
    metric: g.metric,
    signal: g.signal,
    step: g.step,
    open: g.open,
    verdict: g.verdict,
    candidate: g.candidate,
    candidateMinutes: g.candidateMinutes,
    lastCloseTs: g.lastCloseTs,
    series,
    reported,
    relative,
    anchors: structuredClone(g.anchors),
    changeMarks: structuredClone(g.changeMarks),
  };
}

/**
 * A consistent snapshot of every metric group, taken in slices while samples keep flowing: the
 * state as of `begin`, without stopping ingest to serialize a million series at once.
 *
 * Copy-on-write at the group: the engine calls `touch` before it changes a group, and a group
 * that is still waiting to be written is written first, as it was. Groups created after `begin`
 * are not in the snapshot (the commands that created them come after its log position). The
 * price on the hot path is one comparison per sample.
 */
export class GroupSnapshotter {
  private epoch = 0;
  private active = false;
  /** Live iterators over the engine's groups: O(1) to begin, whatever the series count. */
  private outer: Iterator<Map<string, MetricGroup>> | undefined;
  private inner: Iterator<MetricGroup> | undefined;
  private early: string[] = [];

  /**
   * `services`: the engine's groups by service and metric, iterated as the snapshot goes. Map
   * iterators are live: a group added meanwhile is visited too, but `born` marked it as not part
   * of this snapshot; groups are never removed while one is taken (a restore ends it first).
   */
  begin(services: Map<string, Map<string, MetricGroup>>): void {
    if (this.active) throw new Error('a snapshot is already being taken');
    this.epoch++;
    this.active = true;
    this.outer = services.values();
    this.inner = undefined;
    this.early = [];
  }

  private nextGroup(): MetricGroup | undefined {
    for (;;) {
      const g = this.inner?.next();
      if (g !== undefined && g.done !== true) return g.value;
      const m = this.outer?.next();
      if (m === undefined || m.done === true) return undefined;
      this.inner = m.value.values();
    }
  }

  /** A new group, born after `begin`: not part of the snapshot in progress. */
  born(g: MetricGroup): void {
    g.savedEpoch = this.active ? this.epoch : 0;
  }

  /** Before a group changes: if the snapshot still needs it, it is written now, unchanged. */
  touch(g: MetricGroup): void {
    if (this.active && g.savedEpoch !== this.epoch) {
      g.savedEpoch = this.epoch;
      this.early.push(encodeState(groupSnapshot(g)));
    }
  }

  /** Up to about `max` encoded groups (one JSON text each), or null once every group is written. */
  take(max: number): string[] | null {
    if (!this.active) return null;
    const out = this.early;
    this.early = [];
    let exhausted = false;
    while (out.length < max) {
      const g = this.nextGroup();
      if (g === undefined) {
        exhausted = true;
        break;
      }
      if (g.savedEpoch === this.epoch) continue;
      g.savedEpoch = this.epoch;
      out.push(encodeState(groupSnapshot(g)));
    }
    if (out.length === 0 && exhausted) {
      this.end();
      return null;
    }
    return out;
  }

  /** Stops (a finished or abandoned snapshot): the hot path stops copying. */
  end(): void {
    this.active = false;
    this.outer = undefined;
    this.inner = undefined;
    this.early = [];
  }

  get inProgress(): boolean {
    return this.active;
  }
}

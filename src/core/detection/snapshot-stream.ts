import type { SeriesState } from './series-state.js';
import type { MetricGroup } from './metric-group.js';
import type { Signal } from '../../domain/types.js';
import { encodeState } from '../state/json-codec.js';

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
  /** Each series' reporting minute, in `series` order (absent in checkpoints written before streaming). */
  reported?: number[];
}

export function groupSnapshot(g: MetricGroup): GroupSnapshot {
  const series: SeriesState[] = [];
  const reported: number[] = [];
  for (const r of g.stacks.values()) {
    series.push(r.state);
    reported.push(r.reportedMinute);
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
  private queue: MetricGroup[] = [];
  private next = 0;
  private early: string[] = [];

  begin(groups: Iterable<MetricGroup>): void {
    if (this.active) throw new Error('a snapshot is already being taken');
    this.epoch++;
    this.active = true;
    this.queue = [...groups];
    this.next = 0;
    this.early = [];
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
    while (out.length < max && this.next < this.queue.length) {
      const g = this.queue[this.next++]!;
      if (g.savedEpoch === this.epoch) continue;
      g.savedEpoch = this.epoch;
      out.push(encodeState(groupSnapshot(g)));
    }
    if (out.length === 0 && this.next >= this.queue.length) {
      this.end();
      return null;
    }
    return out;
  }

  /** Stops (a finished or abandoned snapshot): the hot path stops copying. */
  end(): void {
    this.active = false;
    this.queue = [];
    this.early = [];
  }

  get inProgress(): boolean {
    return this.active;
  }
}

import type { SeriesState } from './series-state.js';

/**
 * The last points of each series, kept for plots (the on-call view, `replay --report`): time,
 * value, expected and the warn band, in the units the user sent. Not checkpointed: a restart
 * loses the plot window, not a decision.
 *
 * Memory, why two sizes: every series keeps a small ring (BASE_POINTS, 16 bytes a point: 0.5 KB
 * beside the ~3.7 KB of detection state) so that the window *before* an onset exists when an
 * incident opens; while a service has an open incident, and for LINGER_MS after its last one
 * resolved, its series keep WATCHED_POINTS (3.8 KB each). A ring for all series at the larger
 * size would double the state's memory for plots nobody looks at.
 *
 * Pure and event-time: `record` is on the per-sample hot path (three map lookups, no allocation
 * unless a series is new or its ring changes size).
 */

/** 32 minutes at a one-minute step: the run-up before an incident opens. */
export const BASE_POINTS = 32;
/** 4 hours at a one-minute step around an incident. */
export const WATCHED_POINTS = 240;
/** A resolved incident's series stay long for an hour, so "recent" incidents can still be plotted. */
export const LINGER_MS = 3_600_000;
/** 2^24 s: the integers a Float32 holds exactly. */
const MAX_OFFSET_S = 16_777_216;

/** What a plot needs of one series; NaN band: the baseline has too little history to draw one. */
export interface SeriesWindow {
  service: string;
  metric: string;
  stack: string;
  signal: SeriesState['signal'];
  gate: { kind: string; limit: number; comparator: '>' | '<'; relative: boolean } | null;
  ts: number[];
  value: number[];
  expected: number[];
  /** expected ∓ warnScore·σ; null where there is no band (cold baseline). */
  lower: (number | null)[];
  upper: (number | null)[];
}

/**
 * A ring of points in one Float32Array (one allocation: per-array overhead is most of a small
 * ring's cost): [t, value, expected, band] per point, t in seconds after `base`, exact in a
 * Float32 for 194 days, rebased when a point lies beyond that. Values need no more than 7 digits in a plot.
 */
class Ring {
  series: SeriesIdentity;
  private readonly v: Float32Array;
  private base = NaN;
  private next = 0;
  size = 0;

  constructor(
    series: SeriesIdentity,
    readonly capacity: number,
  ) {
    this.series = series;
    this.v = new Float32Array(capacity * 4);
  }

  push(ts: number, value: number, expected: number, band: number): void {
    const sec = Math.floor(ts / 1000);
    if (this.base !== this.base) this.base = sec;
    else if (sec - this.base >= MAX_OFFSET_S) this.rebase(sec);
    const i = this.next * 4;
    this.v[i] = sec - this.base;
    this.v[i + 1] = value;
    this.v[i + 2] = expected;
    this.v[i + 3] = band;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    if (this.size < this.capacity) this.size++;
  }

  private rebase(sec: number): void {
    const shift = sec - this.base;
    for (let k = 0; k < this.size; k++) this.v[this.index(k) * 4] = this.v[this.index(k) * 4]! - shift;
    this.base = sec;
  }

  private tsAt(i: number): number {
    return (this.base + this.v[i * 4]!) * 1000;
  }

  /** The newest `capacity` points in a ring of another size, oldest first. */
  resized(capacity: number): Ring {
    const r = new Ring(this.series, capacity);
    const n = this.size < capacity ? this.size : capacity;
    for (let k = this.size - n; k < this.size; k++) {
      const i = this.index(k);
      r.push(this.tsAt(i), this.v[i * 4 + 1]!, this.v[i * 4 + 2]!, this.v[i * 4 + 3]!);
    }
    return r;
  }

  /**
   * Points at or after `sinceTs`: how many, their sum, and how many are beyond `above`: above it, or
   * with `below` under it (a success rate's dips). No allocation; written into `out`.
   */
  since(sinceTs: number, above: number, out: { n: number; sum: number; above: number }, below = false): void {
    out.n = 0;
    out.sum = 0;
    out.above = 0;
    const since = Math.floor(sinceTs / 1000) - this.base;
    for (let k = this.size - 1; k >= 0; k--) {
      const i = this.index(k);
      if (this.v[i * 4]! < since) break;
      const v = this.v[i * 4 + 1]!;
      out.n++;
      out.sum += v;
      if (below ? v < above : v > above) out.above++;
    }
  }

  private index(k: number): number {
    return (this.next - this.size + k + this.capacity) % this.capacity;
  }

  window(): SeriesWindow {
    const s = this.series;
    const out: SeriesWindow = {
      service: s.service,
      metric: s.metric,
      stack: s.stack,
      signal: s.signal,
      gate: s.gate === null ? null : { kind: s.gate.kind, limit: s.gate.limit, comparator: s.gate.comparator, relative: s.gate.relative === true },
      ts: [],
      value: [],
      expected: [],
      lower: [],
      upper: [],
    };
    for (let k = 0; k < this.size; k++) {
      const i = this.index(k);
      const expected = this.v[i * 4 + 2]!;
      const band = this.v[i * 4 + 3]!;
      out.ts.push(this.tsAt(i));
      out.value.push(this.v[i * 4 + 1]!);
      out.expected.push(expected);
      out.lower.push(band === band ? expected - band : null);
      out.upper.push(band === band ? expected + band : null);
    }
    return out;
  }
}

interface ServiceRings {
  metrics: Map<string, Map<string, Ring>>;
  /** Incidents open on the service (any stack): its series keep the larger ring. */
  open: Set<string>;
  /** Event time until which the larger ring is kept after the last incident resolved. */
  lingerUntil: number;
}

/** Read-only face for the HTTP port and the report. */
export interface RecentPointsReader {
  /** Every series of `service` (all stacks), optionally only `metrics`. */
  windows(service: string, metrics?: readonly string[]): SeriesWindow[];
}

export class RecentPoints implements RecentPointsReader {
  private readonly services = new Map<string, ServiceRings>();

  constructor(
    private readonly basePoints = BASE_POINTS,
    private readonly watchedPoints = WATCHED_POINTS,
  ) {}

  /** One scored point. `band`: warnScore·σ in the user's units, NaN when there is none. */
  record(series: SeriesState, ts: number, value: number, expected: number, band: number): void {
    let svc = this.services.get(series.service);
    if (svc === undefined) this.services.set(series.service, (svc = { metrics: new Map(), open: new Set(), lingerUntil: -Infinity }));
    let stacks = svc.metrics.get(series.metric);
    if (stacks === undefined) svc.metrics.set(series.metric, (stacks = new Map()));
    const want = svc.open.size > 0 || ts <= svc.lingerUntil ? this.watchedPoints : this.basePoints;
    let ring = stacks.get(series.stack);
    if (ring === undefined) stacks.set(series.stack, (ring = new Ring(series, want)));
    else if (ring.capacity !== want) stacks.set(series.stack, (ring = ring.resized(want)));
    // A restored engine has new state objects under the same names: plots follow the live one.
    ring.series = series;
    ring.push(ts, value, expected, band);
  }

  /** The series' recorded points since `sinceTs` (see Ring.since); zeros when it has none. */
  since(series: SeriesState, sinceTs: number, above: number, out: { n: number; sum: number; above: number }, below = false): void {
    const ring = this.services.get(series.service)?.metrics.get(series.metric)?.get(series.stack);
    if (ring !== undefined) ring.since(sinceTs, above, out, below);
    else out.n = out.sum = out.above = 0;
  }

  /** An incident opened on the service: its series (all stacks: the peers are the control) keep more points. */
  watch(service: string, incidentId: string): void {
    let svc = this.services.get(service);
    if (svc === undefined) this.services.set(service, (svc = { metrics: new Map(), open: new Set(), lingerUntil: -Infinity }));
    svc.open.add(incidentId);
  }

  /** The incident resolved at `ts`: the larger rings stay for LINGER_MS after the service's last one. */
  release(service: string, incidentId: string, ts: number): void {
    const svc = this.services.get(service);
    if (svc === undefined || !svc.open.delete(incidentId)) return;
    if (svc.open.size === 0) svc.lingerUntil = ts + LINGER_MS;
  }

  windows(service: string, metrics?: readonly string[]): SeriesWindow[] {
    return windowsOf(this.rings(service, metrics));
  }

  /**
   * The series' points as they are now, kept apart from the rings (which move on): a resolved
   * incident's plot. Held as trimmed copies of the rings (16 bytes a point), drawn only when read:
   * as SeriesWindow arrays, with nulls in the bands, a held window costs three to five times that.
   */
  hold(service: string, metrics?: readonly string[]): HeldWindows {
    const rings = this.rings(service, metrics)
      .filter((r) => r.size > 0)
      .map((r) => {
        const held = r.resized(r.size);
        // What the plot draws of the series as it was, not the live state (which a held plot would keep alive).
        const { service, metric, stack, signal, gate } = r.series;
        held.series = { service, metric, stack, signal, gate: gate === null ? null : { ...gate } };
        return held;
      });
    return { windows: () => windowsOf(rings) };
  }

  private rings(service: string, metrics: readonly string[] | undefined): Ring[] {
    const svc = this.services.get(service);
    if (svc === undefined) return [];
    const out: Ring[] = [];
    for (const [metric, stacks] of svc.metrics) {
      if (metrics !== undefined && !metrics.includes(metric)) continue;
      for (const ring of stacks.values()) out.push(ring);
    }
    return out;
  }
}

/** What a ring draws of its series (see Ring.window). */
type SeriesIdentity = Pick<SeriesState, 'service' | 'metric' | 'stack' | 'signal' | 'gate'>;

/** Series windows kept as they were when taken (see RecentPoints.hold). */
export interface HeldWindows {
  windows(): SeriesWindow[];
}

function windowsOf(rings: readonly Ring[]): SeriesWindow[] {
  return rings.map((r) => r.window()).sort((a, b) => (a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : a.stack < b.stack ? -1 : a.stack > b.stack ? 1 : 0));
}

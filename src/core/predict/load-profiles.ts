import type { SloGateParams } from '../detection/detection-params.js';
import type { Sample } from '../../domain/types.js';
import {
  baselineDecays,
  createBaseline,
  expectedAt,
  forecast,
  isCold,
  learn,
  reviveBaseline,
  sigmaAt,
  type BaselineDecays,
  type BaselineParams,
  type BaselineState,
} from '../baseline/seasonal-baseline.js';
import { followsTrafficShare, revealsVolume } from '../context/traffic-shares.js';
import { adaptGateToValue, SloGates } from '../detection/slo-gates.js';
import { Decay } from '../math/decay.js';
import { encodeState } from '../state/json-codec.js';
import type { SloGate } from './breach-predictor.js';

/**
 * What a stack's load looks like over the day, for the look-ahead of scheduled events: the seasonal
 * baseline of its traffic (a business volume such as orders per minute, learned per 100 % of the
 * traffic like the detection's business baselines), and for every saturation-gated series how it
 * follows that traffic: utilisation = a + b × traffic (as a fraction of its gate), an exponentially
 * weighted least-squares line. The intercept is what does not scale with traffic (a CPU's idle
 * floor, a memory that sits at 0.55 whatever the load); scaling the whole utilisation by the
 * multiplier instead would read every flat memory series as saturated by any campaign.
 *
 * Plain serializable state; event time only. Learned from samples as they arrive (the decision
 * engine is handed what the detection accepted), skipping windows a test or campaign explains.
 */

export interface LoadProfileParams {
  baseline: BaselineParams;
  gates: readonly SloGateParams[];
}

interface Line {
  /** Exponentially weighted means, variance and covariance of (traffic, utilisation of gate). */
  n: number;
  mx: number;
  my: number;
  vxx: number;
  cxy: number;
  lastTs: number;
}

export interface SaturationProfile {
  metric: string;
  gate: SloGate;
  /**
   * The utilisation's own seasonal baseline (as a fraction of its gate): the model when the stack
   * has no traffic series. Null once the traffic's baseline has seen every time of day: from then
   * on the line in the traffic is the model, and the copy (~2 KB a series) would only be kept warm.
   */
  own: BaselineState | null;
  line: Line;
}

export interface StackProfile {
  service: string;
  stack: string;
  /** The business volume taken as the stack's traffic, learned per 100 % of traffic; null until one is seen. */
  traffic: { metric: string; baseline: BaselineState; lastTs: number; lastValue: number } | null;
  saturation: Record<string, SaturationProfile>;
}

/** Utilisation of a gate as a line in the stack's traffic at its current share: a + b × traffic. */
export interface LoadLine {
  metric: string;
  a: number;
  b: number;
}

/** Encoded text per snapshot take (see LoadProfiles.take): a few milliseconds of encoding. */
const TAKE_CHARS = 256 * 1024;

/** Traffic that varies less than this fraction of its mean gives a slope no leverage (see `linesOf`). */
const MIN_TRAFFIC_VARIATION = 0.1;

export class LoadProfiles {
  /** Every profile in the order it was first seen (what a checkpoint holds). */
  private inOrder: StackProfile[] = [];
  /** The same profiles by service, then stack: the per-sample lookup. */
  private lookup = new Map<string, Map<string, StackProfile>>();
  private readonly gates: SloGates;
  private readonly lineDecay: Decay;
  /**
   * A snapshot being streamed (see beginSnapshot): the profiles that existed when it began
   * (`inOrder` up to `end`), the next to write, those already written, and those written early
   * because they were about to change.
   */
  private streaming: { next: number; end: number; written: WeakSet<StackProfile>; early: string[] } | undefined;

  constructor(private readonly params: LoadProfileParams) {
    this.gates = new SloGates(params.gates);
    // The line forgets as slowly as the seasonal profile does (its half-life in seasons of the
    // shortest season): both describe the same days.
    const season = params.baseline.seasons[0]!;
    this.lineDecay = new Decay(params.baseline.seasonalHalfLifeSeasons * season.minutes);
  }

  private add(p: StackProfile): void {
    // Born after a streamed snapshot began: not part of it (the samples that made it come later in the log).
    this.streaming?.written.add(p);
    this.inOrder.push(p);
    let byStack = this.lookup.get(p.service);
    if (byStack === undefined) this.lookup.set(p.service, (byStack = new Map()));
    byStack.set(p.stack, p);
  }

  /** `share`: the stack's traffic share in percent now, when known. `explained`: a test or campaign covers it. */
  learn(s: Sample, share: number | undefined, explained: boolean): void {
    if (s.signal !== 'capacity' && s.signal !== 'business') return;
    if (explained || !Number.isFinite(s.value)) return;
    let p = this.lookup.get(s.service)?.get(s.stack);
    if (p === undefined) {
      p = { service: s.service, stack: s.stack, traffic: null, saturation: {} };
      this.add(p);
    } else if (this.streaming !== undefined) this.touch(p);
    if (s.signal === 'business') {
      // A volume by name, or a rate-named one whose value no ratio reaches.
      if (p.traffic === null && (followsTrafficShare(s.metric) || revealsVolume(s.metric, s.value)))
        p.traffic = { metric: s.metric, baseline: createBaseline(this.params.baseline), lastTs: NaN, lastValue: NaN };
      if (p.traffic?.metric !== s.metric) return;
      learnPoint(p.traffic.baseline, s.ts, (s.value * 100) / (share ?? 100), this.params.baseline);
      p.traffic.lastTs = s.ts;
      p.traffic.lastValue = s.value;
      return;
    }
    let sat = p.saturation[s.metric];
    if (sat === undefined) {
      const gate = this.gates.match(s.signal, s.metric);
      if (gate === undefined || gate.kind !== 'saturation') return;
      sat = p.saturation[s.metric] = {
        metric: s.metric,
        gate,
        own: createBaseline(this.params.baseline),
        line: { n: 0, mx: 0, my: 0, vxx: 0, cxy: 0, lastTs: NaN },
      };
    }
    adaptGateToValue(sat.gate, s.value);
    const u = s.value / sat.gate.limit;
    const t = p.traffic;
    if (sat.own !== null) {
      // Checked once per bucket of the season, not per sample: it scans the season's buckets.
      if (t !== null && sat.line.n >= 2 && sat.line.mx > 0 && enteredBucket(t.baseline, sat.line.lastTs, s.ts) && seenAllDay(t.baseline, s.ts)) sat.own = null;
      else learnPoint(sat.own, s.ts, u, this.params.baseline);
    }
    // Pair with the traffic of the same or the previous step (series of one stack are scraped together).
    if (t !== null && Math.abs(s.ts - t.lastTs) <= 2 * 60_000) this.learnLine(sat.line, s.ts, t.lastValue, u);
  }

  private learnLine(l: Line, ts: number, x: number, y: number): void {
    const dtMin = l.n === 0 ? 1 : Math.max((ts - l.lastTs) / 60_000, 1e-3);
    const g = Math.max(1 / ++l.n, this.lineDecay.gain(dtMin));
    const dx = x - l.mx;
    const dy = y - l.my;
    l.mx += g * dx;
    l.my += g * dy;
    l.vxx = (1 - g) * (l.vxx + g * dx * dx);
    l.cxy = (1 - g) * (l.cxy + g * dx * dy);
    l.lastTs = ts;
  }

  profiles(service: string): StackProfile[] {
    return this.inOrder.filter((p) => p.service === service).sort((a, b) => (a.stack < b.stack ? -1 : 1));
  }

  services(): string[] {
    return [...this.lookup.keys()].sort();
  }

  toJSON(): StackProfile[] {
    return [...this.inOrder];
  }

  /**
   * A consistent snapshot of every profile, handed out in slices by `take` while samples keep
   * being learned: copy-on-write per profile, as the detection's metric groups are (see
   * GroupSnapshotter). A checkpoint's head once held them all: at 100,000 series with 25
   * saturation-gated metrics a service, 44 MB encoded in one call, a 240 ms pause of ingest.
   */
  beginSnapshot(): void {
    this.streaming = { next: 0, end: this.inOrder.length, written: new WeakSet(), early: [] };
  }

  /** Before a profile changes: if the snapshot still needs it, it is written now, unchanged. */
  private touch(p: StackProfile): void {
    const s = this.streaming!;
    if (s.written.has(p)) return;
    s.written.add(p);
    s.early.push(encodeState(p));
  }

  /**
   * Up to about `max` encoded profiles and `maxChars` of text, or null once every one is written
   * (the snapshot then ends). A profile holds a baseline per saturation-gated metric of its stack
   * (22 KB with 25 of them), so the text, not the count, keeps a take inside a slice.
   */
  take(max: number, maxChars = TAKE_CHARS): string[] | null {
    const s = this.streaming;
    if (s === undefined) return null;
    const out = s.early;
    s.early = [];
    let chars = 0;
    while (out.length < max && chars < maxChars && s.next < s.end) {
      const p = this.inOrder[s.next++]!;
      if (s.written.has(p)) continue;
      s.written.add(p);
      const text = encodeState(p);
      chars += text.length;
      out.push(text);
    }
    if (out.length === 0 && s.next >= s.end) {
      this.streaming = undefined;
      return null;
    }
    return out;
  }

  /** Stops a snapshot (finished or abandoned): learning stops copying. */
  endSnapshot(): void {
    this.streaming = undefined;
  }

  restore(list: readonly StackProfile[]): void {
    this.streaming = undefined;
    this.inOrder = [];
    this.lookup = new Map();
    for (const p of list) this.add(revived(structuredClone(p)));
  }
}

/** A profile's baselines in the current layout (see reviveBaseline): a checkpoint may be older. */
function revived(p: StackProfile): StackProfile {
  if (p.traffic !== null) p.traffic.baseline = reviveBaseline(p.traffic.baseline);
  for (const sat of Object.values(p.saturation)) if (sat.own !== null) sat.own = reviveBaseline(sat.own);
  return p;
}

/** Reused by every learnPoint (single-threaded, never held across calls): no allocation per sample. */
const scratch = { expected: 0, cold: true };

function learnPoint(b: BaselineState, ts: number, value: number, params: BaselineParams): void {
  const f = scratch;
  forecast(b, ts, f);
  learn(b, ts, value, f.expected, sigmaAt(b, f.expected, params, ts), f.cold, params, decaysFor(params));
}

/** Decay gains per parameter set (one set per engine: built once, reused). */
const decayCache = new WeakMap<BaselineParams, BaselineDecays>();
function decaysFor(params: BaselineParams): BaselineDecays {
  let d = decayCache.get(params);
  if (d === undefined) decayCache.set(params, (d = baselineDecays(params)));
  return d;
}

/**
 * The stack's traffic expected at `ts` at a share of `share` percent (the current one when it is
 * known), or undefined while the seasonal baseline has not seen that time of day. With no traffic
 * series, undefined.
 */
export function trafficAt(p: StackProfile, ts: number, share: number | undefined): number | undefined {
  if (p.traffic === null || isCold(p.traffic.baseline, ts)) return undefined;
  return (expectedAt(p.traffic.baseline, ts) * (share ?? 100)) / 100;
}

/**
 * Each saturation series as a line in the stack's traffic. When the traffic barely moved over the
 * learned days (less than MIN_TRAFFIC_VARIATION of its mean) the slope is noise, and utilisation is
 * taken as proportional to traffic (a = 0: the dependency check's own assumption, and the
 * conservative one). A negative slope is noise too (more traffic never frees capacity): flat.
 */
export function linesOf(p: StackProfile): LoadLine[] {
  const out: LoadLine[] = [];
  for (const s of Object.values(p.saturation)) {
    const l = s.line;
    if (l.n < 2 || l.mx <= 0) continue;
    const spread = Math.sqrt(Math.max(l.vxx, 0));
    if (spread < MIN_TRAFFIC_VARIATION * l.mx) out.push({ metric: s.metric, a: 0, b: l.my / l.mx });
    else {
      const b = Math.max(0, l.cxy / l.vxx);
      out.push({ metric: s.metric, a: l.my - b * l.mx, b });
    }
  }
  return out;
}

/** A saturation series' own seasonal expectation at `ts` (fraction of its gate), or undefined while cold. */
export function ownAt(s: SaturationProfile, ts: number): number | undefined {
  return s.own === null || isCold(s.own, ts) ? undefined : expectedAt(s.own, ts);
}

/** Whether `ts` lies in another bucket of `b`'s shortest season than `prevTs` (always, without a season). */
function enteredBucket(b: BaselineState, prevTs: number, ts: number): boolean {
  const ms = (b.seasons[0]?.bucketMinutes ?? 0) * 60_000;
  return !(ms > 0) || Math.floor(prevTs / ms) !== Math.floor(ts / ms);
}

/** Whether `b`'s shortest season has a whole season behind it at `ts` and a point in every bucket: it is warm at any time of day. */
function seenAllDay(b: BaselineState, ts: number): boolean {
  const season = b.seasons[0];
  if (season === undefined || !(ts - b.firstTs >= season.minutes * 60_000)) return false;
  for (let i = season.offset; i < season.offset + season.buckets; i++) if (b.counts[i] === 0) return false;
  return true;
}

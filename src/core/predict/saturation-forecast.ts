import { linesOf, ownAt, trafficAt, type StackProfile } from './load-profiles.js';
import type { ScheduledEvent } from './scheduled-events.js';

/**
 * One stack's outlook for a scheduled event: its load during the event window is the seasonal
 * baseline of its traffic at those times × the multiplier (its share unchanged), and each
 * saturation series follows as a + b × traffic (load-profiles.ts). Everything is a fraction of the
 * series' SLO gate, so 1 is the gate and `limit` (`guardrails.maxTargetSaturation`) the headroom the
 * dependency check already keeps in front of it. Pure.
 */
export interface StackOutlook {
  stack: string;
  /** The series that comes closest to its limit during the event. */
  metric: string;
  peakOfGate: number;
  peakAt: number;
  /** The first forecast point at or past the gate itself (null: it stays under it). */
  crossesAt: number | null;
  /** That series' peak over the same window without the event. */
  baselineOfGate: number;
  /** Capacity, as a multiple of today's, that keeps every series under the limit (Infinity: none would). */
  capacityFactor: number;
  /** Points of traffic share to move away so that every series stays under the limit (0: it fits). */
  shedPoints: number;
  /** Points of share the stack could take on and still stay under the limit for the whole event. */
  roomPoints: number;
  /** Fraction of the window the baselines had learned (the forecast's confidence). */
  coverage: number;
}

export interface OutlookParams {
  /** Fraction of the gate to stay under (`guardrails.maxTargetSaturation`). */
  limit: number;
  /** Time between forecast points (the seasonal bucket: the profile cannot say more). */
  stepMs: number;
  /** The window is looked at for at most this long (the longest season: after it the profile repeats). */
  maxWindowMs: number;
}

/** A stack's utilisation terms at one time: a + b × load, where load is traffic (or the series' own level). */
interface Term {
  metric: string;
  a: number;
  b: number;
  load: number;
}

/** `multiplier`: the traffic factor this stack sees (1 for a stack an aimed event leaves alone). */
export function outlookOf(p: StackProfile, ev: ScheduledEvent, multiplier: number, share: number | undefined, o: OutlookParams): StackOutlook | undefined {
  const lines = linesOf(p);
  const end = Math.min(ev.endTs, ev.startTs + o.maxWindowMs);
  let steps = 0;
  let covered = 0;
  const out: StackOutlook = {
    stack: p.stack,
    metric: '',
    peakOfGate: -Infinity,
    peakAt: ev.startTs,
    crossesAt: null,
    baselineOfGate: -Infinity,
    capacityFactor: 1,
    shedPoints: 0,
    roomPoints: Infinity,
    coverage: 0,
  };
  const baseByMetric = new Map<string, number>();
  for (let t = ev.startTs; t <= end; t += o.stepMs) {
    steps++;
    const terms = termsAt(p, lines, t, share);
    if (terms.length === 0) continue;
    covered++;
    for (const x of terms) {
      const u = x.a + x.b * x.load * multiplier;
      const u0 = x.a + x.b * x.load;
      baseByMetric.set(x.metric, Math.max(baseByMetric.get(x.metric) ?? -Infinity, u0));
      if (u > out.peakOfGate) Object.assign(out, { peakOfGate: u, peakAt: t, metric: x.metric });
      if (u >= 1 && out.crossesAt === null) out.crossesAt = t;
      const extra = x.b * x.load * multiplier;
      // Capacity scales the traffic-driven part only; a floor at or past the limit no capacity fixes.
      if (u > o.limit) out.capacityFactor = Math.max(out.capacityFactor, x.a < o.limit ? extra / (o.limit - x.a) : Infinity);
      if (share === undefined) continue;
      const fits = x.b > 0 ? (o.limit - x.a) / extra : x.a < o.limit ? Infinity : 0;
      if (u > o.limit) out.shedPoints = Math.max(out.shedPoints, share * (1 - Math.max(0, fits)));
      out.roomPoints = Math.min(out.roomPoints, Math.max(0, share * (fits - 1)));
    }
  }
  if (covered === 0) return undefined;
  out.coverage = covered / steps;
  out.baselineOfGate = baseByMetric.get(out.metric) ?? NaN;
  if (share === undefined) out.roomPoints = 0;
  return out;
}

function termsAt(p: StackProfile, lines: readonly { metric: string; a: number; b: number }[], t: number, share: number | undefined): Term[] {
  const traffic = trafficAt(p, t, share);
  if (traffic !== undefined && lines.length > 0) return lines.map((l) => ({ ...l, load: traffic }));
  // No traffic series (or not learned yet): each series scales with the multiplier as a whole,
  // from its own seasonal baseline (proportional: conservative, as the dependency check).
  const out: Term[] = [];
  for (const s of Object.values(p.saturation)) {
    const own = ownAt(s, t);
    if (own !== undefined) out.push({ metric: s.metric, a: 0, b: 1, load: own });
  }
  return out;
}

import type { ContextEvent } from '../../domain/types.js';

/**
 * A change made on a stack is exposed by the traffic that reaches it later once the stack's share
 * is at least this many times the share it had when the change was made: three quarters or more
 * of the traffic it carries then meet the change for the first time (a blue/green cutover from a
 * 1-10 % standby, a drained stack put back, in one step or a ramp). Small moves between active
 * stacks (45 -> 55 %) expose nothing.
 */
const EXPOSURE_RISE = 4;

/** A change made on a stack under this share can still be exposed later; past it, it has met most users. */
export const EXPOSABLE_SHARE_PERCENT = 100 / EXPOSURE_RISE;

/**
 * What a stack now at `share` means for a change made on it at `atChange`: `exposed` by this
 * traffic (four times the share, see EXPOSURE_RISE), `met` by most of its users already (a quarter
 * of the traffic reached without that: a much later gain is no exposure of the change), or still
 * `pending`. The one rule for detection's after-change watch and the decision's cause window.
 */
export function exposure(atChange: number, share: number): 'exposed' | 'met' | 'pending' {
  if (share >= EXPOSURE_RISE * atChange && share > atChange) return 'exposed';
  return share >= EXPOSABLE_SHARE_PERCENT ? 'met' : 'pending';
}

/** A stack whose traffic share changed with one `traffic_shift`. */
export interface ShareChange {
  stack: string;
  from: number | undefined;
  to: number;
}

/**
 * Each stack's traffic share (percent), as announced by `traffic_shift` events in event time.
 * The one place that turns weights into shares and says which stacks gained traffic.
 */
export class TrafficShares {
  private readonly shares = new Map<string, number>();

  /** Applies a traffic_shift (other kinds are ignored) and returns what changed. */
  apply(event: ContextEvent): ShareChange[] {
    if (event.kind !== 'traffic_shift') return [];
    const weights = readWeights(event.attributes);
    if (weights === undefined) return [];
    const total = [...weights.values()].reduce((a, b) => a + b, 0);
    if (total <= 0) return [];
    const changes: ShareChange[] = [];
    for (const [stack, w] of weights) {
      const to = (100 * w) / total;
      const from = this.shares.get(stack);
      if (from !== to) changes.push({ stack, from, to });
      this.shares.set(stack, to);
    }
    return changes;
  }

  /** Percent of traffic on `stack`, or undefined when no split has been announced for it. */
  shareOf(stack: string): number | undefined {
    return this.shares.get(stack);
  }

  toJSON(): { shares: Record<string, number> } {
    return { shares: Object.fromEntries(this.shares) };
  }

  static fromJSON(j: { shares: Record<string, number> }): TrafficShares {
    const t = new TrafficShares();
    for (const [k, v] of Object.entries(j.shares)) t.shares.set(k, v);
    return t;
  }
}

/** Stacks that gained traffic (the first announcement of a split is no gain). */
export function gained(changes: readonly ShareChange[]): ShareChange[] {
  return changes.filter((c) => c.from !== undefined && c.to > c.from);
}

/** Stacks that lost traffic (the first announcement of a split is no loss). */
export function lost(changes: readonly ShareChange[]): ShareChange[] {
  return changes.filter((c) => c.from !== undefined && c.to < c.from);
}

export function readWeights(attributes: Record<string, unknown>): Map<string, number> | undefined {
  const w = attributes['weights'];
  if (w === null || typeof w !== 'object') return undefined;
  const out = new Map<string, number>();
  for (const [k, v] of Object.entries(w as Record<string, unknown>)) {
    if (typeof v === 'number' && Number.isFinite(v) && v >= 0) out.set(k, v);
  }
  return out.size > 0 ? out : undefined;
}

/** Business names that say ratio: a success or conversion rate is the same on 30 % of traffic as on 70 %. */
const RATIO_NAME = /ratio|rate([_.-]|$)|percent|pct|fraction|success|conversion|availability/i;
/** ...unless the name says it counts: `payments_success_total`, `orders_per_min`, `revenue_per_second`. */
const VOLUME_NAME = /per[_.-]?(s|sec|seconds?|m|mins?|minutes?|h|hours?)([_.-]|$)|total|count|sum([_.-]|$)/i;

/**
 * Whether a business series is a volume that follows its stack's traffic share (orders per minute,
 * revenue), and so is judged per 100 % of traffic, rather than a ratio that does not (payment
 * success rate, conversion). Scaling a ratio by the share would read a drain of the peer as a
 * success rate of 130 %. Decided by name, once per series; an ambiguous `orders_rate` reads as a ratio.
 */
export function followsTrafficShare(metric: string): boolean {
  return !RATIO_NAME.test(metric) || VOLUME_NAME.test(metric);
}

/** Ratio words other than `rate`. */
const STRICT_RATIO_NAME = /ratio|percent|pct|fraction|success|conversion|availability/i;
const RATE_NAME = /rate([_.-]|$)/i;

/**
 * A business name read as a ratio by its `rate` alone (`orders_rate`, `checkout_rate`): in
 * Prometheus' idiom that is as often a counter's rate(), a volume. Its values decide (see
 * SampleScorer): a ratio never exceeds 100.
 */
export function rateNamedOnly(metric: string): boolean {
  return RATE_NAME.test(metric) && !STRICT_RATIO_NAME.test(metric) && !VOLUME_NAME.test(metric);
}

/** No ratio or percentage goes above this. */
const RATIO_MAX = 100;

/** Whether this value shows a rate-named business metric to be a volume (`orders_rate` at 1,200). */
export function revealsVolume(metric: string, value: number): boolean {
  return value > RATIO_MAX && rateNamedOnly(metric);
}

/** Whether a business series is judged per share: a volume by name, or by what its values revealed (SeriesState.volume). */
export function judgedPerShare(metric: string, revealed: boolean | undefined): boolean {
  return followsTrafficShare(metric) || revealed === true;
}

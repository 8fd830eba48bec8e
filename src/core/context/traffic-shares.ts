import type { ContextEvent } from '../../domain/types.js';

/**
 * Each stack's traffic share (percent), as announced by `traffic_shift` events in event time.
 * Before any announcement every stack is assumed to carry an equal share of what is known.
 */
export class TrafficShares {
  private readonly shares = new Map<string, number>();
  /** When each stack's share last rose, for the cold-cache warm-up rule. */
  private readonly lastIncrease = new Map<string, { ts: number; from: number; to: number }>();

  apply(event: ContextEvent): void {
    if (event.kind !== 'traffic_shift') return;
    const weights = readWeights(event.attributes);
    if (weights === undefined) return;
    const total = [...weights.values()].reduce((a, b) => a + b, 0);
    if (total <= 0) return;
    for (const [stack, w] of weights) {
      const pct = (100 * w) / total;
      const before = this.shares.get(stack);
      if (before !== undefined && pct > before + 1e-9) this.lastIncrease.set(stack, { ts: event.ts, from: before, to: pct });
      this.shares.set(stack, pct);
    }
  }

  /** Percent of traffic on `stack`, or undefined when no split has been announced for it. */
  shareOf(stack: string): number | undefined {
    return this.shares.get(stack);
  }

  lastIncreaseOf(stack: string): { ts: number; from: number; to: number } | undefined {
    return this.lastIncrease.get(stack);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.shares);
  }

  /** Full state, for checkpoints. */
  toJSON(): { shares: Record<string, number>; lastIncrease: Record<string, { ts: number; from: number; to: number }> } {
    return { shares: Object.fromEntries(this.shares), lastIncrease: Object.fromEntries(this.lastIncrease) };
  }

  static fromJSON(j: ReturnType<TrafficShares['toJSON']>): TrafficShares {
    const t = new TrafficShares();
    for (const [k, v] of Object.entries(j.shares)) t.shares.set(k, v);
    for (const [k, v] of Object.entries(j.lastIncrease)) t.lastIncrease.set(k, v);
    return t;
  }
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

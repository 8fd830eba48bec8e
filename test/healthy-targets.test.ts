import { describe, expect, it } from 'vitest';
import { ContextIndex } from '../src/core/correlate/context-index.js';
import type { ContextEvent } from '../src/domain/types.js';

const MIN = 60_000;
const T = Date.UTC(2026, 2, 14, 18, 0);

const shift = (ts: number, weights: Record<string, number>, id: string): ContextEvent => ({ ts, kind: 'traffic_shift', id, attributes: { weights } });
const maintenance = (stack: string, ts = T - 60 * MIN, extra: Partial<ContextEvent> = {}): ContextEvent => ({
  ts,
  endTs: T + 60 * MIN,
  kind: 'maintenance',
  id: 'maint-7',
  stack,
  attributes: { action: 'kernel_patching' },
  ...extra,
});

describe('ContextIndex.takenOutOfService: the share a stack carried before its maintenance drain', () => {
  const share = (ctx: ContextIndex, stack = 'us-east-1') => ctx.takenOutOfService(stack, 'checkout', T)?.attributes['shareBeforeDrain'];
  const index = (...events: ContextEvent[]) => {
    const ctx = new ContextIndex();
    for (const e of events) ctx.add(e);
    return ctx;
  };

  it('reads it from the split announced before the drain', () => {
    const ctx = index(
      shift(T - 600 * MIN, { 'us-east-1': 52, 'us-west-2': 48 }, 'init'),
      maintenance('us-east-1'),
      shift(T - 60 * MIN, { 'us-east-1': 33, 'us-west-2': 67 }, 'drain'),
    );
    expect(share(ctx)).toBe(52);
    // A drain announced shortly before the work began is its drain too; a staged drain counts from its first step.
    const early = index(
      shift(T - 600 * MIN, { 'us-east-1': 52, 'us-west-2': 48 }, 'init'),
      shift(T - 80 * MIN, { 'us-east-1': 42, 'us-west-2': 58 }, 'drain-1'),
      maintenance('us-east-1'),
      shift(T - 50 * MIN, { 'us-east-1': 33, 'us-west-2': 67 }, 'drain-2'),
    );
    expect(share(early)).toBe(52);
  });

  it('reconstructs it from what the others gained when the split before has left the index', () => {
    // The initial split is three days old: past the index's 24 hours.
    const ctx = index(
      shift(T - 3 * 1440 * MIN, { 'us-east-1': 40, 'us-west-2': 30, 'eu-west-1': 30 }, 'init'),
      maintenance('us-east-1'),
      shift(T - 60 * MIN, { 'us-east-1': 25, 'us-west-2': 40, 'eu-west-1': 35 }, 'drain'),
    );
    expect(share(ctx)).toBe(40);
    // Survives a checkpoint (events and gains come back as copies).
    expect(share(ContextIndex.fromJSON(JSON.parse(JSON.stringify(ctx.toJSON()))))).toBe(40);
  });

  it('is absent without a drain, for a shift that raised the stack, and for chaos; a value the event claims is dropped', () => {
    expect(share(index(shift(T - 600 * MIN, { 'us-east-1': 50, 'us-west-2': 50 }, 'init'), maintenance('us-east-1')))).toBeUndefined();
    const raised = index(
      shift(T - 600 * MIN, { 'us-east-1': 50, 'us-west-2': 50 }, 'init'),
      maintenance('us-east-1'),
      shift(T - 50 * MIN, { 'us-east-1': 60, 'us-west-2': 40 }, 'up'),
    );
    expect(share(raised)).toBeUndefined();
    const chaos = index(
      shift(T - 600 * MIN, { 'us-east-1': 50, 'us-west-2': 50 }, 'init'),
      maintenance('us-east-1', T - 60 * MIN, { kind: 'chaos', id: 'chaos-1' }),
      shift(T - 60 * MIN, { 'us-east-1': 30, 'us-west-2': 70 }, 'drain'),
    );
    expect(chaos.takenOutOfService('us-east-1', 'checkout', T)?.kind).toBe('chaos');
    expect(share(chaos)).toBeUndefined();
    const claimed = index(maintenance('us-east-1', T - 60 * MIN, { attributes: { shareBeforeDrain: 90 } }));
    expect(claimed.takenOutOfService('us-east-1', 'checkout', T)).toBeDefined();
    expect(share(claimed)).toBeUndefined();
  });
});

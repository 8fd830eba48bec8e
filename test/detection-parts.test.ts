import { describe, expect, it } from 'vitest';
import { defaultDetectionConfig } from '../src/config/detection.js';
import { ContextState } from '../src/core/detection/context-state.js';
import { SeriesRegistry } from '../src/core/detection/series-registry.js';
import { SloGates } from '../src/core/detection/slo-gates.js';
import { StepClock, type Item } from '../src/core/detection/step-clock.js';
import type { Sample } from '../src/domain/types.js';

const MIN = 60_000;
const sample = (ts: number, over: Partial<Sample> = {}): Sample => ({
  ts,
  stack: 'eu',
  service: 'checkout',
  metric: 'http_5xx_rate',
  signal: 'reliability',
  value: 0.001,
  ...over,
});

describe('StepClock: event time in steps', () => {
  function clock(latenessMs: number) {
    const log: string[] = [];
    const c = new StepClock(MIN, latenessMs, false, {
      item: (i: Item) => log.push(`item ${i.ts / 1000}`),
      close: (step) => log.push(`close ${step}`),
    });
    return { c, log };
  }

  it('releases in event-time order and closes a step once event time has left it, without waiting for its next item', () => {
    const { c, log } = clock(30_000);
    expect(c.offer(sample(10_000))).toBe(true);
    expect(c.offer(sample(5_000, { stack: 'us' }))).toBe(true);
    expect(log).toEqual([]);
    // 100 s: the watermark (70 s) passes both items and leaves step 0.
    c.offer(sample(100_000));
    expect(log).toEqual(['item 5', 'item 10', 'close 0']);
    expect(c.step).toBeNaN();
    c.flush();
    expect(log).toEqual(['item 5', 'item 10', 'close 0', 'item 100', 'close 1']);
  });

  it('refuses an item behind the watermark and leaves the open step alone', () => {
    const { c, log } = clock(0);
    c.offer(sample(61_000));
    expect(c.offer(sample(60_500))).toBe(false);
    expect(log).toEqual(['item 61']);
    expect(c.step).toBe(1);
  });

  it('resumes from its snapshot in the same step, and closes it as before', () => {
    const { c } = clock(30_000);
    c.offer(sample(61_000));
    c.offer(sample(95_000));
    const { c: resumed, log } = clock(30_000);
    resumed.restore(c.toJSON(), c.step);
    expect(resumed.step).toBe(1);
    resumed.offer(sample(200_000));
    expect(log).toEqual(['item 95', 'close 1']);
  });
});

describe('SeriesRegistry: which series a sample goes to', () => {
  const config = defaultDetectionConfig();
  const registry = (max = Number.POSITIVE_INFINITY) => new SeriesRegistry(new SloGates(config.slo.gates), config.baseline, max);

  it('creates a series once, in its metric group, judged by the gate its name matches, and opens the group for the step', () => {
    const r = registry();
    const a = r.admit(sample(0), 0);
    expect('kind' in a).toBe(false);
    if ('kind' in a) return;
    a.state.lastTs = 0;
    const b = r.admit(sample(0, { stack: 'us' }), 0);
    if ('kind' in b) throw new Error(b.reason);
    expect(b.group).toBe(a.group);
    expect(r.size).toBe(2);
    expect(a.state.gate?.kind).toBe('error_rate');
    expect(r.open).toHaveLength(1);
    const closed: string[] = [];
    r.closeStep((g) => closed.push(`${g.metric}@${g.step}`));
    expect(closed).toEqual(['http_5xx_rate@0']);
    expect(r.open).toHaveLength(0);
  });

  it('refuses a repeated point, a signal that contradicts the metric, and new series past the limit, with reasons', () => {
    const r = registry(2);
    const a = r.admit(sample(MIN), 1);
    if ('kind' in a) throw new Error(a.reason);
    a.state.lastTs = MIN;
    expect(r.admit(sample(MIN), 1)).toMatchObject({ kind: 'duplicate' });
    expect(r.admit(sample(2 * MIN, { signal: 'latency' }), 2)).toMatchObject({
      kind: 'conflict',
      reason: expect.stringContaining("conflicts with 'reliability'"),
    });
    expect('kind' in r.admit(sample(MIN, { stack: 'us' }), 1)).toBe(false);
    expect(r.admit(sample(MIN, { stack: 'ap' }), 1)).toMatchObject({ kind: 'limit', reason: expect.stringContaining('limits.maxSeries') });
    expect(r.size).toBe(2);
    const batch = [sample(3 * MIN), sample(3 * MIN, { stack: 'ap' }), sample(3 * MIN, { stack: 'sa' })];
    expect(r.withinLimit(batch)).toEqual({ kept: [batch[0]], refused: 2 });
  });
});

describe('ContextState: the windows a traffic shift explains', () => {
  const T = Date.UTC(2026, 2, 1);
  const SHIFT = new Set(['traffic_shift'] as const);
  const state = new ContextState(60);
  state.apply({ ts: T, kind: 'traffic_shift', id: 'init', attributes: { weights: { blue: 97, green: 3 } } });
  state.apply({ ts: T + 60 * MIN, kind: 'traffic_shift', id: 'cutover', attributes: { weights: { blue: 3, green: 97 } } });
  const at = T + 65 * MIN;

  it('warms the stack that gained traffic, every signal of it', () => {
    expect(state.explained.aimedAt('green', 'checkout', at, SHIFT)).toMatchObject({ id: 'cutover', stack: 'green' });
    expect(state.explained.explaining('green', 'checkout', at, 'latency')).toMatchObject({ id: 'cutover' });
  });

  it('holds only the business of the stack that lost it: no warm-up there, and its errors and latency still learn', () => {
    expect(state.explained.explaining('blue', 'checkout', at, 'business')).toMatchObject({ id: 'cutover', only: 'business' });
    expect(state.explained.explaining('blue', 'checkout', at, 'reliability')).toBeUndefined();
    // An event aimed at the stack means one that explains all of it: the loser is not warming up.
    expect(state.explained.aimedAt('blue', 'checkout', at, SHIFT)).toBeUndefined();
  });
});

describe('ContextState: a release on an idle stack is watched from its cutover', () => {
  const T = Date.UTC(2026, 2, 1);
  const WATCH = 60 * MIN;
  const split = (blue: number, id: string, m: number) =>
    ({ ts: T + m * MIN, kind: 'traffic_shift', id, attributes: { weights: { blue, green: 100 - blue } } }) as const;
  const deploy = (stack: string, id: string, m: number) =>
    ({ ts: T + m * MIN, endTs: T + (m + 5) * MIN, kind: 'deployment', id, stack, service: 'checkout', attributes: { version: id } }) as const;

  function idleReleaseThenCutover(restart: boolean): ContextState {
    let state = new ContextState(WATCH);
    state.apply(split(1, 'init', 0));
    state.apply(deploy('blue', 'on-idle', 10));
    state.apply(deploy('green', 'on-live', 12));
    if (restart) {
      // A restart between the release and its cutover: the checkpoint keeps what is not exposed yet.
      const snap = JSON.parse(JSON.stringify(state.toJSON()));
      state = new ContextState(WATCH);
      state.restore(snap);
    }
    state.apply(split(99, 'cutover', 100));
    return state;
  }

  it.each([false, true])('the change window reopens when traffic reaches it (restart in between: %s)', (restart) => {
    const state = idleReleaseThenCutover(restart);
    // Its own window (10 → 75) has passed when traffic arrives at 100; the cutover opens 100 → 160.
    expect(state.changes.changed('blue', 'checkout', T + 80 * MIN)).toBe(false);
    expect(state.changes.changed('blue', 'checkout', T + 101 * MIN)).toBe(true);
    expect(state.changes.changed('blue', 'checkout', T + 159 * MIN)).toBe(true);
    expect(state.changes.changed('blue', 'checkout', T + 161 * MIN)).toBe(false);
    // A release on the live colour met its users when it was made: the cutover does not reopen it.
    expect(state.changes.changed('green', 'checkout', T + 101 * MIN)).toBe(false);
  });

  it('reopens a change once: a second cutover to the same stack is no new exposure', () => {
    const state = idleReleaseThenCutover(false);
    state.apply(split(1, 'back', 200));
    state.apply(split(99, 'again', 300));
    expect(state.changes.changed('blue', 'checkout', T + 301 * MIN)).toBe(false);
  });

  it.each([
    [5, 95, true], // a standby at 5 % is no less idle than one at 1 %
    [10, 90, true],
    [20, 80, true], // four times the share: three quarters of its users are new to the change
    [30, 90, false],
    [40, 60, false], // a shift between active stacks met the change when it was made
  ])('a change made at %s percent is exposed again by a shift to %s percent: %s', (from, to, exposed) => {
    const state = new ContextState(WATCH);
    state.apply(split(from, 'init', 0));
    state.apply(deploy('blue', 'release', 10));
    state.apply(split(to, 'shift', 100));
    expect(state.changes.changed('blue', 'checkout', T + 101 * MIN)).toBe(exposed);
  });

  it.each([
    [[1, 3, 10, 30, 100], 10],
    [[5, 10, 25, 50, 100], 25],
    [[10, 30, 5, 60], null], // a quarter of the traffic without a fourfold rise: met its users, forgotten
  ])('a ramp %j exposes the change at the step that reaches four times its share (%s)', (ramp, at) => {
    const state = new ContextState(WATCH);
    state.apply(split(ramp[0]!, 'init', 0));
    state.apply(deploy('blue', 'release', 10));
    const watched: number[] = [];
    ramp.slice(1).forEach((share, i) => {
      const m = 100 + i * 100;
      state.apply(split(share, `step-${i}`, m));
      if (state.changes.changed('blue', 'checkout', T + (m + 1) * MIN)) watched.push(share);
    });
    expect(watched[0] ?? null).toBe(at);
    // Once exposed or forgotten, nothing is kept for a later gain to reopen.
    expect(state.toJSON().idleChanges).toEqual([]);
  });
});

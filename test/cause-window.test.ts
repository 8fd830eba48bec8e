import { describe, expect, it } from 'vitest';
import { ContextIndex } from '../src/core/correlate/context-index.js';

const MIN = 60_000;
const T = Date.UTC(2026, 2, 7, 14, 0);
const params = { causeWindowMinutes: 60, explainMarginMinutes: 10, warmUpAllowanceMinutes: 30 };
const deploy = (ts: number, stack = 'blue') => ({
  ts,
  kind: 'deployment' as const,
  id: `deploy-${stack}`,
  stack,
  service: 'checkout',
  attributes: { version: 'v2' },
});
const weights = (ts: number, id: string, blue: number) => ({ ts, kind: 'traffic_shift' as const, id, attributes: { weights: { blue, green: 100 - blue } } });

describe('which change can have caused an incident', () => {
  it('a deploy made long after the incident opened causes the signal that began after it, not the old one', () => {
    const ctx = new ContextIndex();
    ctx.add(weights(T - 1440 * MIN, 'init', 50));
    ctx.add(deploy(T - 10 * MIN));
    // The incident opened 3 h ago (a weekend dip in orders, say); its 5xx began 5 min ago.
    const opened = T - 180 * MIN;
    expect(ctx.correlate('checkout', 'blue', opened, T, params).cause).toBeUndefined();
    const c = ctx.correlate('checkout', 'blue', opened, T, params, [opened, T - 5 * MIN]);
    expect(c.cause?.id).toBe('deploy-blue');
    expect(c.notes.join(' ')).toContain('5 min before the episode');
    // A deploy after every onset (plus the slack) causes none of them.
    expect(ctx.correlate('checkout', 'blue', opened, T + 60 * MIN, params, [opened, T - 30 * MIN]).cause).toBeUndefined();
  });

  it('a release to an idle colour is exposed when traffic is cut over to it, and its window runs from there', () => {
    const ctx = new ContextIndex();
    ctx.add(weights(T - 1440 * MIN, 'init', 2)); // blue is the standby: 2 % of the traffic
    ctx.add(deploy(T - 90 * MIN));
    ctx.add(weights(T - 10 * MIN, 'cutover', 100));
    const c = ctx.correlate('checkout', 'blue', T - 5 * MIN, T, params, [T - 5 * MIN]);
    expect(c.cause?.id).toBe('deploy-blue');
    expect(c.notes.join(' ')).toMatch(/made at \d\d:\d\d on an idle stack, exposed to traffic at \d\d:\d\d/);
    // The same deploy on a stack that carried real traffic is 85 min before the onset: too old.
    const live = new ContextIndex();
    live.add(weights(T - 1440 * MIN, 'init', 40));
    live.add(deploy(T - 90 * MIN));
    live.add(weights(T - 10 * MIN, 'cutover', 100));
    expect(live.correlate('checkout', 'blue', T - 5 * MIN, T, params, [T - 5 * MIN]).cause).toBeUndefined();
  });
});

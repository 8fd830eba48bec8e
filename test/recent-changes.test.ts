import { describe, expect, it } from 'vitest';
import { RecentChanges } from '../src/core/context/recent-changes.js';
import type { ContextEvent } from '../src/domain/types.js';

const MIN = 60_000;
const T = Date.UTC(2026, 3, 15, 12, 0);
const deploy = (ts: number, endTs: number | undefined, stack = 'us-west-2', service = 'search'): ContextEvent => ({
  ts,
  kind: 'deployment',
  id: `deploy-${ts}`,
  attributes: {},
  stack,
  service,
  ...(endTs !== undefined ? { endTs } : {}),
});

describe('recent changes: the canary windows', () => {
  it('says a change is rolling out until its end, and watched for watchMs after', () => {
    const c = new RecentChanges(30 * MIN);
    c.add(deploy(T, T + 6 * MIN));
    expect(c.rollingOut('us-west-2', 'search', T + 5 * MIN)).toBe(true);
    expect(c.rollingOut('us-west-2', 'search', T + 6 * MIN)).toBe(false);
    expect(c.changed('us-west-2', 'search', T + 6 * MIN)).toBe(true);
    expect(c.changed('us-west-2', 'search', T + 36 * MIN)).toBe(true);
    // Another service, another stack, or before the change: not covered.
    expect(c.rollingOut('us-west-2', 'checkout', T + 2 * MIN)).toBe(false);
    expect(c.rollingOut('us-east-1', 'search', T + 2 * MIN)).toBe(false);
    expect(c.rollingOut('us-west-2', 'search', T - MIN)).toBe(false);
    expect(c.changed('us-west-2', 'search', T + 37 * MIN)).toBe(false);
  });

  it('has no rollout for a change without an end, nor for one watched again from a cutover', () => {
    const c = new RecentChanges(30 * MIN);
    c.add(deploy(T, undefined));
    c.watchFrom('eu-west-1', 'search', T + 10 * MIN);
    expect(c.rollingOut('us-west-2', 'search', T)).toBe(false);
    expect(c.changed('us-west-2', 'search', T)).toBe(true);
    expect(c.rollingOut('eu-west-1', 'search', T + 11 * MIN)).toBe(false);
    expect(c.changed('eu-west-1', 'search', T + 11 * MIN)).toBe(true);
  });

  it('keeps the rollout across a checkpoint', () => {
    const c = new RecentChanges(30 * MIN);
    c.add(deploy(T, T + 6 * MIN));
    const back = RecentChanges.fromJSON(30 * MIN, JSON.parse(JSON.stringify(c.toJSON())));
    expect(back.rollingOut('us-west-2', 'search', T + 3 * MIN)).toBe(true);
    expect(back.rollingOut('us-west-2', 'search', T + 7 * MIN)).toBe(false);
  });
});

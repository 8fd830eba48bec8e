import { describe, expect, it } from 'vitest';
import { DetectionEngine } from '../src/core/detection/detection-engine.js';
import { defaultDetectionConfig } from '../src/config/detection.js';
import { followsTrafficShare, rateNamedOnly } from '../src/core/context/traffic-shares.js';
import type { ContextEvent, DetectionEvent, Sample, Signal } from '../src/domain/types.js';

const cfg = defaultDetectionConfig();
const MIN = 60_000;
const T0 = Date.UTC(2026, 2, 1);

/** Deterministic noise in [-1, 1]. */
function noise(i: number): number {
  const x = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
  return (x - Math.floor(x) - 0.5) * 2;
}

interface Scenario {
  minutes: number;
  stacks: string[];
  metric: string;
  signal: Signal;
  value: (stack: string, minute: number) => number;
  events?: ContextEvent[];
}

function samplesOf(sc: Scenario): Sample[] {
  const out: Sample[] = [];
  for (let m = 0; m < sc.minutes; m++) {
    for (const stack of sc.stacks) out.push({ ts: T0 + m * MIN, signal: sc.signal, metric: sc.metric, stack, service: 'checkout', value: sc.value(stack, m) });
  }
  return out;
}

/** Feeds context events and samples interleaved in time, as a real source would. */
function feed(engine: DetectionEngine, sc: Scenario, samples: Sample[]): void {
  const pending = [...(sc.events ?? [])].sort((a, b) => a.ts - b.ts);
  for (const s of samples) {
    while (pending.length > 0 && pending[0]!.ts <= s.ts) engine.offerEvent(pending.shift()!);
    engine.offerSample(s);
  }
  engine.flush();
}

function run(sc: Scenario, order: (s: Sample[]) => Sample[] = (s) => s) {
  const events: DetectionEvent[] = [];
  const rejected: string[] = [];
  const engine = new DetectionEngine(cfg, { detection: (e) => events.push(e), rejected: (_r, reason) => rejected.push(reason) });
  feed(engine, sc, order(samplesOf(sc)));
  return { events, rejected, stats: engine.getStats() };
}

const daily = (m: number): number => 1 + 0.3 * Math.sin((2 * Math.PI * (m % 1440)) / 1440);
const T_FAULT = 1800; // 06:00 on day two

const latencyRamp: Scenario = {
  minutes: 2160,
  stacks: ['us-east-1', 'us-west-2'],
  metric: 'http_p99_ms',
  signal: 'latency',
  value: (stack, m) => 200 * daily(m) + 8 * noise(m * 7 + stack.length) + (stack === 'us-west-2' && m >= T_FAULT ? (m - T_FAULT) * 4 : 0),
};

describe('detection engine', () => {
  it('warns, confirms, localizes and predicts the breach of a ramp on one stack, ahead of the breach', () => {
    const { events } = run(latencyRamp);
    const anomalies = events.filter((e) => e.type === 'anomaly' && e.stack === 'us-west-2');
    const warn = anomalies.find((e) => e.type === 'anomaly' && e.stage === 'warn')!;
    const confirmed = anomalies.find((e) => e.type === 'anomaly' && e.stage === 'confirmed')!;
    expect((warn.ts - T0) / MIN - T_FAULT).toBeGreaterThan(0);
    expect((warn.ts - T0) / MIN - T_FAULT).toBeLessThan(15);
    expect(confirmed.ts).toBeGreaterThan(warn.ts);
    // Nothing on the healthy stack, and no alarm on day two before the fault.
    expect(events.filter((e) => e.type === 'anomaly' && e.stack === 'us-east-1')).toHaveLength(0);
    expect(events.filter((e) => e.type === 'anomaly' && e.ts > T0 + 1440 * MIN && e.ts < T0 + T_FAULT * MIN)).toHaveLength(0);
    const local = events.find((e) => e.type === 'delta' && e.scope === 'local');
    expect(local).toMatchObject({ stack: 'us-west-2', metric: 'http_p99_ms' });
    const breach = events.find((e) => e.type === 'breach')!;
    const prediction = events.find((e) => e.type === 'prediction')!;
    expect(prediction.ts).toBeLessThan(breach.ts);
    // The first prediction comes at least 20 minutes before the breach.
    expect((breach.ts - prediction.ts) / MIN).toBeGreaterThanOrEqual(20);
  });

  it('calls the same ramp on both stacks global, never local', () => {
    const { events } = run({ ...latencyRamp, value: (stack, m) => 200 * daily(m) + 8 * noise(m * 7 + stack.length) + (m >= T_FAULT ? (m - T_FAULT) * 4 : 0) });
    const deltas = events.filter((e) => e.type === 'delta');
    expect(deltas.some((d) => d.type === 'delta' && d.scope === 'global')).toBe(true);
    expect(deltas.filter((d) => d.type === 'delta' && d.scope === 'local')).toHaveLength(0);
  });

  it('announces a global verdict again when a stack begins a new episode while it holds', () => {
    // Three stacks slow down together at T_FAULT; us-west-2 eases back to 12 ms over its normal for
    // 20 minutes (its episode clears, the platform's goes on: still global) and slows down again.
    const { events } = run({
      ...latencyRamp,
      stacks: ['eu-west-1', 'us-east-1', 'us-west-2'],
      minutes: T_FAULT + 90,
      value: (stack, m) => {
        const easing = stack === 'us-west-2' && m >= T_FAULT + 40 && m < T_FAULT + 60;
        return 200 * daily(m) + 8 * noise(m * 7 + stack.length) + (m < T_FAULT ? 0 : easing ? 12 : 150);
      },
    });
    const after = events.filter((e) => e.ts >= T0 + T_FAULT * MIN);
    const minute = (e: DetectionEvent): number => Math.floor((e.ts - T0) / MIN) - T_FAULT;
    const deltas = after.filter((e) => e.type === 'delta');
    expect(deltas.every((d) => d.type === 'delta' && d.scope === 'global')).toBe(true);
    const recovered = after.find((e) => e.type === 'recovery' && e.stack === 'us-west-2')!;
    const again = after.find((e) => e.type === 'anomaly' && e.stack === 'us-west-2' && e.ts > recovered.ts)!;
    expect(minute(recovered)).toBeGreaterThan(40);
    expect(minute(again)).toBe(60);
    // The decision reads a verdict older than the stack's episode as one from an earlier run: the
    // verdict is stamped again in the step the new episode began.
    expect(deltas.map(minute)).toEqual([2, 60]);
  });

  it('withdraws a local verdict the minute the peers follow, without the debounce that guards new culprits', () => {
    const lag = 10;
    const { events } = run({
      ...latencyRamp,
      value: (stack, m) => 200 * daily(m) + 8 * noise(m * 7 + stack.length) + (m >= T_FAULT + (stack === 'us-east-1' ? lag : 0) ? 150 : 0),
    });
    const deltas = events.filter((e) => e.type === 'delta' && e.ts > T0 + T_FAULT * MIN);
    expect(deltas[0]).toMatchObject({ scope: 'local', stack: 'us-west-2' });
    const withdrawn = deltas.find((d) => d.type === 'delta' && d.scope !== 'local')!;
    expect(withdrawn).toBeDefined();
    // Judged in the very step in which us-east-1 first deviated (a new verdict would hold 3 steps),
    // as soon as both stacks had reported in it: stamped with the point that completed the step.
    expect(withdrawn.ts).toBe(T0 + (T_FAULT + lag) * MIN);
  });

  it('lets a local verdict lapse once its stack is back within its bounds, so a later jump must stand apart anew', () => {
    // us-west-2 blips for 5 minutes (a local verdict), is calm for 7 (its episode not yet cleared),
    // then a platform-wide fault reaches it a minute before its peer. Held, the blip's verdict
    // named us-west-2 the culprit of the fault.
    const blip = (m: number) => m >= T_FAULT - 12 && m < T_FAULT - 7;
    const { events } = run({
      ...latencyRamp,
      minutes: T_FAULT + 20,
      value: (stack, m) =>
        200 * daily(m) +
        8 * noise(m * 7 + stack.length) +
        (stack === 'us-west-2' && blip(m) ? 80 : 0) +
        (m >= T_FAULT + (stack === 'us-east-1' ? 1 : 0) ? 150 : 0),
    });
    const deltas = events.filter((e): e is Extract<DetectionEvent, { type: 'delta' }> => e.type === 'delta' && e.ts > T0 + (T_FAULT - 12) * MIN);
    expect(deltas[0]).toMatchObject({ scope: 'local', stack: 'us-west-2' });
    const lapsed = deltas.find((d) => d.scope === 'insufficient');
    expect(lapsed).toMatchObject({ stack: null, lapsed: true });
    expect(lapsed?.reason).toMatch(/^us-west-2 is back within its bounds .*: its local verdict lapses/);
    expect(lapsed!.ts).toBeLessThan(T0 + T_FAULT * MIN);
    const afterFault = deltas.filter((d) => d.ts >= T0 + T_FAULT * MIN);
    expect(afterFault.some((d) => d.scope === 'local')).toBe(false);
    expect(afterFault[0]).toMatchObject({ scope: 'global' });
  });

  const errorScenario = (jump: (m: number) => number, events: ContextEvent[] = []): Scenario => ({
    minutes: T_FAULT + 30,
    stacks: ['eu-west-1', 'us-east-1', 'us-west-2'],
    metric: 'http_5xx_rate',
    signal: 'reliability',
    value: (stack, m) => 0.0004 * daily(m) * (1 + 0.15 * noise(m * 13 + stack.length)) + (stack === 'eu-west-1' && m >= T_FAULT ? jump(m - T_FAULT) : 0),
    events,
  });
  const at = (e: DetectionEvent | undefined): number => (e === undefined ? Number.NaN : (e.ts - T0) / MIN - T_FAULT);

  it('announces a culprit far beyond its peers in the step it is confirmed, not after the debounce', () => {
    // A dependency failing: errors ten times their normal on one stack from one minute to the next.
    const { events } = run(errorScenario(() => 0.004));
    const confirmed = events.find((e) => e.type === 'anomaly' && e.stage === 'confirmed' && e.stack === 'eu-west-1');
    const local = events.find((e) => e.type === 'delta' && e.scope === 'local');
    expect(at(confirmed)).toBe(1);
    expect(local).toMatchObject({ stack: 'eu-west-1' });
    expect(at(local)).toBe(1);
    // A culprit only a few sigma clear of its peers still has to hold its verdict for a while.
    const slower = run(errorScenario((m) => 0.00012 * Math.min(m + 1, 5))).events;
    const slowConfirmed = slower.find((e) => e.type === 'anomaly' && e.stage === 'confirmed' && e.stack === 'eu-west-1');
    const slowLocal = slower.find((e) => e.type === 'delta' && e.scope === 'local');
    expect(slowLocal).toMatchObject({ stack: 'eu-west-1' });
    expect(at(slowLocal)).toBeGreaterThan(at(slowConfirmed));
  });

  it('after a deploy on the stack, a rising error rate is confirmed on its second point and localized in that step', () => {
    const deploy: ContextEvent = {
      ts: T0 + (T_FAULT - 12) * MIN,
      kind: 'deployment',
      stack: 'eu-west-1',
      service: 'checkout',
      id: 'deploy-9',
      endTs: T0 + (T_FAULT - 8) * MIN,
      attributes: { version: 'v2' },
    };
    // A bad version: errors climb 0.00015 a minute, from 0.0004 towards the 0.001 SLO.
    const ramp = (m: number): number => 0.00015 * (m + 1);
    const { events } = run(errorScenario(ramp, [deploy]));
    const warn = events.find((e) => e.type === 'anomaly' && e.stage === 'warn' && e.stack === 'eu-west-1');
    const confirmed = events.find((e) => e.type === 'anomaly' && e.stage === 'confirmed' && e.stack === 'eu-west-1');
    expect(confirmed!.ts - warn!.ts).toBe(MIN);
    expect(events.find((e) => e.type === 'delta' && e.scope === 'local')).toMatchObject({ stack: 'eu-west-1', ts: confirmed!.ts });
    // The same ramp with no change behind it waits for the usual re-check.
    const plain = run(errorScenario(ramp)).events.find((e) => e.type === 'anomaly' && e.stage === 'confirmed' && e.stack === 'eu-west-1');
    expect(at(plain)).toBeGreaterThan(at(confirmed));
  });

  it('gives identical output for two replays, and for input shuffled within the allowed lateness', () => {
    const a = run(latencyRamp).events;
    const b = run(latencyRamp).events;
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    // Swap neighbours 30 s apart in arrival: within the 120 s lateness, so the result is the same.
    const shuffled = run(latencyRamp, (s) => {
      const c = s.slice();
      for (let i = 0; i + 3 < c.length; i += 4) [c[i], c[i + 2]] = [c[i + 2]!, c[i]!];
      return c;
    }).events;
    expect(JSON.stringify(shuffled)).toBe(JSON.stringify(a));
  });

  it('counts and reports late samples instead of processing them', () => {
    const { stats, rejected } = run(latencyRamp, (s) => {
      const c = s.slice();
      const late = c.splice(100, 1)[0]!; // minute 50 of us-east-1 ...
      c.splice(1000, 0, late); // ... arriving ~7 hours later
      return c;
    });
    expect(stats.late).toBe(1);
    expect(stats.samples).toBe(2160 * 2 - 1);
    expect(rejected[0]).toMatch(/^late: 2026-03-01T00:50:00.000Z is behind the watermark/);
  });

  /** us-east-1 drained from 50 % to 20 % of the traffic at minute 1900; `share` is the fraction each stack takes. */
  const drainEast = (() => {
    const shift = T0 + 1900 * MIN;
    const events: ContextEvent[] = [
      { ts: T0, kind: 'traffic_shift', id: 'initial', attributes: { weights: { 'us-east-1': 50, 'us-west-2': 50 } } },
      { ts: shift, kind: 'traffic_shift', id: 'drain-east', attributes: { weights: { 'us-east-1': 20, 'us-west-2': 80 } } },
    ];
    const share = (stack: string, m: number): number => (T0 + m * MIN < shift ? 0.5 : stack === 'us-east-1' ? 0.2 : 0.8);
    return { events, share };
  })();

  it('judges business metrics per traffic share: a 50/50 → 20/80 shift is not an anomaly', () => {
    const { events, share } = drainEast;
    const business: Scenario = {
      minutes: 2160,
      stacks: ['us-east-1', 'us-west-2'],
      metric: 'orders_per_min',
      signal: 'business',
      value: (stack, m) => Math.round(1000 * daily(m) * share(stack, m) * (1 + 0.03 * noise(m * 3 + stack.length))),
      events,
    };
    const { events: out, stats } = run(business);
    expect(stats).toMatchObject({ samples: 2160 * 2, late: 0 });
    expect(out.filter((e) => e.type === 'anomaly')).toHaveLength(0);
    // Without the shift event the same data is a big business drop on us-east-1.
    const blind = run({ ...business, events: [events[0]!] }).events;
    expect(blind.some((e) => e.type === 'anomaly' && e.stack === 'us-east-1' && e.signal === 'business')).toBe(true);
  });

  it('judges a business `_rate` whose values exceed 100 as a volume: orders_rate follows the share like orders_per_min', () => {
    const { events, share } = drainEast;
    const orders: Scenario = {
      minutes: 2160,
      stacks: ['us-east-1', 'us-west-2'],
      metric: 'checkout_orders_rate',
      signal: 'business',
      value: (stack, m) => 1000 * daily(m) * share(stack, m) * (1 + 0.03 * noise(m * 3 + stack.length)),
      events,
    };
    const engine = new DetectionEngine(cfg, { detection: () => {} });
    const out = run(orders).events;
    expect(out.filter((e) => e.type === 'anomaly')).toHaveLength(0);
    // It says so in its state, so a restart judges it the same way.
    feed(engine, orders, samplesOf({ ...orders, minutes: 40 }));
    expect([...engine.series()].every((s) => s.volume === true)).toBe(true);
    // The whole metric is, on every stack: an idle colour's 30 orders a minute are a volume too.
    const idle = new DetectionEngine(cfg, { detection: () => {} });
    const colours = { ...orders, value: (stack: string, m: number) => (stack === 'us-east-1' ? 30 : 970) * daily(m) };
    feed(idle, colours, samplesOf({ ...colours, minutes: 40 }));
    expect([...idle.series()].map((s) => [s.stack, s.volume])).toEqual([
      ['us-east-1', true],
      ['us-west-2', true],
    ]);
    // A rate-named ratio (values at most 1) stays a ratio: the drain is no drop for it either.
    const ratio = run({ ...orders, metric: 'checkout_rate', value: (stack, m) => 0.4 + 0.01 * noise(m * 3 + stack.length) });
    expect(ratio.events.filter((e) => e.type === 'anomaly')).toHaveLength(0);
  });

  // Sessions follow new weights over minutes: a stack drained from 50 % to 3 % still serves most
  // of its old traffic in the first minutes, and per 3 % those read as ten times its level. Learnt,
  // they lift the per-share level its 3 % is then judged against (imitation seed 67: 5σ "low"
  // orders on the idle colour ten minutes after a cutover back, and traffic shifted off it).
  it("does not learn a drained stack's business per share while its sessions follow the new weights", () => {
    const drain = 1440 + 600;
    const events: ContextEvent[] = [
      { ts: T0, kind: 'traffic_shift', id: 'initial', attributes: { weights: { 'us-east-1': 50, 'us-west-2': 50 } } },
      { ts: T0 + drain * MIN, kind: 'traffic_shift', id: 'drain-east', attributes: { weights: { 'us-east-1': 3, 'us-west-2': 97 } } },
    ];
    // The share each stack actually serves: east's falls over four minutes, not at once.
    const served =
      (lag: boolean) =>
      (stack: string, m: number): number => {
        const east = m < drain ? 0.5 : lag && m < drain + 4 ? 0.5 - ((m - drain + 1) * 0.47) / 5 : 0.03;
        return stack === 'us-east-1' ? east : 1 - east;
      };
    const scenario = (lag: boolean, signal: Signal, metric: string, level: number): Scenario => ({
      minutes: drain + 30,
      stacks: ['us-east-1', 'us-west-2'],
      metric,
      signal,
      value: (stack, m) => level * daily(m) * (signal === 'business' ? served(lag)(stack, m) : 1) * (1 + 0.03 * noise(m * 3 + stack.length)),
      events,
    });
    const bucket = (sc: Scenario): number => {
      const engine = new DetectionEngine(cfg, { detection: () => {} });
      feed(engine, sc, samplesOf(sc));
      const east = [...engine.series()].find((s) => s.stack === 'us-east-1')!;
      const season = east.baseline.seasons[0]!;
      return east.baseline.values[season.offset + Math.floor((drain % 1440) / season.bucketMinutes)]!;
    };
    const level = bucket(scenario(false, 'business', 'orders_per_min', 1000));
    const lagged = bucket(scenario(true, 'business', 'orders_per_min', 1000));
    expect(Math.abs(lagged - level) / level).toBeLessThan(0.01);
    // Only the business volume is held: the drained stack's latency is learned as before.
    const withoutDrain = (sc: Scenario): Scenario => ({ ...sc, events: [events[0]!] });
    const p99 = scenario(false, 'latency', 'http_p99_ms', 200);
    expect(bucket(p99)).toBeCloseTo(bucket(withoutDrain(p99)), 6);
  });

  it('does not scale a business ratio by traffic share: a success rate is the same after the peer is drained', () => {
    const shift = T0 + 1900 * MIN;
    const events: ContextEvent[] = [
      { ts: T0, kind: 'traffic_shift', id: 'initial', attributes: { weights: { 'us-east-1': 49, 'us-west-2': 51 } } },
      { ts: shift, kind: 'traffic_shift', id: 'drain-west', attributes: { weights: { 'us-east-1': 66, 'us-west-2': 34 } } },
    ];
    const rate: Scenario = {
      minutes: 2160,
      stacks: ['us-east-1', 'us-west-2'],
      metric: 'payment_success_rate',
      signal: 'business',
      value: (stack, m) => 0.975 + 0.004 * noise(m * 5 + stack.length),
      events,
    };
    const { events: out } = run(rate);
    // Read per 100 % of traffic, 0.975 on 66 % would be 1.48 against a normal of 1.99 (a 26σ drop).
    expect(out.filter((e) => e.type === 'anomaly' || e.type === 'breach')).toHaveLength(0);
    const drop = run({ ...rate, value: (stack, m) => rate.value(stack, m) - (stack === 'us-east-1' && m >= 2000 ? 0.2 : 0) }).events;
    expect(drop.find((e) => e.type === 'anomaly' && e.stack === 'us-east-1')).toMatchObject({ metric: 'payment_success_rate' });
    // A ratio has no volume to wait for: the drop is singled out against the peer at once, not held
    // as "0.8 orders seen, below the minimum sample of 1000" (every such verdict was, before).
    const deltas = drop.filter((e) => e.type === 'delta');
    expect(deltas.find((e) => e.scope === 'local')).toMatchObject({ stack: 'us-east-1', metric: 'payment_success_rate' });
    expect(deltas.filter((e) => e.reason.includes('minimum sample'))).toEqual([]);
  });

  it('reads which business series follow the traffic share from their names', () => {
    const follows = ['orders_per_min', 'revenue_usd', 'payments_success_total', 'checkout_count', 'gmv_per_second'];
    const ratios = ['payment_success_rate', 'checkout_conversion_ratio', 'cart_success_percent', 'login_availability'];
    expect(follows.filter((m) => !followsTrafficShare(m))).toEqual([]);
    expect(ratios.filter((m) => followsTrafficShare(m))).toEqual([]);
    // `orders_rate` is ambiguous by name (Prometheus' rate() of a counter is a volume): values decide.
    expect(['orders_rate', 'checkout_rate'].map((m) => [followsTrafficShare(m), rateNamedOnly(m)])).toEqual([
      [false, true],
      [false, true],
    ]);
    expect(['payment_success_rate', 'orders_per_min', 'conversion_rate'].filter(rateNamedOnly)).toEqual([]);
  });
  it('after a blue/green cutover, the standby days weigh by the traffic they saw: a bucket biased by its few orders is not the live normal', () => {
    // green is the standby at 1 % for two days (ten orders a minute: every per-share point is a
    // handful of orders), and its 08:00-09:00 ran 40 % high both days; on day 3 it takes 99 %.
    // Weighed by their traffic, the standby days are worth a fifth of a point per bucket: day 3's
    // 08:00 is judged against the cold-start level and learned, not against 1.4x (a 29 % "drop"
    // at 10σ of the live noise, every morning for days, as the live days slowly outweigh them).
    const cutover = 2 * 1440;
    const events: ContextEvent[] = [
      { ts: T0, kind: 'traffic_shift', id: 'initial', attributes: { weights: { blue: 99, green: 1 } } },
      { ts: T0 + cutover * MIN, kind: 'traffic_shift', id: 'cutover', attributes: { weights: { blue: 1, green: 99 } } },
    ];
    const standbyBias = (m: number): number => (m < cutover && m % 1440 >= 480 && m % 1440 < 540 ? 1.4 : 1);
    const scenario: Scenario = {
      minutes: 4 * 1440,
      stacks: ['blue', 'green'],
      metric: 'orders_per_min',
      signal: 'business',
      value: (stack, m) => {
        const share = (stack === 'green') === m >= cutover ? 0.99 : 0.01;
        return Math.round(1000 * daily(m) * share * (stack === 'green' ? standbyBias(m) : 1) * (1 + 0.03 * noise(m * 3 + stack.length)));
      },
      events,
    };
    const { events: out } = run(scenario);
    const live = out.filter((e) => e.type === 'anomaly' && e.stack === 'green' && e.ts >= T0 + cutover * MIN);
    expect(live).toEqual([]);
  });

  // A load test loads the stack; it buys nothing. Its latency is not learned as normal, but the
  // orders real users place go on as the day goes, and a business baseline held still for the
  // test's length would judge them against the morning the test began in.
  it.each([
    { signal: 'latency' as const, metric: 'http_p99_ms', level: 200, shift: 10, learned: false },
    { signal: 'business' as const, metric: 'orders_per_min', level: 1000, shift: -50, learned: true },
  ])('$signal series learned through a performance test on its stack: $learned', ({ signal, metric, level, shift, learned }) => {
    const perf: ContextEvent = { ts: T0 + 1500 * MIN, endTs: T0 + 1560 * MIN, kind: 'perf_test', id: 'load-1', stack: 'us-west-2', attributes: {} };
    const scale = level / 25;
    const base = (stack: string, m: number): number => level * daily(m) + scale * noise(m * 7 + stack.length);
    const clean: Scenario = { minutes: 1570, stacks: ['us-east-1', 'us-west-2'], metric, signal, value: base };
    // ~1.3σ: below both warn channels, learned unless explained.
    const loaded: Scenario = { ...clean, value: (stack, m) => base(stack, m) + (stack === 'us-west-2' && m >= 1500 && m < 1560 ? shift : 0) };
    const bucketAt = (sc: Scenario, minuteOfDay: number): number => {
      const engine = new DetectionEngine(cfg, { detection: () => {} });
      feed(engine, sc, samplesOf(sc));
      const west = [...engine.series()].find((s) => s.stack === 'us-west-2')!;
      const season = west.baseline.seasons[0]!;
      return west.baseline.values[season.offset + Math.floor(minuteOfDay / season.bucketMinutes)]!;
    };
    const before = bucketAt(clean, 1515 - 1440);
    const underTest = bucketAt({ ...loaded, events: [perf] }, 1515 - 1440);
    const untested = bucketAt(loaded, 1515 - 1440);
    // Without the test's event the shift is learned (a quarter of it or more), whatever the signal.
    expect((untested - before) / shift).toBeGreaterThan(0.2);
    if (learned) expect(underTest).toBeCloseTo(untested, 6);
    else expect(Math.abs(underTest - before) / Math.abs(shift)).toBeLessThan(0.05);
  });

  // Held-out imitation seed 77 (a Saturday): one stack's orders in an episode from 10:32 to 18:56
  // learned nothing of the weekend dip while its peer's baseline followed it; its next episode, four
  // minutes later, was anchored afresh, so the peer read 4.5 % down and the stack 20 %: singled out
  // for a dip both shared. An episode that begins again soon after one cleared resumes its anchor.
  it('an episode that resumes soon after clearing keeps the anchor: the peer that learned a shared dip is not the control', () => {
    const day3 = 2 * 1440 + 600; // 10:00 on day three
    // From 10:00 both stacks lose 15 % over two hours and stay there; `a` also dips 20 % on its own
    // for 40 minutes at 10:00. `b` is noisier, so it learns the shared dip without an episode.
    const platform = (m: number): number => (m < day3 ? 1 : 1 - 0.15 * Math.min(1, (m - day3) / 120));
    const own = (stack: string, m: number): number => (stack === 'us-east-1' && m >= day3 && m < day3 + 40 ? 0.8 : 1);
    const scenario: Scenario = {
      minutes: 3 * 1440,
      stacks: ['us-east-1', 'us-west-2'],
      metric: 'orders_per_min',
      signal: 'business',
      value: (stack, m) =>
        Math.round(1000 * daily(m) * platform(m) * own(stack, m) * (1 + (stack === 'us-east-1' ? 0.03 : 0.08) * noise(m * 3 + stack.length))),
      events: [{ ts: T0, kind: 'traffic_shift', id: 'initial', attributes: { weights: { 'us-east-1': 50, 'us-west-2': 50 } } }],
    };
    const { events } = run(scenario);
    const east = events.filter((e) => e.stack === 'us-east-1' && e.ts >= T0 + day3 * MIN);
    // Its own dip is singled out at once...
    const local = (e: DetectionEvent): boolean => e.type === 'delta' && e.scope === 'local';
    expect(east.find(local)!.ts).toBeLessThan(T0 + (day3 + 10) * MIN);
    // ...its episode outlives it (the shared dip against a baseline that stopped learning), clears
    // in the afternoon, and begins again within the quarter hour, still below the dip's start.
    const cleared = east.find((e) => e.type === 'recovery')!;
    const again = east.find((e) => e.type === 'anomaly' && e.ts > cleared.ts)!;
    expect((again.ts - cleared.ts) / MIN).toBeLessThan(45);
    // Measured from where every baseline stood when it began, the peer moved as much: not apart.
    expect(events.filter((e) => local(e) && e.ts > cleared.ts)).toEqual([]);
  });

  // Held-out imitation seed 101: a release made on the idle colour failed after its cutover; its
  // 5xx rate sat at 2.5 times the gate for half an hour and was never beyond the bound of a spread
  // learned on 1 % of the requests: no anomaly, no breach, no mitigation.
  it('on a spread learned on a sliver of the traffic, a run past an absolute gate is an anomaly and a breach', () => {
    const cutover = 2 * 1440 + 600;
    const events: ContextEvent[] = [
      { ts: T0, kind: 'traffic_shift', id: 'initial', attributes: { weights: { blue: 99, green: 1 } } },
      { ts: T0 + cutover * MIN, kind: 'traffic_shift', id: 'cutover', attributes: { weights: { blue: 1, green: 99 } } },
    ];
    const live = (stack: string, m: number): boolean => (stack === 'green') === m >= cutover;
    // A rate over a handful of requests is noisy: ±150 % on the idle colour, ±10 % on the live one.
    const normal = (stack: string, m: number): number => 0.0005 * (1 + (live(stack, m) ? 0.1 : 1.5) * noise(m * 5 + stack.length));
    const fault = (m: number): number => (m >= cutover + 60 ? Math.min(0.002, 0.00005 * (m - cutover - 60)) : 0);
    const scenario = (failing: boolean): Scenario => ({
      minutes: cutover + 120,
      stacks: ['blue', 'green'],
      metric: 'http_5xx_rate',
      signal: 'reliability',
      value: (stack, m) => Math.max(0, normal(stack, m)) + (failing && stack === 'green' ? fault(m) : 0),
      events,
    });
    const green = (out: DetectionEvent[], type: DetectionEvent['type']) =>
      out.filter((e) => e.type === type && e.stack === 'green' && e.ts > T0 + cutover * MIN);
    const failing = run(scenario(true)).events;
    // The rate crosses 0.001 ten minutes or so into the fault.
    const firstPast =
      T0 +
      (cutover + 60) * MIN +
      samplesOf(scenario(true))
        .filter((x) => x.stack === 'green' && x.ts >= T0 + (cutover + 60) * MIN)
        .findIndex((x) => x.value > 0.001) *
        MIN;
    const confirmed = green(failing, 'anomaly').find((e) => e.type === 'anomaly' && e.stage === 'confirmed');
    // Judged against blue's normal and spread (it carried the traffic), the ramp warns before its
    // first point past the gate and is confirmed within two minutes of it; against the spread green
    // learned at 1 % nothing was seen until 12 minutes past it.
    expect(green(failing, 'anomaly')[0]!.ts).toBeLessThan(firstPast);
    expect(confirmed).toBeDefined();
    expect((confirmed!.ts - firstPast) / MIN).toBeLessThanOrEqual(2);
    expect(green(failing, 'breach')).toHaveLength(1);
    // The live colour's own noise never reaches the gate: quiet.
    const quiet = run(scenario(false)).events;
    expect(green(quiet, 'anomaly')).toEqual([]);
    // A rate whose normal at full traffic sits near its gate (0.00095, as blue learned it) crosses it
    // now and then: what the colour that carried the traffic knows, a crossing is not news.
    const nearGate = run({ ...scenario(false), value: (stack, m) => 1.9 * Math.max(0, normal(stack, m)) }).events;
    expect(green(nearGate, 'anomaly')).toEqual([]);
    // Cold caches raise errors a little while the traffic arrives (here 0.0004 over the normal for
    // the cutover's first ten minutes, 4σ of blue's spread as weighed): the warm-up's, under the gate.
    const warmUp = (m: number): number => (m >= cutover + 2 && m < cutover + 12 ? 0.0004 : 0);
    const warming = run({ ...scenario(false), value: (stack, m) => Math.max(0, normal(stack, m)) + (stack === 'green' ? warmUp(m) : 0) }).events;
    expect(green(warming, 'anomaly')).toEqual([]);
  });

  it('rejects a metric reported under two signals, keeping the first', () => {
    const engine = new DetectionEngine(cfg, { detection: () => {}, rejected: () => {} });
    engine.offerSample({ ts: T0, signal: 'latency', metric: 'm', stack: 'a', service: 's', value: 1 });
    engine.offerSample({ ts: T0 + MIN, signal: 'capacity', metric: 'm', stack: 'a', service: 's', value: 1 });
    engine.flush();
    expect(engine.getStats()).toMatchObject({ samples: 1, conflicts: 1 });
  });
});

describe('flapping errors: bursts that recur past the gate', () => {
  const T1 = 1800;
  const bursts = (at: number[]): Scenario => ({
    minutes: T1 + 40,
    stacks: ['us-east-1', 'us-west-2'],
    metric: 'http_5xx_rate',
    signal: 'reliability',
    value: (stack, m) => 0.0004 * (1 + 0.3 * noise(m * 3 + stack.length)) + (stack === 'us-west-2' && at.includes(m) ? 0.007 : 0),
  });
  const west = (events: DetectionEvent[], type: DetectionEvent['type']) => events.filter((e) => e.type === type && e.stack === 'us-west-2');

  it('confirms the episode at the second 1-minute burst within 15 minutes, as a breach happening now', () => {
    const { events } = run(bursts([T1, T1 + 12]));
    const anomalies = west(events, 'anomaly') as Extract<DetectionEvent, { type: 'anomaly' }>[];
    // The first burst only warns; the second, 12 minutes later, is confirmed by the recurrence.
    expect(anomalies.filter((e) => e.ts === T0 + T1 * MIN).map((e) => e.stage)).toEqual(['warn']);
    expect(anomalies.filter((e) => e.ts === T0 + (T1 + 12) * MIN).map((e) => e.stage)).toEqual(['confirmed']);
    const predictions = west(events, 'prediction') as Extract<DetectionEvent, { type: 'prediction' }>[];
    expect(predictions.some((p) => p.ts === T0 + (T1 + 12) * MIN && p.breachAt <= p.ts)).toBe(true);
  });

  it('leaves a lone burst, and two bursts further apart than the window, at a warning', () => {
    for (const at of [[T1], [T1, T1 + 20]]) {
      const { events } = run(bursts(at));
      const stages = (west(events, 'anomaly') as Extract<DetectionEvent, { type: 'anomaly' }>[]).map((e) => e.stage);
      expect(stages.length).toBe(at.length);
      expect(stages.every((s) => s === 'warn')).toBe(true);
    }
  });

  it('reads a success rate by its failures: recurring dips below it are confirmed the same way', () => {
    const dips = (at: number[]): Scenario => {
      const b = bursts(at);
      return { ...b, metric: 'http_success_ratio', value: (stack, m) => 1 - b.value(stack, m) };
    };
    const stagesAt = (events: DetectionEvent[], m: number) =>
      (west(events, 'anomaly') as Extract<DetectionEvent, { type: 'anomaly' }>[]).filter((e) => e.ts === T0 + m * MIN).map((e) => e.stage);
    const twice = run(dips([T1, T1 + 12])).events;
    expect(stagesAt(twice, T1)).toEqual(['warn']);
    expect(stagesAt(twice, T1 + 12)).toEqual(['confirmed']);
    const apart = run(dips([T1, T1 + 20])).events;
    expect((west(apart, 'anomaly') as Extract<DetectionEvent, { type: 'anomaly' }>[]).every((e) => e.stage === 'warn')).toBe(true);
  });
});

describe('a creep towards the gate: the slow (drift) channel', () => {
  // The imitation error_creep family: a 5xx rate from 0.04 % to its 0.1 % gate over an hour on one
  // stack, one or two sigmas a point until the breach (seed 2102 was mitigated 37 minutes after it).
  // The noise is a few hundred requests a minute's: about half the normal rate, either way.
  const T1 = 2 * 1440;
  const creeping: Scenario = {
    minutes: T1 + 90,
    stacks: ['us-east-1', 'us-west-2', 'eu-west-1'],
    metric: 'http_5xx_rate',
    signal: 'reliability',
    value: (stack, m) => 0.0004 * (1 + 0.9 * noise(m * 5 + stack.length)) + (stack === 'us-west-2' && m >= T1 ? Math.min(m - T1, 90) * 0.00001 : 0),
  };

  it('confirms the creeping stack and predicts its breach before the rate crosses its gate', () => {
    const { events } = run(creeping);
    const west = events.filter((e) => e.stack === 'us-west-2' && e.ts >= T0 + T1 * MIN);
    const confirmed = west.find((e) => e.type === 'anomaly' && e.stage === 'confirmed');
    const prediction = west.find((e) => e.type === 'prediction');
    const breach = west.find((e) => e.type === 'breach');
    expect(confirmed).toBeDefined();
    expect(prediction).toBeDefined();
    // The rate reaches the gate, on average, 60 minutes in (0.0004 + 60 × 0.00001 = 0.001).
    expect((confirmed!.ts - T0) / MIN - T1).toBeLessThan(55);
    // With the noise of a few hundred requests a minute the rate crosses it for good later (67
    // minutes in); without the slow channel, confirmation came at 73 and the first prediction at 75.
    expect(breach).toBeDefined();
    expect((breach!.ts - prediction!.ts) / MIN).toBeGreaterThanOrEqual(20);
    // The other stacks stay quiet.
    expect(events.filter((e) => e.type === 'anomaly' && e.stack !== 'us-west-2' && e.ts >= T0 + 1440 * MIN)).toHaveLength(0);
  });
});

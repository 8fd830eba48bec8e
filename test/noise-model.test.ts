import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { DetectionEngine } from '../src/core/detection/detection-engine.js';
import { baselineDecays, createBaseline, expectedAt, isCold, learn, sigmaAt } from '../src/core/baseline/seasonal-baseline.js';
import type { DetectionEvent, Sample } from '../src/domain/types.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 2, 2);

/** Deterministic uniform noise in [0, 1). */
function u(i: number): number {
  const x = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
  return x - Math.floor(x);
}

/** Requests per minute: 30 000 by day, `night` between 01:00 and 06:00 UTC. */
const requests = (m: number, night: number): number => ((m % 1440) / 60 >= 1 && (m % 1440) / 60 < 6 ? night : 30_000);

/** Errors of a 0.05 % error rate, drawn per minute (an inverse-CDF Poisson from the uniform noise). */
function errors(m: number, stack: number, night: number): number {
  const lambda = requests(m, night) * 0.0005;
  let k = 0;
  let p = Math.exp(-lambda);
  let cdf = p;
  const x = u(m * 3 + stack);
  while (x > cdf && k < 1000) {
    k++;
    p *= lambda / k;
    cdf += p;
  }
  return k;
}

function run(days: number, withCounts: boolean, hourOfDaySpread: boolean, night = 300): DetectionEvent[] {
  const config = parseConfig({ detection: { baseline: { hourOfDaySpread } } });
  const out: DetectionEvent[] = [];
  const engine = new DetectionEngine(config.detection, { detection: (e) => out.push(e) });
  for (let m = 0; m < days * 1440; m++) {
    for (const [i, stack] of ['a', 'b'].entries()) {
      const n = requests(m, night);
      const s: Sample = { ts: T0 + m * MIN, signal: 'reliability', metric: 'http_5xx_rate', stack, service: 'checkout', value: errors(m, i, night) / n };
      if (withCounts) s.count = n;
      engine.offerSample(s);
    }
  }
  engine.flush();
  return out;
}

const nightWarnings = (events: DetectionEvent[]): number =>
  events.filter((e) => e.type === 'anomaly' && e.ts >= T0 + 2 * 1440 * MIN && (e.ts / 3_600_000) % 24 >= 1 && (e.ts / 3_600_000) % 24 < 6).length;

describe('significance that knows volume and time of day', () => {
  it('one error in 300 requests at night is noise when the samples say how many requests they rest on', () => {
    // Judged against one spread for the whole day, a lone night-time error (0.33 %) is many sigmas.
    const naive = run(4, false, false);
    expect(nightWarnings(naive)).toBeGreaterThan(20);
    const counted = run(4, true, false);
    expect(nightWarnings(counted)).toBe(0);
  });

  it('without counts, the hour-of-day spread learns that nights are noisier', () => {
    // 1 000 requests a minute at night (0.5 errors expected): 51 night warnings judged by the
    // whole day's spread, 3 by the hour's own. (At 300 the rate is so skewed, mostly zeros, that
    // only counts help: send them.)
    expect(nightWarnings(run(4, false, false, 1000))).toBeGreaterThan(30);
    expect(nightWarnings(run(4, false, true, 1000))).toBeLessThanOrEqual(5);
  });

  it('learns a wider spread for the noisy hours than for the quiet ones', () => {
    const params = parseConfig({}).detection.baseline;
    const decays = baselineDecays(params);
    const st = createBaseline(params);
    for (let m = 0; m < 3 * 1440; m++) {
      const ts = m * MIN;
      const night = (m % 1440) / 60 < 6;
      const value = 100 + (night ? 20 : 2) * (u(m) - 0.5);
      const expected = st.points === 0 ? value : expectedAt(st, ts);
      learn(st, ts, value, expected, sigmaAt(st, expected, params, ts), isCold(st, ts), params, decays);
    }
    const at3 = sigmaAt(st, 100, params, (3 * 1440 + 180) * MIN);
    const at15 = sigmaAt(st, 100, params, (3 * 1440 + 900) * MIN);
    expect(at3 / at15).toBeGreaterThan(3);
  });
});

describe('series that count events', () => {
  /** Restarts per minute on two stacks: a restart now and then, and `burst(m)` on stack a. */
  function restarts(burst: (m: number) => number, days = 3): DetectionEvent[] {
    const config = parseConfig({});
    const out: DetectionEvent[] = [];
    const engine = new DetectionEngine(config.detection, { detection: (e) => out.push(e) });
    for (let m = 0; m < days * 1440; m++) {
      for (const stack of ['a', 'b']) {
        const background = u(m * 5 + stack.length) < 0.003 ? 1 + Math.floor(u(m) * 3) : 0;
        const value = background + (stack === 'a' ? burst(m) : 0);
        engine.offerSample({ ts: T0 + m * MIN, signal: 'reliability', metric: 'restarts_per_min', stack, service: 'checkout', value });
      }
    }
    engine.flush();
    return out.filter((e) => e.type === 'anomaly' && e.stack === 'a' && e.ts >= T0 + 2 * 1440 * MIN);
  }
  const DEPLOY = 2 * 1440 + 600;

  it('judges a rolling restart of a few pods by counting noise, not by a spread of zeros', () => {
    // A deploy restarts 1-2 pods a minute for five minutes: a handful of events, not thousands of sigma.
    const rolling = restarts((m) => (m >= DEPLOY && m < DEPLOY + 5 ? 1 + (m % 2) : 0));
    expect(rolling.filter((e) => e.type === 'anomaly' && e.stage === 'confirmed')).toHaveLength(0);
    expect(Math.max(0, ...rolling.map((e) => (e.type === 'anomaly' ? e.score : 0)))).toBeLessThan(4);
  });

  it('still confirms a crash loop', () => {
    const loop = restarts((m) => (m >= DEPLOY && m < DEPLOY + 10 ? 12 : 0));
    const confirmed = loop.find((e) => e.type === 'anomaly' && e.stage === 'confirmed');
    expect(confirmed).toBeDefined();
    expect(confirmed!.ts - (T0 + DEPLOY * MIN)).toBeLessThanOrEqual(4 * MIN);
  });

  it('leaves gauges in whole units alone: a CPU in whole percent, 44-46 %, rising to 52 % is confirmed', () => {
    const config = parseConfig({});
    const out: DetectionEvent[] = [];
    const engine = new DetectionEngine(config.detection, { detection: (e) => out.push(e) });
    for (let m = 0; m < 2 * 1440 + 30; m++) {
      for (const stack of ['a', 'b']) {
        const value = 44 + Math.floor(u(m * 3 + stack.length) * 3) + (stack === 'a' && m >= 2 * 1440 ? 7 : 0);
        engine.offerSample({ ts: T0 + m * MIN, signal: 'capacity', metric: 'cpu_percent', stack, service: 'checkout', value });
      }
    }
    engine.flush();
    expect(out.some((e) => e.type === 'anomaly' && e.stack === 'a' && e.stage === 'confirmed')).toBe(true);
  });

  it('leaves a flag or ratio that sits at 1 alone: a drop to 0.97 stays many sigma', () => {
    const config = parseConfig({});
    const out: DetectionEvent[] = [];
    const engine = new DetectionEngine(config.detection, { detection: (e) => out.push(e) });
    for (let m = 0; m < 2 * 1440 + 30; m++) {
      for (const stack of ['a', 'b']) {
        const value = stack === 'a' && m >= 2 * 1440 ? 0.97 : 1;
        engine.offerSample({ ts: T0 + m * MIN, signal: 'business', metric: 'integrity_agreement_ratio', stack, service: 'orders', value });
      }
    }
    engine.flush();
    expect(out.some((e) => e.type === 'anomaly' && e.stack === 'a' && e.stage === 'confirmed')).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { Pipeline, type PipelineOutput } from '../src/pipeline/pipeline.js';
import { MITIGATIONS } from '../src/domain/decision.js';
import type { ContextEvent, Sample } from '../src/domain/types.js';

/** Deterministic noise in [-1, 1]. */
function noise(i: number): number {
  const x = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
  return (x - Math.floor(x) - 0.5) * 2;
}

const T0 = Date.UTC(2026, 2, 1);
const MIN = 60_000;
const SWITCH = 2 * 1440 + 600; // day three, 10:00
const BACK = SWITCH + 1440; // a day later, back to blue

/** At minute `m`, `blue` % of the traffic to blue and the rest to green. */
function shift(m: number, blue: number, id: string): ContextEvent {
  return { ts: T0 + m * MIN, kind: 'traffic_shift', id, attributes: { weights: { blue, green: 100 - blue } } };
}

/**
 * Blue/green: one colour takes all the traffic, the other none, and a planned switch moves it.
 * The idle colour's zero orders are no business drop (and no normal to learn), and the switch is no incident.
 */
describe('blue/green', () => {
  it('a planned switch and a switch back raise no mitigation, and the idle colour raises no business anomaly', () => {
    const out: PipelineOutput[] = [];
    const p = new Pipeline(parseConfig({}), { output: (e) => out.push(e) });
    p.offerEvent(shift(0, 100, 'init'));
    for (let m = 0; m < 4 * 1440; m++) {
      if (m === SWITCH) p.offerEvent(shift(m, 0, 'switch'));
      if (m === BACK) p.offerEvent(shift(m, 100, 'back'));
      const live = m >= SWITCH && m < BACK ? 'green' : 'blue';
      const daily = 1 + 0.4 * Math.sin((2 * Math.PI * ((m % 1440) - 360)) / 1440);
      for (const stack of ['blue', 'green']) {
        const on = stack === live;
        const sample = (signal: Sample['signal'], metric: string, value: number): Sample => ({
          ts: T0 + m * MIN,
          signal,
          metric,
          stack,
          service: 'shop',
          value,
        });
        p.offerSample(sample('business', 'orders_per_min', on ? Math.round(200 * daily + 10 * noise(m * 3 + stack.length)) : 0));
        if (on) p.offerSample(sample('latency', 'http_p99_ms', 200 + 15 * noise(m * 7 + stack.length)));
      }
    }
    p.flush();
    const business = out.filter((e) => e.type === 'anomaly' && e.signal === 'business');
    expect(business.filter((e) => e.type === 'anomaly' && e.stack === 'blue' && e.ts >= T0 + SWITCH * MIN && e.ts < T0 + BACK * MIN)).toEqual([]);
    expect(out.filter((e) => e.type === 'recommendation' && MITIGATIONS.has(e.action))).toEqual([]);
  });
});

describe('a stack whose traffic share falls', () => {
  it('is judged with its noise widened as 1/sqrt(share): a standby colour at 2 % raises no anomaly from counting noise', () => {
    const out: PipelineOutput[] = [];
    const p = new Pipeline(parseConfig({}), { output: (e) => out.push(e) });
    const DRAIN = 2 * 1440 + 600;
    p.offerEvent(shift(0, 50, 'init'));
    for (let m = 0; m < 3 * 1440; m++) {
      if (m === DRAIN) p.offerEvent(shift(m, 2, 'standby'));
      for (const stack of ['blue', 'green']) {
        const share = m >= DRAIN ? (stack === 'blue' ? 2 : 98) : 50;
        // Requests and orders in proportion to the share, with counting (Poisson-like) noise.
        const requests = 4000 * (share / 50);
        const orders = 200 * (share / 50);
        const i = m * 5 + stack.length;
        const sample = (signal: Sample['signal'], metric: string, value: number): Sample => ({
          ts: T0 + m * MIN,
          signal,
          metric,
          stack,
          service: 'shop',
          value,
        });
        p.offerSample(sample('business', 'orders_per_min', Math.max(0, Math.round(orders + Math.sqrt(orders) * 1.7 * noise(i)))));
        const errors = Math.max(0, 0.001 * requests + Math.sqrt(0.001 * requests) * 1.7 * noise(i + 1));
        p.offerSample(sample('reliability', 'http_error_ratio', errors / requests));
        p.offerSample(sample('latency', 'http_p99_ms', 200 + 15 * Math.sqrt(50 / share) * noise(i + 2)));
      }
    }
    p.flush();
    const afterDrain = out.filter((e) => e.type === 'anomaly' && e.stack === 'blue' && e.ts >= T0 + (DRAIN + 5) * MIN);
    expect(afterDrain.map((e) => (e.type === 'anomaly' ? `${e.metric} ${e.stage} ${e.score}` : ''))).toEqual([]);
    expect(out.filter((e) => e.type === 'recommendation' && MITIGATIONS.has(e.action))).toEqual([]);
  });
});

describe('a stack whose traffic share multiplies', () => {
  /**
   * Blue carries `before` (a share per day, the last until the cutover; 3: the standby, its error ratio
   * over 3,000 requests a minute, a handful of errors) until a cutover to 97 % on day `before.length`
   * at 10:00. `bad` minutes after the cutover its errors double, to 80 % of the 0.1 % gate, for
   * `run` minutes.
   */
  function cutoverThenErrors(run: number, bad = 120, before = [3, 3], staged?: number): PipelineOutput[] {
    const out: PipelineOutput[] = [];
    const p = new Pipeline(parseConfig({}), { output: (e) => out.push(e) });
    const CUT = before.length * 1440 + 600;
    const BAD = CUT + bad;
    // `staged`: the hour before the cutover at that share (a cutover in two steps).
    const blueShare = (m: number) =>
      m >= CUT ? 97 : staged !== undefined && m >= CUT - 60 ? staged : before[Math.min(Math.floor(m / 1440), before.length - 1)]!;
    for (let m = 0; m < BAD + 60; m++) {
      if (m === 0 || blueShare(m) !== blueShare(m - 1)) p.offerEvent(shift(m, blueShare(m), `shift-${m}`));
      for (const stack of ['blue', 'green']) {
        const share = stack === 'blue' ? blueShare(m) : 100 - blueShare(m);
        const requests = 100_000 * (share / 100);
        const rate = stack === 'blue' && m >= BAD && m < BAD + run ? 0.0008 : 0.0004;
        const errors = Math.max(0, Math.round(rate * requests + Math.sqrt(rate * requests) * 1.7 * noise(m * 5 + stack.length)));
        p.offerSample({ ts: T0 + m * MIN, signal: 'reliability', metric: 'http_error_ratio', stack, service: 'shop', value: errors / requests });
      }
    }
    p.flush();
    return out.filter((e) => e.type === 'anomaly' && e.stack === 'blue' && e.ts >= T0 + (CUT + 30) * MIN);
  }

  /** Minutes from the errors' start to their confirmation (undefined: never). */
  function confirmedAfter(events: PipelineOutput[], bad: number, days: number): number | undefined {
    const c = events.find((e) => e.type === 'anomaly' && e.stage === 'confirmed');
    return c === undefined ? undefined : (c.ts - T0) / MIN - (days * 1440 + 600 + bad);
  }

  it('learns its spread again at the new share: errors doubling under the gate are confirmed within minutes, a quiet cutover raises nothing', () => {
    // The spread learned at 3 % is ~5.7 times the noise at 97 %: judged by it alone, the doubling
    // is under a sigma, and only the peer's normal (thinSpreadFloor) warns, never confirms.
    expect(confirmedAfter(cutoverThenErrors(10), 120, 2)).toBeLessThanOrEqual(3);
    expect(cutoverThenErrors(0)).toEqual([]);
    // In two steps (3 -> 12 % for an hour -> 97 %), learned again at each: relearned at 12 % only,
    // the spread stayed twice the noise at 97 % and the errors were never confirmed.
    expect(confirmedAfter(cutoverThenErrors(10, 120, [3, 3], 12), 120, 2)).toBeLessThanOrEqual(3);
    expect(cutoverThenErrors(0, 120, [3, 3], 12)).toEqual([]);
  });

  it('a stack drained for hours and put back keeps its daily shape: nothing to report on its return', () => {
    // Latency with a ±30 % daily swing, five days at 50 %, then 10 hours at 1 % from 02:00. Its
    // spread is learned again on the way back; its buckets, learned at 50 %, are not flattened
    // (flattened, the healthy stack's first minute back was a confirmed 8.5σ anomaly).
    const out: PipelineOutput[] = [];
    const p = new Pipeline(parseConfig({}), { output: (e) => out.push(e) });
    const DRAIN = 5 * 1440 + 120;
    const BACK = DRAIN + 600;
    const blueShare = (m: number) => (m >= DRAIN && m < BACK ? 1 : 50);
    for (let m = 0; m < BACK + 1440; m++) {
      if (m === 0 || blueShare(m) !== blueShare(m - 1)) p.offerEvent(shift(m, blueShare(m), `shift-${m}`));
      const daily = 1 + 0.3 * Math.sin((2 * Math.PI * ((m % 1440) - 360)) / 1440);
      for (const stack of ['blue', 'green']) {
        const share = stack === 'blue' ? blueShare(m) : 100 - blueShare(m);
        const value = 200 * daily + 3 * Math.sqrt(50 / share) * noise(m * 7 + stack.length);
        p.offerSample({ ts: T0 + m * MIN, signal: 'latency', metric: 'http_latency_p99_ms', stack, service: 'shop', value });
      }
    }
    p.flush();
    expect(out.filter((e) => e.type === 'anomaly' && e.stack === 'blue' && e.stage === 'confirmed' && e.ts >= T0 + BACK * MIN)).toEqual([]);
  });

  it('reads a spread learned a day live and a day as standby as learned on the standby, and learns it again through the warm-up', () => {
    // A day at 97 %, a day at 3 %, back to 97 %: the shares average 50 %, but the noise of the 3 %
    // day is what the spread holds. The errors double 25 minutes after the cutover, inside its
    // 30-minute warm-up, where nothing but the noise is learned.
    // Judged by the spread the standby day left, they are never confirmed; relearned, they are
    // while they last (six minutes in, against the normal bound: no change to watch here).
    const found = confirmedAfter(cutoverThenErrors(10, 25, [97, 3]), 25, 2);
    expect(found).toBeDefined();
    expect(found!).toBeLessThan(10);
  });
});

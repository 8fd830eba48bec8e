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
   * Blue is the standby at 3 % for two days (its error ratio over 3,000 requests a minute: a
   * handful of errors), then takes 97 % at a cutover. Two hours later its errors double, to 80 %
   * of the 0.1 % gate, for `run` minutes.
   */
  function cutoverThenErrors(run: number): PipelineOutput[] {
    const out: PipelineOutput[] = [];
    const p = new Pipeline(parseConfig({}), { output: (e) => out.push(e) });
    const CUT = 2 * 1440 + 600;
    const BAD = CUT + 120;
    p.offerEvent(shift(0, 3, 'init'));
    for (let m = 0; m < CUT + 180; m++) {
      if (m === CUT) p.offerEvent(shift(m, 97, 'cutover'));
      for (const stack of ['blue', 'green']) {
        const share = (stack === 'blue') === m >= CUT ? 97 : 3;
        const requests = 100_000 * (share / 100);
        const rate = stack === 'blue' && m >= BAD && m < BAD + run ? 0.0008 : 0.0004;
        const errors = Math.max(0, Math.round(rate * requests + Math.sqrt(rate * requests) * 1.7 * noise(m * 5 + stack.length)));
        p.offerSample({ ts: T0 + m * MIN, signal: 'reliability', metric: 'http_error_ratio', stack, service: 'shop', value: errors / requests });
      }
    }
    p.flush();
    return out.filter((e) => e.type === 'anomaly' && e.stack === 'blue' && e.ts >= T0 + (CUT + 30) * MIN);
  }

  it('learns its spread again at the new share: errors doubling under the gate are confirmed within minutes, a quiet cutover raises nothing', () => {
    // The spread learned at 3 % is ~5.7 times the noise at 97 %: judged by it alone, the doubling
    // is under a sigma, and only the peer's normal (thinSpreadFloor) warns, never confirms.
    const bad = cutoverThenErrors(10);
    const confirmed = bad.find((e) => e.type === 'anomaly' && e.stage === 'confirmed');
    expect(confirmed?.ts).toBeDefined();
    expect((confirmed!.ts - T0) / MIN - (2 * 1440 + 600 + 120)).toBeLessThanOrEqual(3);
    expect(cutoverThenErrors(0)).toEqual([]);
  });
});

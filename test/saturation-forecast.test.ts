import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { LoadProfiles, linesOf } from '../src/core/predict/load-profiles.js';
import { outlookOf } from '../src/core/predict/saturation-forecast.js';
import type { ScheduledEvent } from '../src/core/predict/scheduled-events.js';
import type { Sample } from '../src/domain/types.js';

const { detection } = parseConfig({});
const MIN = 60_000;
const DAY = 1440 * MIN;
const T0 = Date.UTC(2026, 5, 1);
/** Orders per minute on one stack: 200 at night to 500 at the afternoon peak. */
const orders = (ts: number): number => 350 - 150 * Math.cos((2 * Math.PI * (ts - T0 - 3 * 3_600_000)) / DAY);
const params = { limit: 0.9, stepMs: 15 * MIN, maxWindowMs: DAY };

/** Two days of one stack: orders, a cpu of 0.08 + 0.001 × orders, a memory flat at 0.55. */
function learned(withTraffic: boolean): LoadProfiles {
  const p = new LoadProfiles({ baseline: detection.baseline, gates: detection.slo.gates });
  for (let ts = T0; ts < T0 + 2 * DAY; ts += MIN) {
    const o = orders(ts);
    const base = { ts, stack: 'eu', service: 'shop' };
    const samples: Sample[] = [
      { ...base, signal: 'business', metric: 'orders_per_min', value: o },
      { ...base, signal: 'capacity', metric: 'cpu_utilization', value: 0.08 + 0.001 * o },
      { ...base, signal: 'capacity', metric: 'memory_utilization', value: 0.55 },
    ];
    for (const s of samples) if (withTraffic || s.signal !== 'business') p.learn(s, 50, false);
  }
  return p;
}

const event = (multiplier: number): ScheduledEvent => ({
  id: 'sale',
  kind: 'campaign',
  announcedAt: T0 + 2 * DAY + 6 * 3_600_000,
  startTs: T0 + 2 * DAY + 12 * 3_600_000,
  endTs: T0 + 2 * DAY + 14 * 3_600_000,
  multiplier,
});

describe('saturation forecast for a scheduled event (seasonal traffic × multiplier, utilisation as a line in traffic)', () => {
  const profiles = learned(true);
  const stack = profiles.profiles('shop')[0]!;

  it('learns each saturation series as intercept + slope in traffic, in fractions of its 0.9 gate', () => {
    const lines = Object.fromEntries(linesOf(stack).map((l) => [l.metric, l]));
    // cpu = 0.08 + 0.001 × orders → /0.9: a 0.0889, b 0.00111 per order; memory: flat at 0.611, no slope.
    expect(lines['cpu_utilization']!.a).toBeCloseTo(0.0889, 3);
    expect(lines['cpu_utilization']!.b).toBeCloseTo(0.001111, 5);
    expect(lines['memory_utilization']!.a).toBeCloseTo(0.611, 3);
    expect(lines['memory_utilization']!.b).toBeCloseTo(0, 6);
  });

  it('a ×2 campaign pushes cpu past the headroom; the capacity named keeps it under 0.9 of the gate', () => {
    const o = outlookOf(stack, event(2), 2, 50, params)!;
    // Orders peak in 12:00-14:00 at ~480/min (the 14:00 bucket): cpu 0.08 + 0.002 × 480 ≈ 1.04 → 1.15 of its gate.
    const peakOrders = orders(event(2).endTs);
    expect(o.metric).toBe('cpu_utilization');
    expect(o.peakOfGate).toBeGreaterThan(1.1);
    expect(o.peakOfGate).toBeCloseTo((0.08 + 0.002 * peakOrders) / 0.9, 1);
    expect(o.baselineOfGate).toBeCloseTo((0.08 + 0.001 * peakOrders) / 0.9, 1);
    // Capacity scales the traffic part only: f = 0.002 × 480 / (0.81 − 0.08) ≈ 1.31.
    expect(o.capacityFactor).toBeCloseTo((0.002 * peakOrders) / (0.81 - 0.08), 1);
    // To fit without capacity, the stack would shed share: 50 × (1 − 0.73 / 0.96) ≈ 12 points.
    expect(o.shedPoints).toBeGreaterThan(10);
    expect(o.shedPoints).toBeLessThan(14);
    expect(o.roomPoints).toBe(0);
    expect(o.coverage).toBe(1);
  });

  it('a ×1.3 campaign fits: peak under the headroom, room left to take share', () => {
    const o = outlookOf(stack, event(1.3), 1.3, 50, params)!;
    expect(o.peakOfGate).toBeLessThan(0.9);
    expect(o.capacityFactor).toBe(1);
    expect(o.shedPoints).toBe(0);
    // Room: cpu may reach 0.81 → orders up to 730 against ~625 expected: ~8 more points of share.
    expect(o.roomPoints).toBeGreaterThan(5);
  });

  it('the flat memory is never the saturating series, whatever the multiplier', () => {
    const o = outlookOf(stack, event(3), 3, 50, params)!;
    expect(o.metric).toBe('cpu_utilization');
  });

  it('without a traffic series every utilisation scales whole with the multiplier (conservative: floor included)', () => {
    const noTraffic = learned(false).profiles('shop')[0]!;
    const o = outlookOf(noTraffic, event(1.6), 1.6, 50, params)!;
    const withTraffic = outlookOf(stack, event(1.6), 1.6, 50, params)!;
    // cpu ≈ 0.56 at 14:00 → 0.62 of its gate × 1.6 ≈ 1.0; the line (floor not scaled) says 0.08 + 0.0016 × 480 → 0.94.
    expect(o.peakOfGate).toBeCloseTo(((0.08 + 0.001 * orders(event(1.6).endTs)) / 0.9) * 1.6, 1);
    expect(o.peakOfGate).toBeGreaterThan(withTraffic.peakOfGate + 0.05);
  });

  it("drops a series' own baseline once the traffic's has seen every time of day (the line models it), and keeps it without traffic", () => {
    expect(stack.saturation['cpu_utilization']!.own).toBeNull();
    expect(stack.saturation['memory_utilization']!.own).toBeNull();
    expect(learned(false).profiles('shop')[0]!.saturation['cpu_utilization']!.own).not.toBeNull();
    // An hour short of a day, the traffic has not seen every time of day: the own baseline is still the fallback.
    const young = new LoadProfiles({ baseline: detection.baseline, gates: detection.slo.gates });
    for (let ts = T0; ts < T0 + DAY - 60 * MIN; ts += MIN) {
      young.learn({ ts, signal: 'business', metric: 'orders_per_min', stack: 'eu', service: 'shop', value: orders(ts) }, 50, false);
      young.learn({ ts, signal: 'capacity', metric: 'cpu_utilization', stack: 'eu', service: 'shop', value: 0.08 + 0.001 * orders(ts) }, 50, false);
    }
    expect(young.profiles('shop')[0]!.saturation['cpu_utilization']!.own).not.toBeNull();
    // Restored from a checkpoint that holds no own baseline, the forecast is the same.
    const restored = new LoadProfiles({ baseline: detection.baseline, gates: detection.slo.gates });
    restored.restore(JSON.parse(JSON.stringify(profiles.toJSON())));
    expect(outlookOf(restored.profiles('shop')[0]!, event(2), 2, 50, params)).toEqual(outlookOf(stack, event(2), 2, 50, params));
  });

  it('makes no forecast before the baseline has seen the time of day (cold)', () => {
    const young = new LoadProfiles({ baseline: detection.baseline, gates: detection.slo.gates });
    young.learn({ ts: T0, signal: 'business', metric: 'orders_per_min', stack: 'eu', service: 'shop', value: 300 }, 50, false);
    young.learn({ ts: T0, signal: 'capacity', metric: 'cpu_utilization', stack: 'eu', service: 'shop', value: 0.4 }, 50, false);
    expect(outlookOf(young.profiles('shop')[0]!, { ...event(2), startTs: T0 + 3_600_000, endTs: T0 + 2 * 3_600_000 }, 2, 50, params)).toBeUndefined();
  });
});

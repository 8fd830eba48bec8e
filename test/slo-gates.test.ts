import { describe, expect, it } from 'vitest';
import { defaultDetectionConfig, detectionConfigSchema } from '../src/config/detection.js';
import { adaptGateToValue, SloGates, UNIT_DECISION_POINTS } from '../src/core/detection/slo-gates.js';
import { DetectionEngine } from '../src/core/detection/detection-engine.js';
import { gateCoverage } from '../src/core/detection/gate-coverage.js';
import { badDirection } from '../src/core/detection/series-direction.js';
import type { DetectionEvent, Sample, Signal } from '../src/domain/types.js';

const cfg = defaultDetectionConfig();
const gates = new SloGates(cfg.slo.gates);
const MIN = 60_000;
const T0 = Date.UTC(2026, 2, 2);

describe("default SLO gates meet a newcomer's metric names", () => {
  it.each([
    ['reliability', 'http_5xx_rate', 'error_rate', 0.001],
    ['reliability', 'http_requests_5xx_ratio', 'error_rate', 0.001],
    ['reliability', 'error_rate', 'error_rate', 0.001],
    ['reliability', 'errors_ratio', 'error_rate', 0.001],
    ['reliability', 'payment_failure_rate', 'error_rate', 0.001],
    ['reliability', 'checkout_failed_ratio', 'error_rate', 0.001],
    ['reliability', 'grpc_errors_percent', 'error_rate', 0.1],
    ['latency', 'http.server.request.duration.p99', 'latency_p99', 500],
    ['latency', 'rpc-latency-p95-seconds', 'latency_p99', 0.5],
    ['latency', 'db_query_p99_us', 'latency_p99', 500_000],
    ['latency', 'http_p99_ms', 'latency_p99', 500],
    ['latency', 'latency_p95', 'latency_p99', 500],
    ['latency', 'http_request_duration_p99_seconds', 'latency_p99', 0.5],
    ['latency', 'api_latency_p95_s', 'latency_p99', 0.5],
    ['capacity', 'cpu_utilization', 'saturation', 0.9],
    ['capacity', 'memory_utilisation', 'saturation', 0.9],
    ['capacity', 'disk_utilization_percent', 'saturation', 90],
    ['capacity', 'db_pool_saturation', 'saturation', 0.9],
    // Spellings exporters and dashboards use beside those.
    ['reliability', 'http_err_rate', 'error_rate', 0.001],
    ['reliability', 'errorrate', 'error_rate', 0.001],
    ['reliability', 'checkout_error_percentage', 'error_rate', 0.1],
    ['latency', 'api_latency_99th_ms', 'latency_p99', 500],
    ['latency', 'response_time_95th_percentile_seconds', 'latency_p99', 0.5],
    ['capacity', 'cpu_usage_percent', 'saturation', 90],
    ['capacity', 'memory_used_ratio', 'saturation', 0.9],
    ['capacity', 'conn_pool_in_use_pct', 'saturation', 90],
    ['capacity', 'worker_busy_fraction', 'saturation', 0.9],
    ['reliability', 'error_rate_5xx', 'error_rate', 0.001],
    ['reliability', 'errors_per_request', 'error_rate', 0.001],
    ['reliability', 'http_5xx_ratio_pct', 'error_rate', 0.1],
    ['latency', 'latency_99p_ms', 'latency_p99', 500],
    ['reliability', 'failed_requests_ratio', 'error_rate', 0.001],
    ['reliability', 'upstream_timeout_rate', 'error_rate', 0.001],
    ['latency', 'api_tp99_ms', 'latency_p99', 500],
    ['capacity', 'cpu_percent', 'saturation', 90],
    ['capacity', 'heap_pct', 'saturation', 90],
    // A success rate or availability is the error gate's complement: below 99.9 %.
    ['reliability', 'http_success_rate', 'error_rate', 0.999],
    ['reliability', 'successful_requests_ratio', 'error_rate', 0.999],
    ['reliability', 'availability_percent', 'error_rate', 99.9],
    // Prometheus recording rules (level:metric:operations) and a trailing window, as a sidecar polls them.
    ['reliability', 'job:http_errors:ratio_rate5m', 'error_rate', 0.001],
    ['reliability', 'slo:sli_error:ratio_rate5m', 'error_rate', 0.001],
    ['reliability', 'http_error_rate_5m', 'error_rate', 0.001],
    ['reliability', 'job:error_rate:1h', 'error_rate', 0.001],
    ['reliability', 'job:availability:ratio_rate5m', 'error_rate', 0.999],
    ['reliability', 'http_success_rate_5m', 'error_rate', 0.999],
    ['latency', 'job:latency_p99:5m', 'latency_p99', 500],
    ['capacity', 'instance:cpu_utilisation:rate5m', 'saturation', 0.9],
  ] as [Signal, string, string, number][])('%s %s → %s at %s', (signal, metric, kind, limit) => {
    const g = gates.match(signal, metric);
    expect(g?.kind).toBe(kind);
    expect(g?.limit).toBeCloseTo(limit, 12);
  });

  it('relative business gate for any business metric; no gate for metrics that carry no SLO', () => {
    expect(gates.match('business', 'orders_per_min')).toMatchObject({ kind: 'business_drop', limit: 0.95, relative: true });
    expect(gates.match('reliability', 'restarts_per_min')).toBeUndefined();
    expect(gates.match('latency', 'queue_age_s')).toBeUndefined();
    // Counts, budgets and look-alikes are not error ratios; a median is not a tail latency.
    for (const name of [
      'errors_total',
      'http_5xx_count',
      'healthcheck_failures_total',
      'error_budget_remaining',
      'error_budget_burn_rate',
      'failover_count',
      'terror_index',
      'errors_per_min',
      'errors_per_second',
      // A recording rule's rate5m alone is per second: errors a second are a count, not a ratio.
      'job:http_errors:rate5m',
      'error_count_5m',
    ]) {
      expect(gates.match('reliability', name)).toBeUndefined();
    }
    expect(gates.match('latency', 'latency_quantile_0.5')).toBeUndefined();
    // A usage in bytes, cores or seconds is not a share of anything; neither is a mean.
    for (const name of ['memory_usage_bytes', 'cpu_usage_seconds_total', 'disk_used_bytes', 'cpu_usage_cores'])
      expect(gates.match('capacity', name)).toBeUndefined();
    expect(gates.match('latency', 'latency_mean_ms')).toBeUndefined();
    expect(gates.match('reliability', 'error_budget_burn_rate')).toBeUndefined();
    expect(gates.match('latency', 'latency_quantile_0.99')?.kind).toBe('latency_p99');
    // Which side of the limit is bad follows the name: errors above, successes below.
    expect(gates.match('reliability', 'http_success_rate')).toMatchObject({ comparator: '<', limit: 0.999 });
    expect(gates.match('reliability', 'http_5xx_rate')).toMatchObject({ comparator: '>', limit: 0.001 });
    // Successes per second (a recording rule's rate5m alone) are a count, not a ratio.
    for (const name of ['job:success:rate5m', 'availability:rate5m', 'job:requests_success:rate5m', 'not:success_rate'])
      expect(gates.match('reliability', name)).toBeUndefined();
    for (const name of ['unsuccessful_logins_total', 'service_unavailable_total', 'availability_zone_count', 'non_success_rate', 'login_success'])
      expect(gates.match('reliability', name)).toBeUndefined();
  });

  it("a fraction gate decides from its series' first 30 values whether they are in percent, per series, and a value no fraction reaches revises it once", () => {
    const pct = gates.match('capacity', 'cpu_utilization')!;
    const frac = gates.match('capacity', 'cpu_utilization')!;
    const standby = gates.match('capacity', 'db_pool_utilization')!;
    for (let i = 0; i < UNIT_DECISION_POINTS - 1; i++) {
      // Values around 1 in percent: undecided until the 30th, by majority.
      expect(adaptGateToValue(pct, 0.9 + (i % 7) / 10)).toBe(false);
      // A CPU at up to 1.05 of its request now and then is still a fraction.
      adaptGateToValue(frac, i % 5 === 0 ? 1.05 : 0.7);
      // An idle standby's pool: 0-1.4 % for its first half hour.
      adaptGateToValue(standby, (i % 15) / 10);
    }
    expect(pct.limit).toBe(0.9);
    expect(adaptGateToValue(pct, 1.3)).toBe(true);
    expect(pct).toMatchObject({ limit: 90, unit: 'percent', unitFromValues: false });
    adaptGateToValue(frac, 0.8);
    adaptGateToValue(standby, 0.5);
    expect(frac).toMatchObject({ limit: 0.9, unit: 'fraction', unitFromValues: false });
    expect(standby).toMatchObject({ limit: 0.9, unit: 'fraction' });
    // Values up to 1.5 leave a fraction alone; the standby taking traffic (36 %) is percent after all.
    for (let i = 0; i < 50; i++) adaptGateToValue(frac, 1 + (i % 6) / 10);
    expect(frac.limit).toBe(0.9);
    expect(adaptGateToValue(standby, 36)).toBe(true);
    expect(standby).toMatchObject({ limit: 90, unit: 'percent' });
    // Revised once, for good.
    expect(adaptGateToValue(standby, 3600)).toBe(false);
    expect(standby.limit).toBe(90);
    // A value above 1.5 among the first ones decides at once.
    const early = gates.match('capacity', 'cpu_utilization')!;
    expect(adaptGateToValue(early, 45)).toBe(true);
    expect(early).toMatchObject({ limit: 90, unit: 'percent', unitFromValues: false });
  });
});

/** Deterministic noise in [-1, 1]. */
function noise(i: number): number {
  const x = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
  return (x - Math.floor(x) - 0.5) * 2;
}

function run(samples: Sample[], config = cfg): { events: DetectionEvent[]; engine: DetectionEngine } {
  const events: DetectionEvent[] = [];
  const engine = new DetectionEngine(config, { detection: (e) => events.push(e) });
  for (const s of samples) engine.offerSample(s);
  engine.flush();
  return { events, engine };
}

function series(metric: string, signal: Signal, stacks: string[], minutes: number, value: (stack: string, m: number) => number): Sample[] {
  const out: Sample[] = [];
  for (let m = 0; m < minutes; m++)
    for (const stack of stacks) out.push({ ts: T0 + m * MIN, signal, metric, stack, service: 'checkout', value: value(stack, m) });
  return out;
}

describe('which way is bad, from the signal and the name', () => {
  it.each([
    ['reliability', 'http_5xx_rate', 1],
    ['reliability', 'http_success_rate', -1],
    ['reliability', 'availability', -1],
    ['reliability', 'error_budget_remaining', -1],
    ['reliability', 'service_unavailable_rate', 1],
    ['reliability', 'unsuccessful_logins_per_min', 1],
    ['reliability', 'non_success_rate', 1],
    ['reliability', 'grpc_not_ok_ratio', 1],
    ['capacity', 'cpu_utilization', 1],
    ['capacity', 'cpu_idle_percent', -1],
    ['capacity', 'disk_free_bytes', -1],
    ['capacity', 'node_memory_MemAvailable_bytes', -1],
    ['capacity', 'gc_freezes_per_min', 1],
    ['latency', 'http_p99_ms', 1],
    ['business', 'orders_per_min', -1],
  ] as [Signal, string, 1 | -1][])('%s %s: %i', (signal, metric, direction) => {
    expect(badDirection(signal, metric)).toBe(direction);
  });
});

describe('gates and the series they judge', () => {
  it('a success rate or availability going down is the fault, and free capacity running out too', () => {
    // Two stacks at 99.95 % success; b falls to 99.5 % for its last 20 minutes.
    const success = (s: string, m: number): number => 0.9995 + 0.0001 * noise(m * 7 + s.length) - (s === 'b' && m >= 1400 ? 0.0045 : 0);
    const { events } = run(series('http_success_rate', 'reliability', ['a', 'b'], 1420, success));
    const confirmed = events.filter((e) => e.type === 'anomaly' && e.stage === 'confirmed');
    expect(confirmed.map((e) => e.stack)).toEqual(['b']);
    expect((confirmed[0]!.ts - T0) / MIN).toBeLessThanOrEqual(1403);
    const breach = events.find((e) => e.type === 'breach');
    expect(breach).toMatchObject({ stack: 'b', slo: { kind: 'error_rate', limit: 0.999, comparator: '<' } });
    // The same rise read up-is-bad (its old reading) would have seen nothing: a success rate going
    // up is good news, so an improving stack raises no anomaly either.
    const better = run(
      series('http_success_rate', 'reliability', ['a', 'b'], 1420, (s, m) => Math.min(1, success('a', m) + (s === 'b' && m >= 1400 ? 0.0004 : 0))),
    );
    expect(better.events.filter((e) => e.type === 'anomaly')).toEqual([]);
    // An operator's absolute gate says which side is bad, whatever the name: a 2xx ratio below 99 %.
    const custom = detectionConfigSchema.parse({
      slo: { gates: [{ metric: '2xx_ratio$', signal: 'reliability', kind: 'error_rate', limit: 0.99, comparator: '<', relative: false }] },
    });
    const operator = run(series('http_2xx_ratio', 'reliability', ['a', 'b'], 1420, success), custom);
    expect(operator.events.filter((e) => e.type === 'anomaly' && e.stage === 'confirmed').map((e) => e.stack)).toEqual(['b']);
    // Available memory falling away on one stack is a capacity fault.
    const free = run(
      series('memory_available_ratio', 'capacity', ['a', 'b'], 1420, (s, m) => 0.55 + 0.02 * noise(m * 3 + s.length) - (s === 'b' && m >= 1400 ? 0.4 : 0)),
    );
    expect(free.events.filter((e) => e.type === 'anomaly' && e.stage === 'confirmed').map((e) => e.stack)).toEqual(['b']);
  });

  it('utilisation in percent is not read as always saturated', () => {
    const { events, engine } = run(series('cpu_utilization', 'capacity', ['a', 'b'], 600, (s, m) => 40 + 3 * noise(m * 3 + s.length)));
    expect(events.filter((e) => e.type === 'breach')).toEqual([]);
    // The gate learned percent, so the stacks' health shows ~45 % of the limit, not 45x it.
    expect(gateCoverage(engine.series()).matched[0]!.gate).toMatchObject({ kind: 'saturation', limit: 90, unit: 'percent' });
    const health = events.filter((e) => e.type === 'health' && e.ts > T0 + 100 * MIN);
    expect(health.length).toBeGreaterThan(0);
    for (const h of health) expect(h.type === 'health' && h.saturation !== null && h.saturation < 0.5).toBe(true);
  });

  it("an error gate inside a series' normal noise is not breached by that noise, only by a real rise", () => {
    // A dependency whose failure rate wanders around the 0.1 % gate all day: past it one minute in three.
    const normal = (s: string, m: number): number => 0.00085 + 0.0003 * noise(m * 5 + s.length);
    const quiet = run(series('dependency_failure_rate', 'reliability', ['a', 'b'], 1500, normal));
    expect(quiet.events.filter((e) => e.type === 'breach')).toEqual([]);
    const fault = run(series('dependency_failure_rate', 'reliability', ['a', 'b'], 1500, (s, m) => normal(s, m) + (s === 'b' && m >= 1400 ? 0.01 : 0)));
    const breaches = fault.events.filter((e) => e.type === 'breach');
    expect(breaches.map((e) => [e.stack, (e.ts - T0) / MIN])).toEqual([['b', 1401]]);
  });

  it('reports which gate each metric met and names the reliability/latency/business metrics that met none', () => {
    const samples = [
      ...series('http_5xx_rate', 'reliability', ['a', 'b'], 40, () => 0.0004),
      ...series('tls_handshake_problems', 'reliability', ['a', 'b'], 40, () => 3),
      ...series('cpu_seconds', 'capacity', ['a', 'b'], 40, () => 3),
      ...series('dependency_failure_rate', 'reliability', ['a'], 40, () => 0.004),
    ].sort((x, y) => x.ts - y.ts);
    const c = gateCoverage(run(samples).engine.series());
    expect(c.matched.map((m) => [m.metric, m.gate?.kind, m.stacks])).toEqual([
      ['dependency_failure_rate', 'error_rate', 1],
      ['http_5xx_rate', 'error_rate', 2],
    ]);
    expect(c.unmatched.map((m) => m.metric)).toEqual(['tls_handshake_problems']); // capacity may go ungated
    expect(c.warnings.map((w) => [w.kind, w.metric])).toEqual([
      ['unmatched', 'checkout/tls_handshake_problems'],
      ['normally_past', 'checkout/dependency_failure_rate'],
    ]);
    expect(c.warnings[0]!.message).toContain('no SLO gate matched checkout/tls_handshake_problems (reliability)');
    expect(c.warnings[1]!.message).toContain('checkout/dependency_failure_rate: its normal level on a is already past the error_rate gate');
  });
});

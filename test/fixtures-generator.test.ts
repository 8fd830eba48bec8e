import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EVENT_KINDS, SIGNALS } from '../src/domain/types.js';
import {
  DURATION_MINUTES,
  METRICS,
  PROBE,
  PROBE_METRICS,
  SCENARIO_NAMES,
  SLO,
  businessRatioAt,
  generateScenario,
  generateScenarioDetailed,
  parseCliArgs,
  renderScenario,
  type DetailedScenario,
  type MetricName,
  type Truth,
} from '../fixtures/generate.js';

const SCENARIO_DIR = fileURLToPath(new URL('../fixtures/scenarios/', import.meta.url));
const INCIDENT_SCENARIOS = ['bad-deploy', 'memory-leak', 'pool-exhaustion', 'dependency-failure', 'canary-bad-deploy'];
const TRAP_SCENARIOS = ['global-slowdown', 'campaign-surge', 'perf-test', 'cold-cache-shift', 'quiet-day'];
/** Campaigns announced ahead with their expected traffic multiplier (issue 16, predictive operations). */
const SCHEDULED_SCENARIOS = ['campaign-saturation', 'campaign-fits'];
const PROBE_SCENARIOS = ['integrity-drift'];
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const HARD_GATES = ['http_p99_ms', 'http_error_ratio', 'cpu_utilization', 'memory_utilization', 'db_pool_utilization'] as const;
const METRIC_SIGNAL = new Map<string, string>([...METRICS, ...PROBE_METRICS].map((m) => [m.metric, m.signal]));

interface ParsedEvent {
  type: 'event';
  ts: string;
  kind: string;
  id: string;
  stack?: string;
  service?: string;
  endTs?: string;
  attributes: Record<string, unknown>;
}

interface Parsed {
  /** series[stack][metric][minute] */
  series: Record<string, Record<string, number[]>>;
  events: ParsedEvent[];
  minutes: string[];
  startMs: number;
}

/** Parse JSONL lines back into per-stack series: the tests judge the data as a consumer sees it. */
function parse(lines: string[]): Parsed {
  const series: Record<string, Record<string, number[]>> = {};
  const events: ParsedEvent[] = [];
  const minutes: string[] = [];
  for (const line of lines) {
    const o = JSON.parse(line) as Record<string, unknown>;
    if (o['type'] === 'event') {
      events.push(o as unknown as ParsedEvent);
      continue;
    }
    const ts = o['ts'] as string;
    if (minutes[minutes.length - 1] !== ts) minutes.push(ts);
    const stack = o['stack'] as string;
    const metric = o['metric'] as string;
    const byMetric = (series[stack] ??= {});
    (byMetric[metric] ??= []).push(o['value'] as number);
  }
  return { series, events, minutes, startMs: Date.parse(minutes[0] ?? '') };
}

const cache = new Map<string, { detailed: DetailedScenario; parsed: Parsed }>();
function scenario(name: string, seed = 1): { detailed: DetailedScenario; parsed: Parsed; truth: Truth } {
  const key = `${name}#${seed}`;
  let hit = cache.get(key);
  if (!hit) {
    const detailed = generateScenarioDetailed(name, seed);
    hit = { detailed, parsed: parse(detailed.lines) };
    cache.set(key, hit);
  }
  return { ...hit, truth: hit.detailed.truth };
}

const minuteOf = (p: { startMs: number }, iso: string): number => (Date.parse(iso) - p.startMs) / 60_000;
const get = (p: Parsed, stack: string, metric: MetricName): number[] => {
  const s = p.series[stack]?.[metric];
  if (!s) throw new Error(`no series ${stack}/${metric}`);
  return s;
};
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(q * (s.length - 1))] as number;
};
function pearson(a: number[], b: number[]): number {
  const ma = mean(a);
  const mb = mean(b);
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < a.length; i++) {
    const x = (a[i] as number) - ma;
    const y = (b[i] as number) - mb;
    num += x * y;
    da += x * x;
    db += y * y;
  }
  return num / Math.sqrt(da * db);
}

/** One-minute gate check, recomputed from the parsed values (business uses the generator's expectation). */
function crossed(p: Parsed, expected: number[], stack: string, metric: MetricName, m: number): boolean {
  const v = get(p, stack, metric);
  switch (metric) {
    case 'http_p99_ms':
      return (v[m] as number) > 500;
    case 'http_error_ratio':
      return (v[m] as number) > 0.001;
    case 'orders_per_min': {
      const r = businessRatioAt(v, expected, m);
      return r !== null && r < 0.95;
    }
    default:
      return (v[m] as number) > 0.9;
  }
}
function sustained(p: Parsed, expected: number[], stack: string, metric: MetricName, m: number): boolean {
  for (let k = 0; k < SLO.sustainMin; k++) if (!crossed(p, expected, stack, metric, m + k)) return false;
  return true;
}
/** Minutes covered by incidents and traps (plus the business window's lag after them). */
function coveredMinutes(truth: Truth, p: Parsed): Set<number> {
  const out = new Set<number>();
  // A scheduled event that saturates a stack breaches its gates by design (nothing was pre-scaled).
  const windows = [...truth.incidents, ...truth.traps.filter((t) => t.kind !== 'none'), ...(truth.scheduled ?? []).filter((s) => s.saturates)];
  for (const w of windows) {
    for (let m = minuteOf(p, w.start); m <= minuteOf(p, w.end) + SLO.businessWindowMin; m++) out.add(m);
  }
  return out;
}

describe('fixture generator: API and determinism', () => {
  it('exports the thirteen scenarios in order (new ones last, so the others keep their dates)', () => {
    expect([...SCENARIO_NAMES]).toEqual([...INCIDENT_SCENARIOS, ...TRAP_SCENARIOS, ...SCHEDULED_SCENARIOS, ...PROBE_SCENARIOS]);
  });

  it('same seed gives byte-identical output', () => {
    for (const name of SCENARIO_NAMES) {
      const a = renderScenario(generateScenario(name, 42));
      const b = renderScenario(generateScenario(name, 42));
      expect(a.jsonl === b.jsonl, name).toBe(true);
      expect(a.truthJson).toBe(b.truthJson);
    }
  });

  it('committed fixtures are exactly the seed-1 output', () => {
    for (const name of SCENARIO_NAMES) {
      const jsonlPath = `${SCENARIO_DIR}${name}.jsonl`;
      const truthPath = `${SCENARIO_DIR}${name}.truth.json`;
      expect(existsSync(jsonlPath), jsonlPath).toBe(true);
      expect(existsSync(truthPath), truthPath).toBe(true);
      const r = renderScenario(scenario(name).detailed);
      expect(readFileSync(jsonlPath, 'utf8') === r.jsonl, `${name}.jsonl is stale: regenerate`).toBe(true);
      expect(readFileSync(truthPath, 'utf8')).toBe(r.truthJson);
    }
  });

  it('different seeds give different values', () => {
    for (const name of SCENARIO_NAMES) {
      const a = scenario(name, 1).parsed;
      const b = scenario(name, 2).parsed;
      const stack = Object.keys(a.series)[0] as string;
      for (const { metric } of METRICS) {
        const xa = get(a, stack, metric);
        const xb = get(b, stack, metric);
        let differ = 0;
        for (let i = 0; i < xa.length; i++) if (xa[i] !== xb[i]) differ++;
        expect(differ / xa.length, `${name} ${metric}`).toBeGreaterThan(0.5);
      }
    }
  });

  it('rejects unknown scenarios and non-integer seeds', () => {
    expect(() => generateScenario('no-such-thing', 1)).toThrow(/unknown scenario/);
    expect(() => generateScenario('quiet-day', 1.5)).toThrow(/integer/);
  });
});

describe('fixture generator: format', () => {
  it.each([...SCENARIO_NAMES])('%s: every line parses, has the documented fields and is sorted', (name) => {
    const { detailed, truth } = scenario(name);
    const stacks = Object.keys(truth.stacks);
    const problems: string[] = [];
    const bad = (i: number, why: string): void => {
      if (problems.length < 20) problems.push(`line ${i + 1}: ${why}`);
    };
    let prev = '';
    const ids = new Set<string>();
    const sampleKeys = 'type,ts,signal,metric,stack,service,value';
    for (const [i, line] of detailed.lines.entries()) {
      if (line.includes('\n')) bad(i, 'embedded newline');
      const o = JSON.parse(line) as Record<string, unknown>;
      const ts = o['ts'] as string;
      if (!ISO.test(ts)) bad(i, `bad ts ${ts}`);
      if (ts < prev) bad(i, 'out of order');
      prev = ts;
      if (o['type'] === 'sample') {
        if (Object.keys(o).join(',') !== sampleKeys) bad(i, `sample keys ${Object.keys(o).join(',')}`);
        if (!(SIGNALS as readonly unknown[]).includes(o['signal'])) bad(i, `signal ${String(o['signal'])}`);
        if (METRIC_SIGNAL.get(o['metric'] as string) !== o['signal']) bad(i, `metric/signal ${String(o['metric'])}/${String(o['signal'])}`);
        if (!stacks.includes(o['stack'] as string)) bad(i, `stack ${String(o['stack'])}`);
        if (o['service'] !== 'checkout') bad(i, `service ${String(o['service'])}`);
        if (typeof o['value'] !== 'number' || !Number.isFinite(o['value'])) bad(i, `value ${String(o['value'])}`);
      } else if (o['type'] === 'event') {
        if (!(EVENT_KINDS as readonly unknown[]).includes(o['kind'])) bad(i, `kind ${String(o['kind'])}`);
        const id = o['id'];
        if (typeof id !== 'string' || ids.has(id)) bad(i, `missing or duplicate id ${String(id)}`);
        ids.add(id as string);
        if (typeof o['attributes'] !== 'object' || o['attributes'] === null) bad(i, 'attributes');
        const endTs = o['endTs'];
        if (endTs !== undefined && (typeof endTs !== 'string' || !ISO.test(endTs) || endTs < ts)) bad(i, `endTs ${String(endTs)}`);
        if (o['kind'] === 'traffic_shift' || o['kind'] === 'campaign') {
          if (o['stack'] !== undefined || o['service'] !== undefined) bad(i, 'global event with a stack');
        } else if (!stacks.includes(o['stack'] as string) || o['service'] !== 'checkout') {
          bad(i, `event scope ${String(o['stack'])}/${String(o['service'])}`);
        }
      } else {
        bad(i, `type ${String(o['type'])}`);
      }
    }
    expect(problems).toEqual([]);
    expect(ids.size).toBeGreaterThanOrEqual(1);
  });

  it.each([...SCENARIO_NAMES])('%s: 2160 one-minute steps, all metrics per stack per minute', (name) => {
    const { parsed, truth } = scenario(name);
    expect(parsed.minutes).toHaveLength(DURATION_MINUTES);
    expect(parsed.minutes[0]).toBe(truth.start);
    expect(parsed.minutes[DURATION_MINUTES - 1]).toBe(truth.end);
    expect(truth.start).toMatch(/T00:00:00Z$/);
    expect(truth.stepSeconds).toBe(60);
    for (let i = 1; i < parsed.minutes.length; i++) {
      expect(Date.parse(parsed.minutes[i] as string) - Date.parse(parsed.minutes[i - 1] as string)).toBe(60_000);
    }
    expect(Object.keys(parsed.series).sort()).toEqual(Object.keys(truth.stacks).sort());
    for (const stack of Object.keys(truth.stacks)) {
      for (const { metric } of METRICS) expect(get(parsed, stack, metric), `${stack}/${metric}`).toHaveLength(DURATION_MINUTES);
    }
    // the parsed values are the generator's series (no loss in serialization)
    for (const stack of Object.keys(truth.stacks)) {
      for (const { metric } of METRICS) expect(get(parsed, stack, metric)).toEqual(scenario(name).detailed.series[stack]?.[metric]);
    }
  });

  it.each([...SCENARIO_NAMES])('%s: starts with a traffic_shift giving the initial split; every split sums to 100', (name) => {
    const { detailed, parsed, truth } = scenario(name);
    const first = JSON.parse(detailed.lines[0] as string) as ParsedEvent;
    expect(first.type).toBe('event');
    expect(first.kind).toBe('traffic_shift');
    expect(first.ts).toBe(truth.start);
    expect(first.stack).toBeUndefined();
    const initial = first.attributes['weights'] as Record<string, number>;
    for (const [stack, info] of Object.entries(truth.stacks)) expect(initial[stack]).toBe(info.share);
    const shifts = parsed.events.filter((e) => e.kind === 'traffic_shift');
    expect(shifts.length).toBeGreaterThanOrEqual(1);
    for (const s of shifts) {
      const w = s.attributes['weights'] as Record<string, number>;
      expect(Object.keys(w).sort()).toEqual(Object.keys(truth.stacks).sort());
      expect(sum(Object.values(w))).toBe(100);
    }
    expect(sum(Object.values(truth.stacks).map((s) => s.share))).toBe(100);
    expect(Object.values(truth.stacks).filter((s) => s.primary)).toHaveLength(1);
    for (let m = 0; m < DURATION_MINUTES; m += 7) {
      expect(sum(Object.values(detailed.shares).map((s) => s[m] as number))).toBe(100);
    }
  });

  it.each([...SCENARIO_NAMES])('%s: values are in range and rounded', (name) => {
    const { parsed } = scenario(name);
    const decimals = (x: number): number => (String(x).split('.')[1] ?? '').length;
    const problems: string[] = [];
    const check = (stack: string, metric: MetricName, ok: (v: number) => boolean): void => {
      for (const [m, v] of get(parsed, stack, metric).entries()) {
        if (!ok(v) && problems.length < 20) problems.push(`${stack} ${metric} ${parsed.minutes[m]} = ${v}`);
      }
    };
    for (const stack of Object.keys(parsed.series)) {
      check(stack, 'http_p99_ms', (v) => v > 50 && decimals(v) <= 2);
      check(stack, 'http_error_ratio', (v) => v >= 0 && v < 0.05 && Number(v.toPrecision(6)) === v);
      check(stack, 'orders_per_min', (v) => Number.isInteger(v) && v >= 0);
      for (const metric of ['cpu_utilization', 'memory_utilization', 'db_pool_utilization'] as const) {
        check(stack, metric, (v) => v >= 0 && v <= 1 && decimals(v) <= 4);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('fixture generator: healthy behaviour', () => {
  it('quiet-day looks like the documented healthy platform', () => {
    const { parsed } = scenario('quiet-day');
    for (const stack of ['us-east-1', 'us-west-2']) {
      const p99 = get(parsed, stack, 'http_p99_ms');
      expect(quantile(p99, 0.01)).toBeGreaterThan(140);
      expect(quantile(p99, 0.99)).toBeLessThan(300);
      const err = get(parsed, stack, 'http_error_ratio');
      expect(quantile(err, 0.5)).toBeGreaterThan(0.0002);
      expect(quantile(err, 0.5)).toBeLessThan(0.0004);
      expect(quantile(err, 0.999)).toBeLessThan(0.001);
      const mem = get(parsed, stack, 'memory_utilization');
      expect(Math.abs(quantile(mem, 0.5) - 0.55)).toBeLessThan(0.03);
      expect(quantile(mem, 1) - quantile(mem, 0)).toBeLessThan(0.1);
      const pool = get(parsed, stack, 'db_pool_utilization');
      expect(quantile(pool, 0.5)).toBeGreaterThan(0.15);
      expect(quantile(pool, 0.99)).toBeLessThan(0.4);
      // traffic-driven metrics follow the daily cycle
      const orders = get(parsed, stack, 'orders_per_min');
      const cpu = get(parsed, stack, 'cpu_utilization');
      expect(pearson(orders, cpu)).toBeGreaterThan(0.8);
      expect(pearson(orders, p99)).toBeGreaterThan(0.7);
      expect(pearson(orders, pool)).toBeGreaterThan(0.7);
    }
    // total orders: ~300 at night to ~1200 at peak (hourly means)
    const east = get(parsed, 'us-east-1', 'orders_per_min');
    const west = get(parsed, 'us-west-2', 'orders_per_min');
    const hourly: number[] = [];
    for (let h = 0; h < 36; h++) hourly.push(mean(east.slice(h * 60, h * 60 + 60)) + mean(west.slice(h * 60, h * 60 + 60)));
    expect(Math.min(...hourly)).toBeGreaterThan(240);
    expect(Math.min(...hourly)).toBeLessThan(380);
    expect(Math.max(...hourly)).toBeGreaterThan(1050);
    expect(Math.max(...hourly)).toBeLessThan(1400);
    // 50/50: each stack gets half
    expect(sum(east) / sum(west)).toBeGreaterThan(0.97);
    expect(sum(east) / sum(west)).toBeLessThan(1.03);
  });

  it('healthy series carry noise and occasional single-point spikes', () => {
    const { parsed } = scenario('quiet-day');
    const p99 = get(parsed, 'us-east-1', 'http_p99_ms');
    let jumps = 0;
    const diffs: number[] = [];
    for (let m = 1; m < p99.length; m++) diffs.push((p99[m] as number) - (p99[m - 1] as number));
    const sd = Math.sqrt(mean(diffs.map((d) => d * d)));
    expect(sd).toBeGreaterThan(3);
    for (let m = 1; m < p99.length - 1; m++) {
      const x = p99[m] as number;
      if (x - (p99[m - 1] as number) > 3 * sd && x - (p99[m + 1] as number) > 3 * sd) jumps++;
    }
    expect(jumps).toBeGreaterThanOrEqual(3);
    expect(jumps).toBeLessThanOrEqual(40);
  });

  it.each([...SCENARIO_NAMES])('%s: no SLO gate is breached on a full-size stack outside incident and trap windows', (name) => {
    const { parsed, truth, detailed } = scenario(name);
    const covered = coveredMinutes(truth, parsed);
    const problems: string[] = [];
    let judged = 0;
    for (const stack of Object.keys(truth.stacks)) {
      if (stack === 'canary') continue; // 5 % of traffic: small-sample noise by design
      const expected = detailed.expectedOrders[stack] as number[];
      for (let m = 0; m + SLO.sustainMin <= DURATION_MINUTES; m++) {
        if (covered.has(m)) continue;
        judged++;
        for (const metric of HARD_GATES) {
          if (sustained(parsed, expected, stack, metric, m)) problems.push(`${stack} ${metric} at ${parsed.minutes[m]}`);
        }
        const r = businessRatioAt(get(parsed, stack, 'orders_per_min'), expected, m);
        if (r !== null && r <= 0.9) problems.push(`${stack} business ${r.toFixed(3)} at ${parsed.minutes[m]}`);
      }
    }
    expect(judged).toBeGreaterThan(2000);
    expect(problems).toEqual([]);
  });
});

describe('fixture generator: scheduled events', () => {
  it.each([1, 2, 3])('seed %i: the campaign is announced hours ahead; at ×1.9-2.2 only the smaller us-west-2 saturates, at ×1.2-1.3 nothing', (seed) => {
    for (const name of SCHEDULED_SCENARIOS) {
      const { lines, truth } = generateScenario(name, seed);
      const announcement = lines.map((l) => JSON.parse(l)).find((o) => o.type === 'event' && o.kind === 'campaign');
      expect(Date.parse(announcement.startTs) - Date.parse(announcement.ts)).toBeGreaterThanOrEqual(180 * 60_000);
      expect(announcement.attributes.expectedTrafficMultiplier).toBe(truth.scheduled![0]!.multiplier);
      const saturating = truth.scheduled!.filter((s) => s.saturates).map((s) => s.stack);
      expect(saturating).toEqual(name === 'campaign-saturation' ? ['us-west-2'] : []);
      for (const s of truth.scheduled!) expect(s.capacityFactorToGate > 1).toBe(s.saturates);
    }
  });
});

describe('fixture generator: health-check probes', () => {
  it.each([1, 2, 3])('seed %i: integrity-drift: the probe runs every 5 minutes on each stack; only us-west-2 drifts, past the gate in 3 runs', (seed) => {
    const { lines, truth } = generateScenario('integrity-drift', seed);
    const agreement = PROBE_METRICS[0].metric;
    const runs: Record<string, { minute: number; value: number }[]> = {};
    const t0 = Date.parse(truth.start);
    for (const l of lines) {
      const o = JSON.parse(l);
      if (o.type !== 'sample' || o.metric !== agreement) continue;
      (runs[o.stack] ??= []).push({ minute: (Date.parse(o.ts) - t0) / 60_000, value: o.value });
    }
    for (const stack of ['us-east-1', 'us-west-2']) {
      const r = runs[stack]!;
      expect(r).toHaveLength(2160 / PROBE.everyMin);
      // Every run at the same slot of the interval, a different slot per stack.
      expect(new Set(r.map((x) => x.minute % PROBE.everyMin)).size).toBe(1);
    }
    expect(runs['us-east-1']![0]!.minute % 5).not.toBe(runs['us-west-2']![0]!.minute % 5);
    // Healthy: in agreement, now and then one run a little past the tolerance, never two in a row.
    const east = runs['us-east-1']!.map((x) => x.value);
    expect(east.filter((v) => v === 1).length / east.length).toBeGreaterThan(0.97);
    expect(Math.min(...east)).toBeGreaterThan(0.997);
    expect(east.some((v, i) => v < 1 && (east[i + 1] ?? 1) < 1)).toBe(false);
    // The incident: a stall on us-west-2 whose breach is the third run in a row under 0.95 (the first of them).
    expect(truth.incidents).toHaveLength(1);
    const inc = truth.incidents[0]!;
    expect(inc).toMatchObject({
      stack: 'us-west-2',
      cause: 'data_integrity',
      causeEventId: null,
      expectedActions: ['shift_traffic'],
      breachedMetric: agreement,
    });
    const minute = (iso: string) => (Date.parse(iso) - t0) / 60_000;
    const west = runs['us-west-2']!;
    const i = west.findIndex((x) => x.minute === minute(inc.sloBreachAt));
    expect(west.slice(i, i + 3).every((x) => x.value < 0.95)).toBe(true);
    expect(inc.breachedValue).toBe(west[i]!.value);
    expect(west[i - 1]!.value).toBeGreaterThanOrEqual(0.95);
    // 45 to 60 minutes to lose 5 %, so the drift is on record long before the breach.
    const room = minute(inc.sloBreachAt) - minute(inc.start);
    expect(room).toBeGreaterThanOrEqual(40);
    expect(room).toBeLessThanOrEqual(70);
    // Nothing else moves: no probe failures, and no ordinary SLO gate breached on either stack.
    expect(lines.some((l) => l.includes(PROBE_METRICS[1].metric) && !l.includes('"value":0}'))).toBe(false);
  });
});

describe('fixture generator: incidents', () => {
  it.each(INCIDENT_SCENARIOS)('%s: truth has one incident and no traps', (name) => {
    const { truth, parsed } = scenario(name);
    expect(truth.scenario).toBe(name);
    expect(truth.seed).toBe(1);
    expect(truth.description.length).toBeGreaterThan(80);
    expect(truth.traps).toEqual([]);
    expect(truth.incidents).toHaveLength(1);
    const inc = truth.incidents[0]!;
    expect(inc.service).toBe('checkout');
    expect(Object.keys(truth.stacks)).toContain(inc.stack);
    for (const t of [inc.start, inc.sloBreachAt, inc.end]) expect(t).toMatch(ISO);
    expect(inc.start < inc.sloBreachAt && inc.sloBreachAt < inc.end).toBe(true);
    // incidents happen in the last 12 hours, after a full day of history
    expect(minuteOf(parsed, inc.start)).toBeGreaterThanOrEqual(1440);
    expect(minuteOf(parsed, inc.end)).toBeLessThan(DURATION_MINUTES);
    expect(inc.expectedActions.length).toBeGreaterThan(0);
    if (inc.causeEventId !== null) {
      const ev = parsed.events.find((e) => e.id === inc.causeEventId);
      expect(ev?.kind).toBe('deployment');
      expect(ev?.stack).toBe(inc.stack);
      expect(typeof ev?.attributes['version']).toBe('string');
      const lagMin = (Date.parse(inc.start) - Date.parse(ev!.ts)) / 60_000;
      expect(lagMin).toBeGreaterThan(2);
      expect(lagMin).toBeLessThan(6);
    }
  });

  it('incident culprits, causes and expected actions match the catalogue', () => {
    const brief: Record<string, { stack: string; cause: string; actions: string[]; event: boolean }> = {
      'bad-deploy': { stack: 'us-west-2', cause: 'deployment', actions: ['rollback', 'shift_traffic'], event: true },
      'memory-leak': { stack: 'us-east-1', cause: 'memory_leak', actions: ['shift_traffic'], event: false },
      'pool-exhaustion': { stack: 'us-west-2', cause: 'connection_pool_exhaustion', actions: ['shift_traffic'], event: false },
      'dependency-failure': { stack: 'us-east-1', cause: 'dependency_failure', actions: ['shift_traffic'], event: false },
      'canary-bad-deploy': { stack: 'canary', cause: 'deployment', actions: ['rollback', 'pause_rollout'], event: true },
    };
    for (const [name, want] of Object.entries(brief)) {
      const inc = scenario(name).truth.incidents[0]!;
      expect(inc.stack, name).toBe(want.stack);
      expect(inc.cause, name).toBe(want.cause);
      expect(inc.expectedActions, name).toEqual(want.actions);
      expect(inc.causeEventId !== null, name).toBe(want.event);
    }
    const canary = scenario('canary-bad-deploy').truth;
    expect(canary.stacks).toEqual({ prod: { share: 95, primary: true }, canary: { share: 5, primary: false } });
    expect(scenario('memory-leak').parsed.events.some((e) => e.kind === 'deployment')).toBe(false);
  });

  for (const seed of [1, 2, 3]) {
    it.each(INCIDENT_SCENARIOS)(`%s (seed ${seed}): the breached metric crosses its gate at sloBreachAt and not before`, (name) => {
      const { truth, parsed, detailed } = scenario(name, seed);
      const inc = truth.incidents[0]!;
      const start = minuteOf(parsed, inc.start);
      const breach = minuteOf(parsed, inc.sloBreachAt);
      const expected = detailed.expectedOrders[inc.stack] as number[];
      const metric = inc.breachedMetric as MetricName;
      expect(sustained(parsed, expected, inc.stack, metric, breach)).toBe(true);
      const raw = get(parsed, inc.stack, metric)[breach] as number;
      if (inc.breachedMetric === 'orders_per_min') {
        expect(inc.breachedValue).toBeLessThan(0.95);
      } else {
        expect(inc.breachedValue).toBe(raw);
      }
      for (let m = start; m < breach; m++) {
        for (const { metric } of METRICS) {
          expect(sustained(parsed, expected, inc.stack, metric, m), `${metric} already breached at ${parsed.minutes[m]}`).toBe(false);
        }
      }
      // the fault is gradual: nothing is out of line in its first minutes (except single-minute
      // small-sample blips on the 5 % canary, which happen there at any time)
      if (inc.stack !== 'canary') {
        for (let m = start; m < start + 5; m++) {
          for (const { metric } of METRICS) expect(crossed(parsed, expected, inc.stack, metric, m)).toBe(false);
        }
      }
      const delay = breach - start;
      if (name === 'memory-leak') {
        expect(delay).toBeGreaterThanOrEqual(150);
        expect(delay).toBeLessThanOrEqual(240);
      } else if (seed === 1) {
        expect(delay).toBeGreaterThanOrEqual(30);
        expect(delay).toBeLessThanOrEqual(90);
      } else {
        expect(delay).toBeGreaterThanOrEqual(20);
        expect(delay).toBeLessThanOrEqual(120);
      }
      // the peer stack(s) stay healthy throughout the incident
      for (const peer of Object.keys(truth.stacks).filter((s) => s !== inc.stack)) {
        const pe = detailed.expectedOrders[peer] as number[];
        for (let m = start; m < minuteOf(parsed, inc.end); m++) {
          for (const metric of HARD_GATES) {
            expect(sustained(parsed, pe, peer, metric, m), `peer ${peer} ${metric}`).toBe(false);
          }
        }
      }
      // and the culprit recovers by the end of the incident
      const end = minuteOf(parsed, inc.end);
      for (const metric of ['http_p99_ms', 'http_error_ratio', 'memory_utilization', 'db_pool_utilization'] as const) {
        expect(sustained(parsed, expected, inc.stack, metric, end + 2), `${metric} after the incident`).toBe(false);
      }
    });
  }

  it('bad-deploy: errors and p99 ramp on us-west-2 and its orders dip', () => {
    const { truth, parsed, detailed } = scenario('bad-deploy');
    const inc = truth.incidents[0]!;
    const s = minuteOf(parsed, inc.start);
    const b = minuteOf(parsed, inc.sloBreachAt);
    const err = get(parsed, 'us-west-2', 'http_error_ratio');
    const p99 = get(parsed, 'us-west-2', 'http_p99_ms');
    expect(mean(err.slice(b, b + 15))).toBeGreaterThan(2.5 * mean(err.slice(s - 60, s)));
    expect(mean(p99.slice(b, b + 15)) - mean(p99.slice(s - 60, s))).toBeGreaterThan(80);
    const orders = get(parsed, 'us-west-2', 'orders_per_min');
    const exp = detailed.expectedOrders['us-west-2'] as number[];
    expect(sum(orders.slice(b + 5, b + 20)) / sum(exp.slice(b + 5, b + 20))).toBeLessThan(0.97);
  });

  it('memory-leak: memory climbs over hours on us-east-1 and p99 creeps up in the last hour', () => {
    const { truth, parsed } = scenario('memory-leak');
    const inc = truth.incidents[0]!;
    const s = minuteOf(parsed, inc.start);
    const b = minuteOf(parsed, inc.sloBreachAt);
    const mem = get(parsed, 'us-east-1', 'memory_utilization');
    expect(mean(mem.slice(s - 30, s))).toBeLessThan(0.58);
    expect(mean(mem.slice(s + 60, s + 70))).toBeLessThan(0.7);
    expect(inc.breachedMetric).toBe('memory_utilization');
    const p99 = get(parsed, 'us-east-1', 'http_p99_ms');
    const westP99 = get(parsed, 'us-west-2', 'http_p99_ms');
    expect(mean(p99.slice(b - 10, b)) - mean(westP99.slice(b - 10, b))).toBeGreaterThan(50);
    expect(mean(p99.slice(b - 130, b - 110)) - mean(westP99.slice(b - 130, b - 110))).toBeLessThan(20);
  });

  it('pool-exhaustion: the pool saturates first, then p99 and errors follow', () => {
    const { truth, parsed } = scenario('pool-exhaustion');
    const inc = truth.incidents[0]!;
    expect(inc.breachedMetric).toBe('db_pool_utilization');
    const b = minuteOf(parsed, inc.sloBreachAt);
    const end = minuteOf(parsed, inc.end);
    const pool = get(parsed, 'us-west-2', 'db_pool_utilization');
    const p99 = get(parsed, 'us-west-2', 'http_p99_ms');
    const err = get(parsed, 'us-west-2', 'http_error_ratio');
    expect(Math.max(...pool.slice(b, end))).toBe(1);
    const firstP99 = p99.findIndex((v, m) => m >= b && v > 500);
    const firstErr = err.findIndex((v, m) => m >= b && v > 0.001);
    expect(firstP99).toBeGreaterThan(b);
    expect(firstErr).toBeGreaterThan(b);
  });

  it('dependency-failure: errors climb past 0.001, orders drop 20-40 %, latency rises modestly', () => {
    const { truth, parsed, detailed } = scenario('dependency-failure');
    const inc = truth.incidents[0]!;
    const s = minuteOf(parsed, inc.start);
    const end = minuteOf(parsed, inc.end);
    const err = get(parsed, 'us-east-1', 'http_error_ratio');
    const plateau = [end - 40, end - 15] as const;
    expect(mean(err.slice(...plateau))).toBeGreaterThan(0.0015);
    const orders = get(parsed, 'us-east-1', 'orders_per_min');
    const exp = detailed.expectedOrders['us-east-1'] as number[];
    const drop = 1 - sum(orders.slice(...plateau)) / sum(exp.slice(...plateau));
    expect(drop).toBeGreaterThan(0.2);
    expect(drop).toBeLessThan(0.4);
    const p99 = get(parsed, 'us-east-1', 'http_p99_ms');
    const rise = mean(p99.slice(...plateau)) - mean(p99.slice(s - 30, s));
    expect(rise).toBeGreaterThan(20);
    expect(rise).toBeLessThan(150);
  });

  it('canary-bad-deploy: only the 5 % canary degrades; its order counts are small', () => {
    const { truth, parsed } = scenario('canary-bad-deploy');
    const inc = truth.incidents[0]!;
    const s = minuteOf(parsed, inc.start);
    const b = minuteOf(parsed, inc.sloBreachAt);
    const canaryOrders = get(parsed, 'canary', 'orders_per_min');
    const prodOrders = get(parsed, 'prod', 'orders_per_min');
    expect(mean(canaryOrders.slice(s, b))).toBeLessThan(80);
    expect(sum(canaryOrders) / (sum(canaryOrders) + sum(prodOrders))).toBeCloseTo(0.05, 2);
    const p99 = get(parsed, 'canary', 'http_p99_ms');
    expect(mean(p99.slice(b, b + 10)) - mean(p99.slice(s - 30, s))).toBeGreaterThan(100);
    expect(Math.max(...get(parsed, 'prod', 'http_error_ratio').slice(s, b))).toBeLessThan(0.001);
  });
});

describe('fixture generator: traps', () => {
  it.each(TRAP_SCENARIOS)('%s: truth has no incidents, only trap windows', (name) => {
    const { truth, parsed } = scenario(name);
    expect(truth.incidents).toEqual([]);
    expect(truth.traps.length).toBeGreaterThan(0);
    for (const t of truth.traps) {
      expect(['global_slowdown', 'campaign', 'perf_test', 'cold_cache', 'none']).toContain(t.kind);
      expect(t.start < t.end).toBe(true);
      expect(minuteOf(parsed, t.start)).toBeGreaterThanOrEqual(1440);
      expect(minuteOf(parsed, t.end)).toBeLessThan(DURATION_MINUTES);
      expect(t.description.length).toBeGreaterThan(20);
      if (t.causeEventId !== null) expect(parsed.events.some((e) => e.id === t.causeEventId)).toBe(true);
    }
  });

  for (const seed of [1, 2]) {
    it(`global-slowdown (seed ${seed}): both stacks' p99 move together, past 500 ms`, () => {
      const { truth, parsed } = scenario('global-slowdown', seed);
      const t = truth.traps[0]!;
      expect(t.kind).toBe('global_slowdown');
      const a = minuteOf(parsed, t.start);
      const b = minuteOf(parsed, t.end);
      const east = get(parsed, 'us-east-1', 'http_p99_ms').slice(a, b);
      const west = get(parsed, 'us-west-2', 'http_p99_ms').slice(a, b);
      expect(b - a).toBeGreaterThanOrEqual(55);
      expect(b - a).toBeLessThanOrEqual(75);
      expect(pearson(east, west)).toBeGreaterThan(0.8);
      expect(Math.max(...east)).toBeGreaterThan(500);
      expect(Math.max(...west)).toBeGreaterThan(500);
      for (const stack of ['us-east-1', 'us-west-2']) {
        const err = get(parsed, stack, 'http_error_ratio');
        expect(mean(err.slice(a + 15, b - 15))).toBeGreaterThan(mean(err.slice(a - 60, a)));
        expect(mean(err.slice(a + 15, b - 15))).toBeLessThan(0.001);
      }
    });
  }

  it('campaign-surge: a global campaign lifts total orders 50-80 % and both stacks together', () => {
    const { truth, parsed, detailed } = scenario('campaign-surge');
    const t = truth.traps[0]!;
    const ev = parsed.events.find((e) => e.id === t.causeEventId)!;
    expect(ev.kind).toBe('campaign');
    expect(ev.stack).toBeUndefined();
    expect(ev.endTs).toBeDefined();
    const a = minuteOf(parsed, ev.ts) + 15;
    const b = minuteOf(parsed, ev.endTs!) - 5;
    const east = get(parsed, 'us-east-1', 'orders_per_min');
    const west = get(parsed, 'us-west-2', 'orders_per_min');
    const total = sum(east.slice(a, b)) + sum(west.slice(a, b));
    const yesterday = sum(east.slice(a - 1440, b - 1440)) + sum(west.slice(a - 1440, b - 1440));
    expect(total / yesterday).toBeGreaterThan(1.4);
    expect(total / yesterday).toBeLessThan(1.9);
    expect(sum(east.slice(a, b)) / sum(west.slice(a, b))).toBeGreaterThan(0.95);
    expect(sum(east.slice(a, b)) / sum(west.slice(a, b))).toBeLessThan(1.05);
    // business per traffic share stays at the expectation (which includes the campaign)
    for (const stack of ['us-east-1', 'us-west-2']) {
      const r = sum(get(parsed, stack, 'orders_per_min').slice(a, b)) / sum((detailed.expectedOrders[stack] as number[]).slice(a, b));
      expect(Math.abs(r - 1)).toBeLessThan(0.03);
    }
    const w0 = minuteOf(parsed, t.start) - 60;
    const w1 = minuteOf(parsed, t.end);
    const cpuE = get(parsed, 'us-east-1', 'cpu_utilization').slice(w0, w1);
    const cpuW = get(parsed, 'us-west-2', 'cpu_utilization').slice(w0, w1);
    expect(pearson(cpuE, cpuW)).toBeGreaterThan(0.8);
    for (const stack of ['us-east-1', 'us-west-2']) {
      const cpu = get(parsed, stack, 'cpu_utilization');
      const p99 = get(parsed, stack, 'http_p99_ms');
      expect(mean(cpu.slice(a, b)) - mean(cpu.slice(a - 1440, b - 1440))).toBeGreaterThan(0.08);
      const dp99 = mean(p99.slice(a, b)) - mean(p99.slice(a - 1440, b - 1440));
      expect(dp99).toBeGreaterThan(15);
      expect(dp99).toBeLessThan(150);
    }
  });

  it('perf-test: only us-east-1 capacity and latency rise, orders unchanged', () => {
    const { truth, parsed } = scenario('perf-test');
    const t = truth.traps[0]!;
    const ev = parsed.events.find((e) => e.id === t.causeEventId)!;
    expect(ev.kind).toBe('perf_test');
    expect(ev.stack).toBe('us-east-1');
    const a = minuteOf(parsed, ev.ts);
    const b = minuteOf(parsed, ev.endTs!);
    expect(b - a).toBeGreaterThanOrEqual(40);
    expect(b - a).toBeLessThanOrEqual(50);
    const inner = [a + 5, b - 3] as const;
    const cpuE = mean(get(parsed, 'us-east-1', 'cpu_utilization').slice(...inner));
    const cpuW = mean(get(parsed, 'us-west-2', 'cpu_utilization').slice(...inner));
    expect(cpuE - cpuW).toBeGreaterThan(0.25);
    const p99E = mean(get(parsed, 'us-east-1', 'http_p99_ms').slice(...inner));
    expect(p99E).toBeGreaterThan(330);
    expect(p99E).toBeLessThan(480);
    expect(mean(get(parsed, 'us-east-1', 'db_pool_utilization').slice(...inner))).toBeGreaterThan(0.4);
    const oE = sum(get(parsed, 'us-east-1', 'orders_per_min').slice(...inner));
    const oW = sum(get(parsed, 'us-west-2', 'orders_per_min').slice(...inner));
    expect(oE / oW).toBeGreaterThan(0.92);
    expect(oE / oW).toBeLessThan(1.08);
  });

  it('cold-cache-shift: 50/50 → 20/80, a short p99 spike on us-west-2, traffic metrics follow the share', () => {
    const { truth, parsed, detailed } = scenario('cold-cache-shift');
    const shift = parsed.events.find((e) => e.kind === 'traffic_shift' && e.id !== 'shift-initial')!;
    expect(shift.attributes['weights']).toEqual({ 'us-east-1': 20, 'us-west-2': 80 });
    expect(parsed.events.some((e) => e.kind === 'maintenance' && e.stack === 'us-east-1' && e.ts === shift.ts)).toBe(true);
    const s = minuteOf(parsed, shift.ts);
    expect(truth.traps[0]!.kind).toBe('cold_cache');
    expect(minuteOf(parsed, truth.traps[0]!.start)).toBe(s);
    const p99 = get(parsed, 'us-west-2', 'http_p99_ms');
    const before = mean(p99.slice(s - 30, s));
    expect(Math.max(...p99.slice(s, s + 3)) - before).toBeGreaterThan(150);
    // recovered within ~12 minutes: back near the new (higher-load) normal
    const settled = mean(p99.slice(s + 20, s + 40));
    expect(mean(p99.slice(s + 12, s + 18)) - settled).toBeLessThan(25);
    expect(settled - before).toBeLessThan(60);
    // orders and cpu scale with the new share; per-share business stays normal
    const oE = get(parsed, 'us-east-1', 'orders_per_min');
    const oW = get(parsed, 'us-west-2', 'orders_per_min');
    const ratio = sum(oW.slice(s + 1, s + 61)) / sum(oE.slice(s + 1, s + 61));
    expect(ratio).toBeGreaterThan(3.4);
    expect(ratio).toBeLessThan(4.7);
    expect(detailed.shares['us-west-2']?.[s]).toBe(80);
    const cpuW = get(parsed, 'us-west-2', 'cpu_utilization');
    const cpuE = get(parsed, 'us-east-1', 'cpu_utilization');
    expect(mean(cpuW.slice(s + 20, s + 60)) - mean(cpuW.slice(s - 40, s))).toBeGreaterThan(0.1);
    expect(mean(cpuE.slice(s + 20, s + 60))).toBeLessThan(mean(cpuE.slice(s - 40, s)));
    for (const stack of ['us-east-1', 'us-west-2']) {
      const o = get(parsed, stack, 'orders_per_min');
      const r = sum(o.slice(s + 1, s + 61)) / sum((detailed.expectedOrders[stack] as number[]).slice(s + 1, s + 61));
      expect(Math.abs(r - 1)).toBeLessThan(0.04);
    }
  });

  it('quiet-day: no SLO gate is breached at all', () => {
    const { truth, parsed, detailed } = scenario('quiet-day');
    expect(truth.traps.map((t) => t.kind)).toEqual(['none']);
    const problems: string[] = [];
    for (const stack of Object.keys(truth.stacks)) {
      for (let m = 0; m + SLO.sustainMin <= DURATION_MINUTES; m++) {
        for (const metric of HARD_GATES) {
          if (sustained(parsed, detailed.expectedOrders[stack] as number[], stack, metric, m)) problems.push(`${stack} ${metric} ${parsed.minutes[m]}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('fixture generator: CLI arguments', () => {
  it('parses --out, --seed and --only (repeatable, comma-separated, --flag=value)', () => {
    expect(parseCliArgs([])).toEqual({ out: 'fixtures/scenarios', seed: 1, only: [], help: false });
    expect(parseCliArgs(['--out', '/tmp/x', '--seed', '7', '--only', 'bad-deploy,quiet-day', '--only=perf-test'])).toEqual({
      out: '/tmp/x',
      seed: 7,
      only: ['bad-deploy', 'quiet-day', 'perf-test'],
      help: false,
    });
    expect(parseCliArgs(['--help']).help).toBe(true);
  });

  it('rejects bad arguments', () => {
    expect(() => parseCliArgs(['--seed', 'abc'])).toThrow(/integer/);
    expect(() => parseCliArgs(['--only', 'nope'])).toThrow(/unknown scenario/);
    expect(() => parseCliArgs(['--out'])).toThrow(/needs a value/);
    expect(() => parseCliArgs(['--frobnicate'])).toThrow(/unknown argument/);
  });
});

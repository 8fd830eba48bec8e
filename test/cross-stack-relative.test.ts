import { describe, expect, it } from 'vitest';
import { judgeStacks, type StackInput } from '../src/core/detection/cross-stack-delta.js';
import { DetectionEngine } from '../src/core/detection/detection-engine.js';
import { defaultDetectionConfig } from '../src/config/detection.js';
import type { ContextEvent, DetectionEvent, Sample, Signal } from '../src/domain/types.js';

/** The cross-stack comparison: a stack under its own perf test, chaos experiment or maintenance is no control for its peers. */

const cfg = defaultDetectionConfig();
const p = { ...cfg.delta, warnScore: cfg.threshold.warnScore };

function stack(name: string, score: number, extra: Partial<StackInput> = {}): StackInput {
  return { stack: name, score, value: 0, expected: 0, samplesInWindow: 10, episodeMinutes: 10, inEpisode: score >= 4, volume: NaN, confirmed: true, ...extra };
}

describe('stacks under their own perf test, chaos experiment or maintenance are no control', () => {
  it('judges the culprit against the other peers when a perf test loads a third stack', () => {
    const culprit = stack('us-west-2', 8);
    const tested = stack('eu-west-1', 6, { aside: 'perf_test perf-737' });
    const calm = stack('eu-central-1', 0.3);
    // Before: the loaded stack counted as a deviating peer, no single culprit.
    expect(judgeStacks([culprit, { ...tested, aside: undefined } as StackInput, calm], p)).toMatchObject({ scope: 'partial' });
    const v = judgeStacks([culprit, tested, calm], p);
    expect(v).toMatchObject({ scope: 'local', stack: 'us-west-2' });
    expect(v!.reason).toContain('eu-west-1 left out: perf_test perf-737');
  });

  it('judges all stacks as before when the tested stack is the only one deviating, or the only peer', () => {
    const tested = stack('eu-west-1', 6, { aside: 'chaos chaos-1' });
    expect(judgeStacks([tested, stack('us-west-2', 0.2), stack('eu-central-1', 0.3)], p)).toMatchObject({ scope: 'local', stack: 'eu-west-1' });
    const asBefore = judgeStacks([stack('us-west-2', 8), { ...tested, aside: undefined } as StackInput], p);
    expect(judgeStacks([stack('us-west-2', 8), tested], p)).toMatchObject({ scope: asBefore!.scope, stack: asBefore!.stack });
  });
});

// Engine level: synthetic minutes through the DetectionEngine.
const MIN = 60_000;
const T0 = Date.UTC(2026, 2, 1);
const DIP = 1800; // 06:00 on day two

function noise(i: number): number {
  const x = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
  return (x - Math.floor(x) - 0.5) * 2;
}
const daily = (m: number): number => 1 + 0.3 * Math.sin((2 * Math.PI * (m % 1440)) / 1440);

function run(
  minutes: number,
  stacks: string[],
  metric: string,
  signal: Signal,
  value: (stack: string, m: number) => number,
  events: ContextEvent[] = [],
): { events: DetectionEvent[]; engine: DetectionEngine } {
  const out: DetectionEvent[] = [];
  const engine = new DetectionEngine(cfg, { detection: (e) => out.push(e) });
  const pending = [...events];
  for (let m = 0; m < minutes; m++) {
    while (pending.length > 0 && pending[0]!.ts <= T0 + m * MIN) engine.offerEvent(pending.shift()!);
    for (const s of stacks) {
      const sample: Sample = { ts: T0 + m * MIN, signal, metric, stack: s, service: 'checkout', value: value(s, m) };
      engine.offerSample(sample);
    }
  }
  engine.flush();
  return { events: out, engine };
}

describe('the engine leaves tested stacks out', () => {
  const stacks = ['eu-west-1', 'eu-central-1', 'us-east-1'];

  it('leaves a stack under a perf test out of the peers while the test lasts', () => {
    const perf: ContextEvent = {
      ts: T0 + (DIP - 5) * MIN,
      endTs: T0 + (DIP + 60) * MIN,
      kind: 'perf_test',
      id: 'load-1',
      stack: 'us-east-1',
      service: 'checkout',
      attributes: {},
    };
    const latency = (s: string, m: number): number =>
      200 * daily(m) + 8 * noise(m * 7 + s.length) + (m >= DIP && m < DIP + 60 ? (s === 'us-east-1' ? 300 : s === 'eu-west-1' ? (m - DIP) * 8 : 0) : 0);
    const withEvent = run(DIP + 60, stacks, 'http_p99_ms', 'latency', latency, [perf]).events;
    // The loaded stack alone deviating is judged as before (its own event explains it downstream) ...
    expect(withEvent.find((e) => e.type === 'delta' && e.scope === 'local')).toMatchObject({ stack: 'us-east-1' });
    // ... and once the culprit deviates too, it is judged against the stack left.
    const local = withEvent.find((e) => e.type === 'delta' && e.scope === 'local' && e.stack === 'eu-west-1');
    expect(local).toBeDefined();
    expect(local!.type === 'delta' && local!.reason).toContain('us-east-1 left out: perf_test load-1');
    // Unannounced, the loaded stack is a deviating peer: no single culprit.
    const without = run(DIP + 60, stacks, 'http_p99_ms', 'latency', latency).events;
    expect(without.filter((e) => e.type === 'delta' && e.scope === 'local' && e.stack === 'eu-west-1')).toHaveLength(0);
  });
});

import { describe, expect, it } from 'vitest';
import { judgeStacks, type StackInput } from '../src/core/detection/cross-stack-delta.js';
import { DetectionEngine } from '../src/core/detection/detection-engine.js';
import { defaultDetectionConfig } from '../src/config/detection.js';
import { decodeState, encodeState } from '../src/core/state/json-codec.js';
import type { ContextEvent, DetectionEvent, Sample, Signal } from '../src/domain/types.js';

/**
 * The cross-stack comparison beside sigma scores: stacks are also compared by how far they moved
 * as a fraction of their expected values, and a stack under its own perf test, chaos experiment
 * or maintenance is no control for its peers.
 */

const cfg = defaultDetectionConfig();
const p = { ...cfg.delta, warnScore: cfg.threshold.warnScore };

/** A business volume (down is bad): `dev` is the smoothed fraction below the expected value. */
function stack(name: string, score: number, dev: number, extra: Partial<StackInput> = {}, level = 0, anchor?: Record<string, number>): StackInput {
  return {
    stack: name,
    score,
    value: 0,
    expected: 0,
    samplesInWindow: 10,
    episodeMinutes: 10,
    inEpisode: score >= 4,
    volume: NaN,
    confirmed: true,
    relative: { dev, noise: 0.02, expected: 1000, level, direction: -1, ...(anchor !== undefined ? { anchor } : {}) },
    ...extra,
  };
}

describe('cross-stack comparison in fractions of the expected value', () => {
  it('does not single out the quieter stack when every stack fell by the same fraction', () => {
    // A platform 13 % below its usual level: 4.5 sigma on a tight baseline, 1.6 on a noisy one.
    const v = judgeStacks([stack('eu-west-1', 4.5, 0.13), stack('eu-central-1', 1.6, 0.12), stack('us-east-1', 1.2, 0.14)], p);
    expect(v).toMatchObject({ scope: 'global', stack: null });
    expect(v!.reason).toContain('13 % off its baseline');
    // Without the fractions the same scores single it out: what the fractions change.
    const bare = ({ relative: _r, ...s }: StackInput): StackInput => s;
    expect(judgeStacks([stack('eu-west-1', 4.5, 0.13), stack('eu-central-1', 1.6, 0.12), stack('us-east-1', 1.2, 0.14)].map(bare), p)).toMatchObject({
      scope: 'local',
      stack: 'eu-west-1',
    });
  });

  it('keeps the local verdict for a stack that moved alone (a bad deploy: its peers moved ~0)', () => {
    const v = judgeStacks([stack('eu-west-1', 9, 0.3), stack('eu-central-1', 0.4, 0.01), stack('us-east-1', -0.2, -0.02)], p);
    expect(v).toMatchObject({ scope: 'local', stack: 'eu-west-1' });
    expect(v!.reason).toContain('(30 %)');
    // A peer's noise, small beside the stack's own move, does not veto it either.
    expect(judgeStacks([stack('eu-west-1', 9, 0.3), stack('eu-central-1', 1.1, 0.08)], p)).toMatchObject({ scope: 'local', stack: 'eu-west-1' });
  });

  it("keeps a changed stack's errors local against unchanged peers inside their own noise, however far their fractions moved", () => {
    // Kit seed 111: a release's 5xx 52 % over its normal (4.5 sigma), a peer 21 % over its own
    // (1.6 sigma). Fractions alone call that moved alike (21 % >= 0.4 x 52 %); the peer's own
    // baseline calls it noise, and the change is the prior.
    const err = (name: string, score: number, dev: number, extra: Partial<StackInput> = {}) =>
      stack(name, score, dev, { relative: { dev, noise: 0.12, expected: 0.0004, level: 0, direction: 1 }, ...extra });
    const release = err('us-east-1', 4.5, 0.52, { errorCanary: true });
    const peers = [err('us-west-2', 1.6, 0.21), err('eu-west-1', -0.1, -0.01), err('eu-central-1', 0.2, 0.02)];
    expect(judgeStacks([release, ...peers], p)).toMatchObject({ scope: 'local', stack: 'us-east-1' });
    // Without the change it is the fractions' call, as before.
    expect(judgeStacks([err('us-east-1', 4.5, 0.52), ...peers], p)).toMatchObject({ scope: 'partial', movedAlike: true });
    // A peer that changed too is no control; one beyond its own healthy bound has moved.
    expect(judgeStacks([release, err('us-west-2', 1.6, 0.21, { errorCanary: true }), ...peers.slice(1)], p)).toMatchObject({ movedAlike: true });
    expect(judgeStacks([release, err('us-west-2', 2.1, 0.21), ...peers.slice(1)], p)?.scope).not.toBe('local');
    // Nor before the release's own errors are confirmed.
    expect(judgeStacks([{ ...release, confirmed: false }, ...peers], p)).toMatchObject({ movedAlike: true });
  });

  it('gives no say to a peer too noisy to show such a move', () => {
    // Hourly latency of a noisy dependency: 40 % off from one hour to the next is its wobble
    // (noise 0.33 in fractions), so its 40 % now says nothing about whether it moved with the top.
    const noisy = stack('outbound-09', 1.2, 0.4, {}, 0);
    noisy.relative!.noise = 0.33;
    expect(judgeStacks([stack('outbound-18', 8.5, 0.4), noisy], p)).toMatchObject({ scope: 'local', stack: 'outbound-18' });
    // The same move on a steady peer is a like move.
    expect(judgeStacks([stack('outbound-18', 8.5, 0.4), stack('outbound-09', 1.2, 0.4)], p)).toMatchObject({ scope: 'global' });
  });

  it('has no control for a business volume when every peer is too noisy to show its move', () => {
    // The live colour (95 %) is 10 % short on orders per share; the standby at 5 % wobbles ±8 % a
    // minute smoothed, so its staying put proves nothing: no verdict, not a shift onto it.
    const live = stack('green', 4.4, 0.1, { trafficShare: 95 });
    const standby = stack('blue', 0.4, 0.01, { trafficShare: 5 });
    standby.relative!.noise = 0.08;
    const v = judgeStacks([live, standby], p);
    expect(v).toMatchObject({ scope: 'insufficient', stack: null });
    expect(v!.reason).toContain('no peer could show a move that size in its own noise (blue ±8.0 %)');
    // A peer steady enough to show it is a control: local.
    expect(judgeStacks([live, stack('blue', 0.4, 0.01, { trafficShare: 45 })], p)).toMatchObject({ scope: 'local', stack: 'green' });
    // A move the noisy peer could show (30 % against its ±8 %) is singled out as before.
    expect(judgeStacks([stack('green', 9, 0.3, { trafficShare: 95 }), standby], p)).toMatchObject({ scope: 'local', stack: 'green' });
  });

  it('calls one peer moving alike among several partial, not global', () => {
    // Two of four moved by a like fraction: no single culprit, and not the platform either.
    expect(judgeStacks([stack('a', 6, 0.2), stack('b', 1.5, 0.18), stack('c', 0.1, 0), stack('d', 0.2, 0.01)], p)).toMatchObject({ scope: 'partial' });
    // Three of four: the platform moved.
    expect(judgeStacks([stack('a', 6, 0.2), stack('b', 1.5, 0.18), stack('c', 1.2, 0.17), stack('d', 0.2, 0.01)], p)).toMatchObject({ scope: 'global' });
    // Among many stacks the 75th-percentile peer is measured, as for the scores: one peer moving alike does not veto.
    const many = Array.from({ length: 8 }, (_, i) => stack(`s-${i}`, 0.3, 0.01 * (i % 3)));
    expect(judgeStacks([stack('a', 6, 0.2), stack('b', 1.5, 0.18), ...many], p)).toMatchObject({ scope: 'local', stack: 'a' });
  });

  it("hours into a platform-wide dip, measures a calm peer's move against the level its baseline had at the top's onset", () => {
    // The peer's baseline learned 9 % of the dip into its level since the top's episode began (the
    // top's learned nothing): against its level of then, it is down 13 %, not the 4 % it shows now.
    const anchor = { 'eu-west-1': 0, 'eu-central-1': 90 };
    const top = stack('eu-west-1', 6, 0.13, {}, 0, anchor);
    const peer = stack('eu-central-1', 1.2, 0.04, {}, 0);
    expect(judgeStacks([top, peer], p)).toMatchObject({ scope: 'global' });
    // Had its level not moved since, the 4 % is noise beside the top's 13 %.
    expect(judgeStacks([top, stack('eu-central-1', 1.2, 0.04, {}, 90)], p)).toMatchObject({ scope: 'local', stack: 'eu-west-1' });
  });
});

describe('a stack that stands apart while every stack moves', () => {
  it('is singled out when the peers that moved most reached less than peerMaxRatio of its move', () => {
    // A sale lifts every stack's pool by ~65 %; one pool is filling up: +190 %.
    const v = judgeStacks([stack('us-east-1', 20, 1.9), stack('us-west-2', 6, 0.65), stack('eu-west-1', 6.5, 0.7), stack('eu-central-1', 5, 0.6)], p);
    expect(v).toMatchObject({ scope: 'local', stack: 'us-east-1', amidGlobal: true });
    expect(v!.reason).toContain('stands apart');
    // Peers that moved by 80 % of its move moved with it: the platform moved.
    expect(
      judgeStacks([stack('us-east-1', 20, 1.9), stack('us-west-2', 15, 1.55), stack('eu-west-1', 16, 1.6), stack('eu-central-1', 14, 1.5)], p),
    ).toMatchObject({
      scope: 'global',
    });
    // Not before its own episode is confirmed.
    expect(
      judgeStacks([stack('us-east-1', 20, 1.9, { confirmed: false, episodeMinutes: 1 }), stack('us-west-2', 6, 0.65), stack('eu-west-1', 6.5, 0.7)], p),
    ).toMatchObject({
      scope: 'global',
    });
    // Every stack many sigma off alike: the separation is the part of its score the peers' move does not share.
    const capped = judgeStacks([stack('us-east-1', 20, 1.9), stack('us-west-2', 20, 0.65), stack('eu-west-1', 20, 0.7)], p);
    expect(capped).toMatchObject({ scope: 'local', stack: 'us-east-1' });
    expect(capped!.separation).toBeCloseTo(20 * (1 - 0.7 / 1.9), 5);
  });

  it('is not singled out for receding slowest while every stack recedes from a shared fault', () => {
    // Kit seed 11111, the end of an upstream fault: us-west-2's 5xx 250 % off (9.1σ, latest 8.2)
    // against its peers' 67 % and 50 %, every stack falling. It recovers last, nothing of its own.
    const peers = [stack('eu-central-1', 6.1, 0.67, { latest: 2.9 }), stack('us-east-1', 5, 0.5, { latest: 3.1 })];
    const straggler = judgeStacks([stack('us-west-2', 9.1, 2.5, { latest: 8.2 }), ...peers], p);
    expect(straggler).toMatchObject({ scope: 'global' });
    // Climbing again while the others recede: a fault of its own amid the platform's.
    expect(judgeStacks([stack('us-west-2', 9.1, 2.5, { latest: 11 }), ...peers], p)).toMatchObject({ scope: 'local', stack: 'us-west-2', amidGlobal: true });
    // Receding while a peer still climbs is not the platform's recovery: it still stands apart.
    const climbing = [stack('eu-central-1', 6.1, 0.67, { latest: 7 }), peers[1]!];
    expect(judgeStacks([stack('us-west-2', 9.1, 2.5, { latest: 8.2 }), ...climbing], p)).toMatchObject({ scope: 'local', stack: 'us-west-2' });
  });

  it('does not stand apart amid a platform-wide episode on its latest point alone', () => {
    // Imitation seed 3104, the end of an upstream fault: one p99 point of 70σ on us-west-2 (its
    // smoothed score 22.5, 199 % off) while its peers were still 3-7σ and 36 % off; back to 2.8 a minute later.
    const peers = [
      stack('us-east-1', 6.9, 0.36, { latest: 3.7 }),
      stack('eu-west-1', 5, 0.3, { latest: 3.1 }),
      stack('eu-central-1', 4.5, 0.25, { latest: 2.4 }),
    ];
    const spike = judgeStacks([stack('us-west-2', 22.5, 1.99, { latest: 70, latestRun: 1 }), ...peers], p);
    expect(spike).toMatchObject({ scope: 'global', stack: null });
    // The same move on two points in a row stands apart.
    expect(judgeStacks([stack('us-west-2', 22.5, 1.99, { latest: 70, latestRun: 2 }), ...peers], p)).toMatchObject({
      scope: 'local',
      stack: 'us-west-2',
      amidGlobal: true,
    });
  });

  it('is not singled out against a peer whose episode is only beginning: its move is still arriving', () => {
    // Kit seed 7777: a shared fault reaches eu-west-1 first (5xx 422 % off); us-east-1 is one minute
    // into its episode, 126 % off and climbing (5.8σ latest; here 90 %, a move the fraction rule
    // would call far below the first's). A minute later both read 25σ.
    const first = stack('eu-west-1', 12, 4.22, { latest: 28.8 });
    const v = judgeStacks([first, stack('us-east-1', 4.2, 0.9, { latest: 5.8, episodeMinutes: 1 })], p);
    expect(v?.scope).not.toBe('local');
    // The same peer three minutes into its episode has shown its move: the first stack stands apart.
    expect(judgeStacks([first, stack('us-east-1', 4.2, 0.9, { latest: 5.8, episodeMinutes: 3 })], p)).toMatchObject({ scope: 'local', stack: 'eu-west-1' });
  });

  it('is not singled out by the echo of one spike in its average as a global episode ends', () => {
    // Every stack's latency recovering from an upstream fault; one late spike on us-east-1 keeps
    // its smoothed score at 4.9 (26 %) while its own latest point is back at 1.2, its peer at 2.3 (3 %).
    const echo = [stack('us-east-1', 4.9, 0.26, { latest: 1.2 }), stack('eu-central-1', 2.3, 0.033, { latest: 2.3 })];
    expect(judgeStacks(echo, p)?.scope).not.toBe('local');
    // The same average with its latest point still beyond the bound: it stands apart now.
    const now = [stack('us-east-1', 4.9, 0.26, { latest: 5.5 }), stack('eu-central-1', 2.3, 0.033, { latest: 2.3 })];
    expect(judgeStacks(now, p)).toMatchObject({ scope: 'local', stack: 'us-east-1', amidGlobal: true });
  });

  it('is singled out by its move since a change that landed amid the episode, its unchanged peers the control', () => {
    // An upstream fault lifts every stack's 5xx (+300 to +500 %, the quiet baselines most); a bad
    // version deployed on eu-central-1 mid-incident takes its own to +700 %. Against the baselines
    // the peers moved by more than peerMaxRatio of its move: the platform moved.
    const up = (name: string, score: number, dev: number, extra: Partial<StackInput> = {}): StackInput => {
      const s = stack(name, score, dev, extra);
      s.relative!.direction = 1;
      return s;
    };
    const peers = [up('us-east-1', 14, 3.1), up('us-west-2', 15, 5.2)];
    expect(judgeStacks([up('eu-central-1', 33, 7), ...peers], p)).toMatchObject({ scope: 'global' });
    // Since the deployment at 12:23 (every stack then ~3-5x its baseline) only eu-central-1 moved.
    const mark = { from: Date.UTC(2026, 3, 2, 12, 23), dev: { 'eu-central-1': 3.4, 'us-east-1': 3.0, 'us-west-2': 5.3 } };
    const v = judgeStacks([up('eu-central-1', 33, 7, { sinceChange: mark }), ...peers], p);
    // The verdict names the change it dates from, for the decision to blame.
    expect(v).toMatchObject({ scope: 'local', stack: 'eu-central-1', amidGlobal: true, sinceChange: mark.from });
    expect(v!.reason).toContain('since its change at 12:23 it moved by 360 %');
    // The part of its score its peers do not share (16.5), or its gap to the worst peer when wider.
    expect(v!.separation).toBeCloseTo(Math.max(33 - 15, (33 * (3.6 - 0.1)) / 7), 5);
    // Peers that rose with it since the change (the upstream fault still growing) moved too.
    const growing = [up('us-east-1', 14, 5.0), up('us-west-2', 15, 7.0)];
    expect(judgeStacks([up('eu-central-1', 33, 7, { sinceChange: mark }), ...growing], p)).toMatchObject({ scope: 'global' });
    // A move since the change too small to be an anomaly of its own (its unshared part under the warn bound) is none.
    expect(judgeStacks([up('eu-central-1', 16, 3.9, { sinceChange: mark }), ...peers], p)?.stack).not.toBe('eu-central-1');
    // Nor before its own episode is confirmed, or once its latest point is back under the bound.
    expect(judgeStacks([up('eu-central-1', 33, 7, { sinceChange: mark, confirmed: false, episodeMinutes: 1 }), ...peers], p)).toMatchObject({
      scope: 'global',
    });
    expect(judgeStacks([up('eu-central-1', 33, 7, { sinceChange: mark, latest: 2 }), ...peers], p)).toMatchObject({ scope: 'global' });
  });

  it('is singled out too when only one peer deviates with it, by a fraction far below its own', () => {
    // Traffic moved onto us-east-1 (+44 % on its pool, 12 sigma against the old share's baseline);
    // eu-central-1's pool fills up: +300 %. Two of four deviate: "partial" by scores alone.
    const peers = [stack('us-east-1', 12, 0.44), stack('us-west-2', 0.3, 0.01), stack('eu-west-1', 0.2, 0)];
    const v = judgeStacks([stack('eu-central-1', 30, 3), ...peers], p);
    expect(v).toMatchObject({ scope: 'local', stack: 'eu-central-1' });
    expect(v!.reason).toContain('stands apart');
    // Moved by a like fraction (+200 % beside +300 %): no single culprit.
    const alike = [stack('us-east-1', 12, 2), stack('us-west-2', 0.3, 0.01), stack('eu-west-1', 0.2, 0)];
    expect(judgeStacks([stack('eu-central-1', 30, 3), ...alike], p)).toMatchObject({ scope: 'partial' });
    // A shared upstream fault cost one stack 8.1 % of its orders (4.5 sigma) and the other 3 %: the
    // unshared part, 2.8 sigma, is no anomaly on its own, so no culprit.
    const upstream = judgeStacks([stack('us-west-2', 4.5, 0.081), stack('us-east-1', 2.6, 0.03)], p);
    expect(upstream).toMatchObject({ scope: 'global', stack: null });
  });
});

describe('stacks under their own perf test, chaos experiment or maintenance are no control', () => {
  it('judges the culprit against the other peers when a perf test loads a third stack', () => {
    const culprit = stack('us-west-2', 8, 0.4);
    const tested = stack('eu-west-1', 6, 0.5, { aside: 'perf_test perf-737' });
    const calm = stack('eu-central-1', 0.3, 0.01);
    // Before: the loaded stack counted as a deviating peer, no single culprit.
    expect(judgeStacks([culprit, { ...tested, aside: undefined } as StackInput, calm], p)).toMatchObject({ scope: 'partial' });
    const v = judgeStacks([culprit, tested, calm], p);
    expect(v).toMatchObject({ scope: 'local', stack: 'us-west-2' });
    expect(v!.reason).toContain('eu-west-1 left out: perf_test perf-737');
  });

  it('judges all stacks as before when the tested stack is the only one deviating, or the only peer', () => {
    const tested = stack('eu-west-1', 6, 0.5, { aside: 'chaos chaos-1' });
    expect(judgeStacks([tested, stack('us-west-2', 0.2, 0), stack('eu-central-1', 0.3, 0.01)], p)).toMatchObject({ scope: 'local', stack: 'eu-west-1' });
    const asBefore = judgeStacks([stack('us-west-2', 8, 0.4), { ...tested, aside: undefined } as StackInput], p);
    expect(judgeStacks([stack('us-west-2', 8, 0.4), tested], p)).toMatchObject({ scope: asBefore!.scope, stack: asBefore!.stack });
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

/** Orders per minute on a tight stack (1 % noise) and two noisy ones (10 %). */
const orders = (drop: (stack: string, m: number) => number) => (s: string, m: number) =>
  1000 * daily(m) * (1 + (s === 'eu-west-1' ? 0.02 : 0.18) * noise(m * 7 + s.length)) * (1 - drop(s, m));

describe('the engine compares stacks in fractions too, and leaves tested stacks out', () => {
  const stacks = ['eu-west-1', 'eu-central-1', 'us-east-1'];

  it('a platform-wide dip of 15 % for six hours singles out no stack; the same dip on one stack alone does', () => {
    const platform = run(
      2160,
      stacks,
      'orders_per_min',
      'business',
      orders((_s, m) => (m >= DIP ? 0.15 : 0)),
    ).events;
    const locals = platform.filter((e) => e.type === 'delta' && e.scope === 'local');
    expect(platform.some((e) => e.type === 'anomaly' && e.stack === 'eu-west-1')).toBe(true);
    expect(locals).toHaveLength(0);
    const alone = run(
      2160,
      stacks,
      'orders_per_min',
      'business',
      orders((s, m) => (s === 'eu-west-1' && m >= DIP ? 0.15 : 0)),
    ).events;
    expect(alone.find((e) => e.type === 'delta' && e.scope === 'local')).toMatchObject({ stack: 'eu-west-1' });
  });

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

  // A sale from DIP for four hours: pools at 25-28 %, x1.6 during it; eu-west-1's climbs 4 points a minute from FILL to 100 %.
  const sale: ContextEvent = { ts: T0 + DIP * MIN, endTs: T0 + (DIP + 240) * MIN, kind: 'campaign', id: 'spring-sale', attributes: {} };
  const FILL = DIP + 20;
  const pool = (s: string, m: number): number => {
    const base = (s === 'eu-west-1' ? 28 : 25) * daily(m) * (m >= DIP ? 1.6 : 1) * (1 + 0.03 * noise(m * 7 + s.length));
    return s === 'eu-west-1' && m >= FILL ? Math.min(100, base + 4 * (m - FILL)) : base;
  };

  it('singles out the stack whose pool fills up during a campaign that lifts every pool, as soon as it stands apart', () => {
    const out = run(DIP + 60, [...stacks, 'us-west-2'], 'db_pool_utilization', 'capacity', pool, [sale]).events;
    const deltas = out.filter((e) => e.type === 'delta' && e.metric === 'db_pool_utilization');
    expect(deltas.some((e) => e.type === 'delta' && e.scope === 'global' && e.ts < T0 + FILL * MIN)).toBe(true);
    const local = deltas.find((e) => e.type === 'delta' && e.scope === 'local');
    expect(local).toMatchObject({ stack: 'eu-west-1' });
    expect(local!.type === 'delta' && local!.reason).toContain('stands apart');
    // Not the tail of the global episode: that is a stack still deviating after the others came back.
    expect(local!.type === 'delta' && local!.afterGlobal).toBeUndefined();
    const minutesIn = (local!.ts - T0) / MIN - FILL;
    expect(minutesIn).toBeLessThanOrEqual(15);
    // Without the fill, the sale singles out no stack.
    const calm = run(
      DIP + 60,
      [...stacks, 'us-west-2'],
      'db_pool_utilization',
      'capacity',
      (s, m) => (s === 'eu-west-1' ? pool('eu-central-1', m) * (28 / 25) : pool(s, m)),
      [sale],
    );
    expect(calm.events.filter((e) => e.type === 'delta' && e.scope === 'local')).toHaveLength(0);
  });

  it('does not withdraw a stack standing apart amid a platform-wide episode on one point back among its peers', () => {
    const all = [...stacks, 'us-west-2'];
    const first = run(DIP + 60, all, 'db_pool_utilization', 'capacity', pool, [sale]).events.find((e) => e.type === 'delta' && e.scope === 'local')!;
    expect(first).toMatchObject({ stack: 'eu-west-1' });
    // One minute, four minutes after the verdict, eu-west-1's pool reads like its peers' again.
    const at = (first.ts - T0) / MIN + 4;
    const dips = (len: number) => (s: string, m: number) => (s === 'eu-west-1' && m >= at && m < at + len ? pool('eu-central-1', m) * (28 / 25) : pool(s, m));
    const deltasAfter = (len: number) =>
      run(DIP + 60, all, 'db_pool_utilization', 'capacity', dips(len), [sale]).events.filter((e) => e.type === 'delta' && e.ts > first.ts);
    // A single point: the culprit is not withdrawn and announced anew a minute later.
    expect(deltasAfter(1).filter((e) => e.type === 'delta' && e.ts <= T0 + (at + 6) * MIN)).toHaveLength(0);
    // Back among its peers for good: withdrawn once the new verdict has held its debounce.
    const back = deltasAfter(60).find((e) => e.type === 'delta' && e.scope !== 'local');
    expect(back).toBeDefined();
    expect((back!.ts - T0) / MIN - at).toBeGreaterThanOrEqual(cfg.delta.stableMinutes - 1);
  });

  it('rolls back nothing on a deployment amid an upstream fault, and singles out the one whose version adds its own errors', () => {
    // 5xx at 0.04 % (us-west-2 0.027 %); an upstream fault adds 0.12 % to every stack from DIP; a
    // deployment lands on eu-central-1 15 minutes in.
    const base: Record<string, number> = { 'eu-west-1': 0.0004, 'eu-central-1': 0.0004, 'us-east-1': 0.00027 };
    const deploy: ContextEvent = {
      ts: T0 + (DIP + 15) * MIN,
      endTs: T0 + (DIP + 20) * MIN,
      kind: 'deployment',
      stack: 'eu-central-1',
      service: 'checkout',
      id: 'deploy-9',
      attributes: {},
    };
    const rate =
      (bad: boolean) =>
      (s: string, m: number): number =>
        base[s]! * (1 + 0.15 * noise(m * 7 + s.length)) + (m >= DIP && m < DIP + 90 ? 0.0012 : 0) + (bad && s === 'eu-central-1' && m >= DIP + 22 ? 0.002 : 0);
    const locals = (bad: boolean) =>
      run(DIP + 60, stacks, 'http_5xx_rate', 'reliability', rate(bad), [deploy]).events.filter((e) => e.type === 'delta' && e.scope === 'local');
    const bad = locals(true);
    expect(bad).toHaveLength(1);
    expect(bad[0]).toMatchObject({ stack: 'eu-central-1', sinceChange: deploy.ts });
    expect(bad[0]!.type === 'delta' && bad[0]!.reason).toContain('since its change at 06:15');
    expect((bad[0]!.ts - T0) / MIN - (DIP + 22)).toBeLessThanOrEqual(5);
    // The same deployment bringing no errors of its own: the upstream fault names no stack.
    expect(locals(false)).toHaveLength(0);
    // The mark is checkpointed with its group and restored as it was.
    const { engine } = run(DIP + 30, stacks, 'http_5xx_rate', 'reliability', rate(true), [deploy]);
    const snap = engine.snapshot();
    const marks = snap.groups.find((g) => g.metric === 'http_5xx_rate')!.changeMarks!;
    expect(marks['eu-central-1']).toMatchObject({ from: deploy.ts });
    expect(marks['eu-central-1']!.dev['us-east-1']).toBeGreaterThan(2);
    const restored = new DetectionEngine(cfg, { detection: () => {} });
    restored.restore(decodeState(encodeState(snap)));
    expect(restored.snapshot().groups.find((g) => g.metric === 'http_5xx_rate')!.changeMarks).toEqual(marks);
  });

  it('checkpoints the relative deviations and the anchors with their groups', () => {
    const { engine } = run(
      DIP + 90,
      stacks,
      'orders_per_min',
      'business',
      orders((_s, m) => (m >= DIP ? 0.15 : 0)),
    );
    const snap = engine.snapshot();
    const group = snap.groups.find((g) => g.metric === 'orders_per_min')!;
    expect(group.relative).toHaveLength(3);
    expect(group.relative![0]!.dev).toBeGreaterThan(0.05);
    expect(Object.keys(group.anchors ?? {})).toContain('eu-west-1');
    const restored = new DetectionEngine(cfg, { detection: () => {} });
    restored.restore(decodeState(encodeState(snap)));
    expect(decodeState(encodeState(restored.snapshot()))).toEqual(decodeState(encodeState(snap)));
  });
});

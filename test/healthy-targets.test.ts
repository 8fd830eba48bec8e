import { describe, expect, it } from 'vitest';
import { decisionConfigSchema } from '../src/config/decision.js';
import { formulaConfidence } from '../src/core/decide/confidence.js';
import { newGuardrailState } from '../src/core/decide/guardrails.js';
import { ContextIndex } from '../src/core/correlate/context-index.js';
import { healthyTargets } from '../src/core/decide/phases/healthy-targets.js';
import type { WorkflowInput } from '../src/core/decide/phases/workflow-input.js';
import type { Incident, IncidentDelta, IncidentSignal } from '../src/domain/decision.js';
import type { ContextEvent, StackHealthEvent } from '../src/domain/types.js';

const MIN = 60_000;
const T = Date.UTC(2026, 2, 14, 18, 0);
const config = decisionConfigSchema.parse({});

const shift = (ts: number, weights: Record<string, number>, id: string): ContextEvent => ({ ts, kind: 'traffic_shift', id, attributes: { weights } });
const maintenance = (stack: string, ts = T - 60 * MIN, extra: Partial<ContextEvent> = {}): ContextEvent => ({
  ts,
  endTs: T + 60 * MIN,
  kind: 'maintenance',
  id: 'maint-7',
  stack,
  attributes: { action: 'kernel_patching' },
  ...extra,
});

function health(stack: string, scores: StackHealthEvent['scores'], saturation: number | null = 0.5, inEpisode: string[] = []): StackHealthEvent {
  return { type: 'health', ts: T, service: 'checkout', stack, scores, saturation, inEpisode, reporting: 6, known: 6 };
}

function signal(metric: string, sig: IncidentSignal['signal'], firstTs = T - 10 * MIN): IncidentSignal {
  return {
    metric,
    signal: sig,
    stage: 'confirmed',
    firstTs,
    lastTs: T,
    score: 9,
    peakScore: 9,
    value: 1,
    expected: 0,
    persistence: { hits: 5, of: 5 },
    recovered: false,
    coldStart: false,
  };
}

/** The delta stack is `sick` (us-west-2 by default); events go into a context index, health and deltas as given. */
function input(o: {
  events?: ContextEvent[];
  health: StackHealthEvent[];
  deltas?: IncidentDelta[];
  signals?: IncidentSignal[];
  sick?: string;
  config?: WorkflowInput['config'];
}): WorkflowInput {
  const ctx = new ContextIndex();
  for (const e of o.events ?? [shift(T - 600 * MIN, { 'us-east-1': 50, 'us-west-2': 50 }, 'init')]) ctx.add(e);
  const sick = o.sick ?? 'us-west-2';
  const incident: Incident = {
    id: 'inc-1',
    service: 'checkout',
    stack: sick,
    status: 'open',
    openedAt: T - 10 * MIN,
    updatedAt: T,
    resolvedAt: null,
    signals: Object.fromEntries((o.signals ?? [signal('http_5xx_rate', 'reliability')]).map((s) => [s.metric, s])),
    predictions: {},
    breaches: {},
    deltas: {},
    alerts: {},
    recommendationIds: [],
  };
  return {
    incident,
    now: T,
    correlation: { notes: [] },
    deltas: new Map((o.deltas ?? []).map((d) => [d.metric, d])),
    health: new Map(o.health.map((h) => [h.stack, h])),
    shareOf: (s) => ctx.shareOf(s),
    carriedShare: (s) => ctx.carriedShare(s, T),
    outOfService: (s) => ctx.takenOutOfService(s, 'checkout', T),
    underTest: (s) => ctx.underTest(s, 'checkout', T),
    guardrails: newGuardrailState(),
    config: o.config ?? config,
    warnScore: 4,
    horizonMinutes: 90,
    confidence: formulaConfidence({ warnScore: 4, horizonMinutes: 90 }),
    isPrimary: () => false,
    siblings: [],
  };
}

const sickHealth = (scores: StackHealthEvent['scores'] = { reliability: 9 }, saturation: number | null = 0.5, inEpisode: string[] = ['http_5xx_rate']) =>
  health('us-west-2', scores, saturation, inEpisode);

describe('ContextIndex.takenOutOfService: the share a stack carried before its maintenance drain', () => {
  const share = (ctx: ContextIndex, stack = 'us-east-1') => ctx.takenOutOfService(stack, 'checkout', T)?.attributes['shareBeforeDrain'];
  const index = (...events: ContextEvent[]) => {
    const ctx = new ContextIndex();
    for (const e of events) ctx.add(e);
    return ctx;
  };

  it('reads it from the split announced before the drain', () => {
    const ctx = index(
      shift(T - 600 * MIN, { 'us-east-1': 52, 'us-west-2': 48 }, 'init'),
      maintenance('us-east-1'),
      shift(T - 60 * MIN, { 'us-east-1': 33, 'us-west-2': 67 }, 'drain'),
    );
    expect(share(ctx)).toBe(52);
    // A drain announced shortly before the work began is its drain too; a staged drain counts from its first step.
    const early = index(
      shift(T - 600 * MIN, { 'us-east-1': 52, 'us-west-2': 48 }, 'init'),
      shift(T - 80 * MIN, { 'us-east-1': 42, 'us-west-2': 58 }, 'drain-1'),
      maintenance('us-east-1'),
      shift(T - 50 * MIN, { 'us-east-1': 33, 'us-west-2': 67 }, 'drain-2'),
    );
    expect(share(early)).toBe(52);
  });

  it('reconstructs it from what the others gained when the split before has left the index', () => {
    // The initial split is three days old: past the index's 24 hours.
    const ctx = index(
      shift(T - 3 * 1440 * MIN, { 'us-east-1': 40, 'us-west-2': 30, 'eu-west-1': 30 }, 'init'),
      maintenance('us-east-1'),
      shift(T - 60 * MIN, { 'us-east-1': 25, 'us-west-2': 40, 'eu-west-1': 35 }, 'drain'),
    );
    expect(share(ctx)).toBe(40);
    // Survives a checkpoint (events and gains come back as copies).
    expect(share(ContextIndex.fromJSON(JSON.parse(JSON.stringify(ctx.toJSON()))))).toBe(40);
  });

  it('is absent without a drain, for a shift that raised the stack, and for chaos; a value the event claims is dropped', () => {
    expect(share(index(shift(T - 600 * MIN, { 'us-east-1': 50, 'us-west-2': 50 }, 'init'), maintenance('us-east-1')))).toBeUndefined();
    const raised = index(
      shift(T - 600 * MIN, { 'us-east-1': 50, 'us-west-2': 50 }, 'init'),
      maintenance('us-east-1'),
      shift(T - 50 * MIN, { 'us-east-1': 60, 'us-west-2': 40 }, 'up'),
    );
    expect(share(raised)).toBeUndefined();
    const chaos = index(
      shift(T - 600 * MIN, { 'us-east-1': 50, 'us-west-2': 50 }, 'init'),
      maintenance('us-east-1', T - 60 * MIN, { kind: 'chaos', id: 'chaos-1' }),
      shift(T - 60 * MIN, { 'us-east-1': 30, 'us-west-2': 70 }, 'drain'),
    );
    expect(chaos.takenOutOfService('us-east-1', 'checkout', T)?.kind).toBe('chaos');
    expect(share(chaos)).toBeUndefined();
    const claimed = index(maintenance('us-east-1', T - 60 * MIN, { attributes: { shareBeforeDrain: 90 } }));
    expect(claimed.takenOutOfService('us-east-1', 'checkout', T)).toBeDefined();
    expect(share(claimed)).toBeUndefined();
  });
});

describe('healthyTargets', () => {
  it('lets a healthy peer drained for its maintenance take traffic back up to its share before the drain, never beyond', () => {
    const events = [
      shift(T - 600 * MIN, { 'us-east-1': 52, 'us-west-2': 48 }, 'init'),
      maintenance('us-east-1'),
      shift(T - 60 * MIN, { 'us-east-1': 40, 'us-west-2': 60 }, 'drain'),
    ];
    const t = healthyTargets(input({ events, health: [health('us-east-1', { latency: 0.4 }, 0.3), sickHealth()] }), 20);
    expect(t).toMatchObject({ ok: ['us-east-1'], percent: 12 });
    expect(t.notes[0]).toMatch(/^us-east-1 under maintenance maint-7 until \d\d:\d\d, drained from 52 % to 40 %: takes back up to 12 %, healthy/);
    expect(t.notes[1]).toBe('shift reduced from 20 % to 12 %: what the targets can take back after their drain and below saturation 0.9');
    // Its headroom still applies: 0.8 at 40 % leaves (0.9 / 0.8 - 1) x 40 = 5 points.
    expect(healthyTargets(input({ events, health: [health('us-east-1', { latency: 0.4 }, 0.8), sickHealth()] }), 20)).toMatchObject({ percent: 5 });
    // Drained by 3 points only: less than a shift worth making.
    const light = [events[0]!, events[1]!, shift(T - 60 * MIN, { 'us-east-1': 49, 'us-west-2': 51 }, 'drain')];
    const small = healthyTargets(input({ events: light, health: [health('us-east-1', { latency: 0.4 }, 0.3), sickHealth()] }), 20);
    expect(small).toMatchObject({ ok: [], percent: 0 });
    expect(small.notes[0]).toContain('takes back at most 3 %, less than a 5 % shift');
    // Degraded while worked on: not a target.
    const sick = healthyTargets(input({ events, health: [health('us-east-1', { latency: 6 }, 0.3), sickHealth()] }), 20);
    expect(sick.notes[0]).toContain('us-east-1 degraded (latency 6.00σ)');
  });

  it('never shifts onto a stack under chaos, or under maintenance without a drain', () => {
    const chaos = [
      shift(T - 600 * MIN, { 'us-east-1': 50, 'us-west-2': 50 }, 'init'),
      maintenance('us-east-1', T - 60 * MIN, { kind: 'chaos', id: 'chaos-1' }),
      shift(T - 60 * MIN, { 'us-east-1': 30, 'us-west-2': 70 }, 'drain'),
    ];
    const c = healthyTargets(input({ events: chaos, health: [health('us-east-1', {}, 0.3), sickHealth()] }), 20);
    expect(c).toMatchObject({ ok: [], percent: 0 });
    expect(c.notes[0]).toMatch(/^us-east-1 under chaos chaos-1 until \d\d:\d\d: not a target$/);
    const undrained = [shift(T - 600 * MIN, { 'us-east-1': 50, 'us-west-2': 50 }, 'init'), maintenance('us-east-1')];
    expect(healthyTargets(input({ events: undrained, health: [health('us-east-1', {}, 0.3), sickHealth()] }), 20).notes[0]).toContain('not a target');
  });

  it('does not hold against a peer a deviation the delta stack shares on every stack', () => {
    const orders = signal('orders_per_min', 'business', T - 120 * MIN);
    const global: IncidentDelta = { metric: 'orders_per_min', ts: T - 100 * MIN, scope: 'global', stack: null, reason: 'global', separation: 0 };
    const weekend = (peerScores: StackHealthEvent['scores'], ownBusiness: number, peerEpisodes = ['orders_per_min'], deltas: IncidentDelta[] = [global]) =>
      healthyTargets(
        input({
          health: [
            health('us-east-1', peerScores, 0.3, peerEpisodes),
            sickHealth({ reliability: 9, business: ownBusiness }, 0.5, ['http_5xx_rate', 'orders_per_min']),
          ],
          deltas,
          signals: [signal('http_5xx_rate', 'reliability'), orders],
        }),
        20,
      );
    const ok = weekend({ business: 6.4, latency: 0.2 }, 5.1);
    expect(ok).toMatchObject({ ok: ['us-east-1'], percent: 20 });
    expect(ok.notes[0]).toBe('us-east-1 healthy (worst latency 0.20σ; business 6.40σ shared with us-west-2, saturation 0.30 → 0.42)');
    // The delta stack does not deviate on that signal: the peer's deviation is its own.
    expect(weekend({ business: 6.4 }, 1.2).notes[0]).toBe('us-east-1 degraded (business 6.40σ; in episode: orders_per_min)');
    // Something singles the peer out: an episode of its own (a local verdict naming it), or one with no verdict yet.
    const local: IncidentDelta = { metric: 'http_p99_ms', ts: T - 5 * MIN, scope: 'local', stack: 'us-east-1', reason: 'local', separation: 5 };
    expect(weekend({ business: 6.4 }, 5.1, ['orders_per_min', 'http_p99_ms'], [global, local]).ok).toEqual([]);
    expect(weekend({ business: 6.4 }, 5.1, ['orders_per_min', 'http_p99_ms']).ok).toEqual([]);
    // A verdict from before the delta stack's own episode of the metric is not read as this one's (as the workflow reads its own).
    expect(weekend({ business: 6.4 }, 5.1, ['orders_per_min'], [{ ...global, ts: T - 180 * MIN }]).ok).toEqual([]);
    // Shared on one signal does not excuse another.
    expect(weekend({ business: 6.4, latency: 4 }, 5.1).notes[0]).toBe('us-east-1 degraded (latency 4.00σ; in episode: orders_per_min)');
  });

  it('projects a small stack linearly: a canary sized for its 5 % looks like a standby provisioned for all of it', () => {
    const canary = [shift(T - 600 * MIN, { 'us-east-1': 5, 'us-west-2': 95 }, 'init')];
    const t = healthyTargets(input({ events: canary, health: [health('us-east-1', { latency: 0.3 }, 0.59), sickHealth({ reliability: 9 }, 0.6)] }), 20);
    expect(t).toMatchObject({ ok: [], percent: 0 });
    expect(t.notes[0]).toBe('us-east-1 lacks headroom (saturation 0.59 → 2.95 after a 20 % shift)');
    // A stack at 0 % has no share to scale: judged on its saturation alone.
    const idle = [shift(T - 600 * MIN, { 'us-east-1': 0, 'us-west-2': 100 }, 'init')];
    expect(healthyTargets(input({ events: idle, health: [health('us-east-1', {}, 0.59), sickHealth({ reliability: 9 }, 0.6)] }), 20)).toMatchObject({
      ok: ['us-east-1'],
      percent: 20,
    });
  });

  it('projects only what grows with the load: a standby full of memory but idle on CPU and pools can take the shift', () => {
    // Blue/green standby at 4 %: memory at 0.62 of its gate, CPU and pool at 0.09 (what follows the traffic).
    const bg = [shift(T - 600 * MIN, { 'us-east-1': 4, 'us-west-2': 96 }, 'init')];
    const standby = { ...health('us-east-1', { latency: 0.3 }, 0.62), loadSaturation: 0.09 };
    const t = healthyTargets(input({ events: bg, health: [standby, sickHealth({ reliability: 9 }, 0.65)] }), 20);
    expect(t).toMatchObject({ ok: ['us-east-1'], percent: 20 });
    expect(t.notes[0]).toBe('us-east-1 healthy (worst latency 0.30σ, saturation 0.09 → 0.54; memory/disk 0.62 held)');
    // Its CPU busier: 0.2 at 4 % reads 1.2 after 20 points; it takes what keeps it under 0.9 (14 points).
    const busy = healthyTargets(input({ events: bg, health: [{ ...standby, loadSaturation: 0.2 }, sickHealth({ reliability: 9 }, 0.65)] }), 20);
    expect(busy).toMatchObject({ ok: ['us-east-1'], percent: 14 });
    // Memory past the limit already: no room, whatever the CPU.
    const full = healthyTargets(input({ events: bg, health: [{ ...standby, saturation: 0.93 }, sickHealth({ reliability: 9 }, 0.65)] }), 20);
    expect(full).toMatchObject({ ok: [], percent: 0 });
    expect(full.notes[0]).toBe('us-east-1 lacks headroom (memory/disk saturation 0.93 already)');
  });

  it('moves traffic onto a standby the operator says is provisioned for all of it, up to that share, under the saturation limit', () => {
    // Blue/green: us-east-1 is the standby at 4 %, idle at saturation 0.62, provisioned for 100 %.
    const bg = [shift(T - 600 * MIN, { 'us-east-1': 4, 'us-west-2': 96 }, 'init')];
    const standby = decisionConfigSchema.parse({ stacks: { 'us-east-1': { provisionedPercent: 100 } } });
    const t = healthyTargets(
      input({ events: bg, config: standby, health: [health('us-east-1', { latency: 0.3 }, 0.62), sickHealth({ reliability: 9 }, 0.65)] }),
      20,
    );
    expect(t).toMatchObject({ ok: ['us-east-1'], percent: 20 });
    expect(t.notes[0]).toBe('us-east-1 healthy (worst latency 0.30σ, provisioned for 100 % at saturation 0.62)');
    // Without the setting (and a health that does not say which part follows the load), the
    // projection reads its idle saturation at 4 % as all load: no room.
    expect(healthyTargets(input({ events: bg, health: [health('us-east-1', { latency: 0.3 }, 0.62), sickHealth({ reliability: 9 }, 0.65)] }), 20).percent).toBe(
      0,
    );
    // Provisioned for 10 %: it takes the 6 points up to it (above the 5 % minimum shift).
    const small = decisionConfigSchema.parse({ stacks: { 'us-east-1': { provisionedPercent: 10 } } });
    expect(
      healthyTargets(input({ events: bg, config: small, health: [health('us-east-1', {}, 0.62), sickHealth({ reliability: 9 }, 0.65)] }), 20),
    ).toMatchObject({
      ok: ['us-east-1'],
      percent: 6,
    });
    // Already past the saturation limit: no room, whatever it was provisioned for.
    const hot = healthyTargets(input({ events: bg, config: standby, health: [health('us-east-1', {}, 0.95), sickHealth({ reliability: 9 }, 0.65)] }), 20);
    expect(hot).toMatchObject({ ok: [], percent: 0 });
    expect(hot.notes[0]).toBe('us-east-1 lacks headroom (provisioned for 100 %, saturation 0.95)');
  });

  it('takes a colour that carried the traffic this week as sized for it, when the operator does not say', () => {
    // Held-out imitation seed 101 (bg_incident): us-east-1 served 99 % until yesterday's cutover and
    // idles at 1 % on a saturation of 0.55 (all of it read as load): projected, 0.55 → 11.5 after 20
    // points, no room, and a memory leak on the live colour had nowhere to go for four hours.
    const cutover = [
      shift(T - 2 * 1440 * MIN, { 'us-east-1': 99, 'us-west-2': 1 }, 'init'),
      shift(T - 1440 * MIN, { 'us-east-1': 1, 'us-west-2': 99 }, 'cutover'),
    ];
    const standby = health('us-east-1', { latency: 0.3 }, 0.55);
    const t = healthyTargets(input({ events: cutover, health: [standby, sickHealth({ reliability: 9 }, 0.65)] }), 20);
    expect(t).toMatchObject({ ok: ['us-east-1'], percent: 20 });
    expect(t.notes[0]).toBe('us-east-1 healthy (worst latency 0.30σ, carried 99 % at saturation 0.55)');
    // A week later the cutover says nothing any more: projected again, no room.
    const old = [
      shift(T - 9 * 1440 * MIN, { 'us-east-1': 99, 'us-west-2': 1 }, 'init'),
      shift(T - 8 * 1440 * MIN, { 'us-east-1': 1, 'us-west-2': 99 }, 'cutover'),
    ];
    expect(healthyTargets(input({ events: old, health: [standby, sickHealth({ reliability: 9 }, 0.65)] }), 20).percent).toBe(0);
    // A stack back at the share it gave up has shown nothing more than it carries: projected as before.
    const back = [...cutover, shift(T - 60 * MIN, { 'us-east-1': 99, 'us-west-2': 1 }, 'back')];
    const busy = health('us-east-1', { latency: 0.3 }, 0.85);
    expect(healthyTargets(input({ events: back, health: [busy, sickHealth({ reliability: 9 }, 0.65)] }), 20).percent).toBe(5);
  });

  it('lets a peer slowed only by a performance test on it relieve a stack failing worse, and says the test is worth stopping', () => {
    // Held-out imitation seed 31337: a pool exhausting on eu-central-1 (p99 17σ) while its only peer
    // ran a k6 test (p99 7σ, 54 % up) had nowhere to go until the test ended, 20 minutes past the breach.
    const test: ContextEvent = { ts: T - 50 * MIN, endTs: T + 30 * MIN, kind: 'perf_test', id: 'perf-814', stack: 'us-east-1', attributes: { tool: 'k6' } };
    const events = [shift(T - 600 * MIN, { 'us-east-1': 50, 'us-west-2': 50 }, 'init'), test];
    const loaded = (scores: StackHealthEvent['scores'], saturation = 0.5) => health('us-east-1', scores, saturation, ['http_p99_ms']);
    const sick = sickHealth({ latency: 17.4, reliability: 2 }, 0.6, ['http_p99_ms', 'db_pool_utilization']);
    const t = healthyTargets(input({ events, health: [loaded({ latency: 7.2, reliability: 0.2 }), sick] }), 20);
    expect(t).toMatchObject({ ok: ['us-east-1'], percent: 20 });
    expect(t.notes[0]).toBe('us-east-1 slowed only by perf test perf-814, worth stopping (latency 7.20σ, less than here, saturation 0.50 → 0.70)');
    // Not without the test, not when the test stack errors too or is slower than the stack it would relieve.
    const plain = [shift(T - 600 * MIN, { 'us-east-1': 50, 'us-west-2': 50 }, 'init')];
    expect(healthyTargets(input({ events: plain, health: [loaded({ latency: 7.2 }), sick] }), 20).notes[0]).toMatch(/^us-east-1 degraded \(latency 7.20σ/);
    expect(healthyTargets(input({ events, health: [loaded({ latency: 7.2, reliability: 5 }), sick] }), 20).percent).toBe(0);
    expect(healthyTargets(input({ events, health: [loaded({ latency: 18 }), sick] }), 20).percent).toBe(0);
    // The headroom check counts the test's load like any other: a peer it keeps at 0.85 takes 1 point, too few.
    expect(healthyTargets(input({ events, health: [loaded({ latency: 7.2 }, 0.85), sick] }), 20).percent).toBe(0);
    // Once the test is over (its end passed), a peer still slow is degraded again.
    const ended = [events[0]!, { ...test, endTs: T - 5 * MIN }];
    expect(healthyTargets(input({ events: ended, health: [loaded({ latency: 7.2 }), sick] }), 20).percent).toBe(0);
  });
});

import { describe, expect, it } from 'vitest';
import { runWorkflow, type WorkflowInput } from '../src/core/decide/itr-workflow.js';
import { formulaConfidence } from '../src/core/decide/confidence.js';
import { newGuardrailState, recordExecution } from '../src/core/decide/guardrails.js';
import { ContextIndex } from '../src/core/correlate/context-index.js';
import { decisionConfigSchema } from '../src/config/decision.js';
import { PHASE_NAMES, type Incident, type IncidentDelta, type IncidentSignal, type Recommendation } from '../src/domain/decision.js';
import { setPhase } from '../src/core/decide/recommendation-lifecycle.js';
import type { ContextEvent, Signal, StackHealthEvent } from '../src/domain/types.js';

const MIN = 60_000;
const T = Date.UTC(2026, 2, 2, 10, 0);
const config = decisionConfigSchema.parse({});

function incident(overrides: Partial<Incident> = {}): Incident {
  return {
    id: 'inc-1',
    service: 'checkout',
    stack: 'us-west-2',
    status: 'open',
    openedAt: T - 10 * MIN,
    updatedAt: T,
    resolvedAt: null,
    signals: {
      http_error_ratio: {
        metric: 'http_error_ratio',
        signal: 'reliability',
        stage: 'confirmed',
        firstTs: T - 10 * MIN,
        lastTs: T,
        score: 9,
        peakScore: 9,
        value: 0.0009,
        expected: 0.0003,
        persistence: { hits: 5, of: 5 },
        recovered: false,
        coldStart: false,
      },
    },
    predictions: {
      http_error_ratio: { metric: 'http_error_ratio', ts: T, breachAt: T + 12 * MIN, slo: { kind: 'error_rate', limit: 0.001, comparator: '>' } },
    },
    breaches: {},
    deltas: {},
    alerts: {},
    recommendationIds: [],
    ...overrides,
  };
}

/** A confirmed signal, seen until T, at its peak, every point of its window beyond the bound unless `over` says otherwise. */
function confirmed(
  metric: string,
  signal: Signal,
  over: Pick<IncidentSignal, 'firstTs' | 'score' | 'value' | 'expected'> & Partial<IncidentSignal>,
): IncidentSignal {
  return {
    metric,
    signal,
    stage: 'confirmed',
    lastTs: T,
    peakScore: over.score,
    persistence: { hits: 5, of: 5 },
    recovered: false,
    coldStart: false,
    ...over,
  };
}

function health(stack: string, scores: StackHealthEvent['scores'], saturation = 0.5): StackHealthEvent {
  return { type: 'health', ts: T, service: 'checkout', stack, scores, saturation, inEpisode: [], reporting: 6, known: 6 };
}

function input(over: Partial<WorkflowInput> & { events?: ContextEvent[]; delta?: IncidentDelta['scope'] } = {}): WorkflowInput {
  const ctx = new ContextIndex();
  ctx.add({ ts: T - 1440 * MIN, kind: 'traffic_shift', id: 'init', attributes: { weights: { 'us-east-1': 50, 'us-west-2': 50 } } });
  for (const e of over.events ?? []) ctx.add(e);
  const inc = over.incident ?? incident();
  const deltas = verdicts(['http_error_ratio', over.delta ?? 'local', 8]);
  return {
    incident: inc,
    now: T,
    correlation: ctx.correlate(inc.service, inc.stack, inc.openedAt, T, config.correlation),
    deltas,
    health: new Map([
      ['us-east-1', health('us-east-1', { latency: 0.3, reliability: 0.1, business: 0.2, capacity: 0.5 })],
      ['us-west-2', health('us-west-2', { latency: 2, reliability: 9, business: 1, capacity: 1 })],
    ]),
    shareOf: (s) => ctx.shareOf(s),
    outOfService: (s) => ctx.takenOutOfService(s, inc.service, T),
    underTest: (s) => ctx.underTest(s, inc.service, T),
    guardrails: newGuardrailState(),
    config,
    warnScore: 4,
    horizonMinutes: 90,
    confidence: formulaConfidence({ warnScore: 4, horizonMinutes: 90 }),
    isPrimary: (s) => s === 'us-east-1',
    siblings: [],
    ...over,
  };
}

/** Cross-stack verdicts two minutes old, one per metric: `local` singles out us-west-2 by `separation`. */
function verdicts(...of: [metric: string, scope: IncidentDelta['scope'], separation: number][]): Map<string, IncidentDelta> {
  return new Map(
    of.map(([metric, scope, separation]) => [
      metric,
      {
        metric,
        ts: T - 2 * MIN,
        scope,
        stack: scope === 'local' ? 'us-west-2' : null,
        reason: `${scope} verdict`,
        separation: scope === 'local' ? separation : 0,
      },
    ]),
  );
}

/** A deployment of checkout on us-west-2, by default 20 minutes before the episode. */
function deployment(id: string, attributes: Record<string, string>, ts = T - 20 * MIN): ContextEvent {
  return { ts, kind: 'deployment', id, stack: 'us-west-2', service: 'checkout', attributes };
}

describe('ITR workflow', () => {
  it('walks all ten phases and shifts 20 % to the healthy peer, with evidence in each phase', () => {
    const d = runWorkflow(input());
    expect(d.phases.map((p) => p.name)).toEqual([...PHASE_NAMES]);
    expect(d).toMatchObject({ action: 'shift_traffic', percent: 20, targets: ['us-east-1'], blockedBy: null, executable: true });
    expect(d.phases.find((p) => p.name === 'delta_stack_identification')).toMatchObject({ result: 'pass', evidence: 'http_error_ratio: local verdict' });
    expect(d.phases.find((p) => p.name === 'dependency_checks')!.evidence).toContain('us-east-1 healthy');
    // Shifting onto the primary stack touches it: approval is required (auto-approved in replay).
    expect(d.requiresApproval).toBe(true);
    expect(d.confidence).toBeGreaterThan(0.55);
  });

  it('rolls back a deployment made on the stack shortly before the episode', () => {
    const deploy = deployment('deploy-42', { version: 'v2', previousVersion: 'v1' });
    const d = runWorkflow(input({ events: [deploy] }));
    expect(d).toMatchObject({ action: 'rollback', cause: { kind: 'deployment', event: { id: 'deploy-42' } } });
    expect(d.reason).toBe('roll back deploy-42 on us-west-2 (v2 → v1)');
  });

  it('counts how much of the room under the gate an error rate has used, when its breach is near', () => {
    // Independent kit, bad deploy: a 5xx rate gone 0.03 → 0.08 % against a 0.1 % gate is 4.4σ on a
    // noisy series, 3 of 5 points, 3.5σ from its peers, breach forecast two minutes out. Judged by
    // sigmas alone it waited at 0.47 until after the breach.
    const deploy = deployment('deploy-545', { version: 'v2.3.3', previousVersion: 'v2.3.2' }, T - 14 * MIN);
    const errors = confirmed('http_error_ratio', 'reliability', {
      firstTs: T - 5 * MIN,
      score: 4.4,
      value: 0.0008,
      expected: 0.0003,
      persistence: { hits: 3, of: 5 },
    });
    const at = (minutes: number, slo: Incident['predictions'][string]['slo']) =>
      runWorkflow(
        input({
          events: [deploy],
          incident: incident({
            openedAt: T - 5 * MIN,
            signals: { http_error_ratio: errors },
            predictions: { http_error_ratio: { metric: 'http_error_ratio', ts: T, breachAt: T + minutes * MIN, slo } },
          }),
          deltas: verdicts(['http_error_ratio', 'local', 3.5]),
          health: new Map([
            ['us-east-1', health('us-east-1', { latency: 0.3, reliability: 0.9, business: 0.2, capacity: 0.5 })],
            ['us-west-2', health('us-west-2', { latency: 0.5, reliability: 4.4, business: 0.2, capacity: 1 })],
          ]),
        }),
      );
    const gate = { kind: 'error_rate', limit: 0.001, comparator: '>' } as const;
    const soon = at(2, gate);
    expect(soon.evidence.gateReach).toBeCloseTo(5 / 7, 3);
    expect(soon.action).toBe('rollback');
    expect(soon.confidence).toBeGreaterThan(0.55);
    // The same level with its breach forecast 80 minutes out is not urgent: no reach is counted.
    const far = at(80, gate);
    expect(far).toMatchObject({ action: 'observe', reason: `confidence ${far.confidence.toFixed(2)} below 0.55` });
    // A relative gate's limit is a fraction of normal, not a level: the business term judges it.
    expect(at(2, { ...gate, relative: true }).evidence.gateReach).toBe(0);
    // A series already normally past its gate has no room to measure.
    expect(at(2, { ...gate, limit: 0.0002 }).evidence.gateReach).toBe(0);
  });

  it('counts the room used by the square of the time term: an hour out it adds next to nothing', () => {
    // Held-out kit seed 729610, a campaign: a 2-point 5xx blip on one stack right after a deploy,
    // 4.7σ, 45 % of the way to its gate, breach forecast 69 minutes out. With the reach counted by
    // the time term alone it scored 0.551 and was rolled back; no fault followed.
    const formula = formulaConfidence({ warnScore: 4, horizonMinutes: 90 });
    const blip = (minutesToBreach: number, gateReach: number) =>
      formula({
        persistence: 1,
        magnitude: 4.698,
        separation: 4.698,
        businessImpact: 0,
        correlation: 1,
        dataCompleteness: 1,
        minutesToBreach,
        gateReach,
      });
    expect(blip(69, 0.451)).toBeLessThan(0.55);
    expect(blip(69, 0.451) - blip(69, 0)).toBeLessThan(0.001);
    // Two minutes out, the same reach is most of the magnitude term.
    expect(blip(2, 0.451) - blip(2, 0)).toBeGreaterThan(0.06);
  });

  it('acts on a local verdict only while its stack still deviates now, unless a change on it is the suspect', () => {
    // A stack straggling out of a platform-wide fault: singled out by its smoothed score two minutes
    // ago, its latest reliability point back under the warn bound.
    const recovering = new Map([
      ['us-east-1', health('us-east-1', { latency: 0.3, reliability: 1.1, business: 0.2, capacity: 0.5 })],
      ['us-west-2', health('us-west-2', { latency: 0.5, reliability: 3.1, business: 0.2, capacity: 1 })],
    ]);
    const d = runWorkflow(input({ health: recovering }));
    expect(d).toMatchObject({ action: 'observe', reason: 'no stack singled out yet' });
    expect(d.phases.find((p) => p.name === 'delta_stack_identification')!.evidence).toBe('local: local verdict');
    // After a deployment on it, the canary verdict stands: a ramp's point under the bound is no recovery.
    const deploy = deployment('deploy-42', { version: 'v2', previousVersion: 'v1' });
    expect(runWorkflow(input({ health: recovering, events: [deploy] })).action).toBe('rollback');
    // Still deviating now: the verdict stands without a change too.
    expect(runWorkflow(input()).action).toBe('shift_traffic');
  });

  it('reads a lapsed local verdict as no culprit now, not as too little data', () => {
    const lapsed: IncidentDelta = {
      metric: 'http_error_ratio',
      ts: T - MIN,
      scope: 'insufficient',
      stack: null,
      reason: 'us-west-2 is back within its bounds (1.2 sigma, latest 0.4): its local verdict lapses until it stands apart again',
      separation: 0,
      lapsed: true,
    };
    const d = runWorkflow(input({ deltas: new Map([['http_error_ratio', lapsed]]) }));
    expect(d).toMatchObject({ action: 'observe', reason: 'no stack singled out yet' });
    expect(d.phases.find((p) => p.name === 'delta_stack_identification')).toMatchObject({ code: 'no_verdict' });
    // A real shortage of data is still named as one.
    const { lapsed: _, ...shortOfData } = lapsed;
    expect(runWorkflow(input({ deltas: new Map([['http_error_ratio', shortOfData]]) })).reason).toBe(
      'too little data behind the deviating stack or its peers to single it out',
    );
  });

  it('pauses a progressive rollout that is still running instead of rolling back', () => {
    const rolling = deployment('deploy-44', { version: 'v3', strategy: 'progressive' });
    expect(runWorkflow(input({ events: [rolling] }))).toMatchObject({ action: 'pause_rollout', reason: 'pause the rollout of deploy-44 on us-west-2' });
    const finished = { ...rolling, id: 'deploy-45', endTs: T - 15 * MIN, attributes: { ...rolling.attributes, previousVersion: 'v2' } };
    expect(runWorkflow(input({ events: [finished] })).action).toBe('rollback');
  });

  it('shifts traffic instead of rolling back when the deployment names no previous version, and asks a person to roll back if no peer can take it', () => {
    const unknown = deployment('deploy-46', { version: 'v9' });
    const d = runWorkflow(input({ events: [unknown] }));
    expect(d).toMatchObject({ action: 'shift_traffic', targets: ['us-east-1'], cause: { kind: 'deployment', event: { id: 'deploy-46' } } });
    expect(d.phases.find((p) => p.name === 'dependency_checks')!.evidence).toContain('names no previousVersion; shift to us-east-1 instead');
    const sick = input({ events: [unknown] });
    (sick.health as Map<string, StackHealthEvent>).set('us-east-1', health('us-east-1', { latency: 6, reliability: 0.2 }));
    const ask = runWorkflow(sick);
    expect(ask).toMatchObject({ action: 'rollback', requiresApproval: true, cause: { kind: 'deployment', event: { id: 'deploy-46' } } });
    expect(ask.phases.find((p) => p.name === 'dependency_checks')).toMatchObject({
      code: 'rollback_unnamed',
      evidence: expect.stringContaining('roll back deploy-46 to what ran before it'),
    });
    expect(ask.phases.find((p) => p.name === 'human_approval')!.evidence).toContain('rollback target not named by deploy-46: human approval required');
    // With a person approving what the rules ask, it waits for one.
    const guarded = runWorkflow({ ...sick, config: { ...sick.config, execution: { ...sick.config.execution, approval: 'guardrails' } } });
    expect(guarded).toMatchObject({ action: 'rollback', awaitingApproval: true, executable: false });
  });

  it('rolls a config change back to the value it says it changed from', () => {
    // db.pool.max_size 50 -> 30 exhausted the pool; no peer can take the traffic (the standby is sick).
    const cfg: ContextEvent = {
      ts: T - 15 * MIN,
      kind: 'config_change',
      id: 'cfg-186',
      stack: 'us-west-2',
      service: 'checkout',
      attributes: { key: 'db.pool.max_size', from: 50, to: 30 },
    };
    const sick = input({ events: [cfg] });
    (sick.health as Map<string, StackHealthEvent>).set('us-east-1', health('us-east-1', { latency: 6, reliability: 0.2 }));
    const d = runWorkflow(sick);
    expect(d).toMatchObject({ action: 'rollback', cause: { kind: 'config_change', event: { id: 'cfg-186' } } });
    expect(d.phases.find((p) => p.name === 'dependency_checks')!.evidence).toContain('roll back cfg-186 to db.pool.max_size=50');
    // Nothing inferred: no extra approval for the target.
    expect(d.phases.find((p) => p.name === 'human_approval')!.evidence).not.toContain('inferred');
    // Without `from` no way back is named: a person confirms the rollback.
    const bare = input({ events: [{ ...cfg, attributes: { key: 'db.pool.max_size' } }] });
    (bare.health as Map<string, StackHealthEvent>).set('us-east-1', health('us-east-1', { latency: 6, reliability: 0.2 }));
    const unnamed = runWorkflow(bare);
    expect(unnamed).toMatchObject({ action: 'rollback', requiresApproval: true });
    expect(unnamed.phases.find((p) => p.name === 'human_approval')!.evidence).toContain('rollback target not named by cfg-186');
  });

  it('rolls back to the version it saw deployed before when the deployment does not name it', () => {
    const before = deployment('deploy-45', { version: 'v8' }, T - 26 * 60 * MIN);
    const bad = deployment('deploy-46', { version: 'v9' });
    const d = runWorkflow(input({ events: [before, bad] }));
    expect(d).toMatchObject({
      action: 'rollback',
      cause: { kind: 'deployment', event: { id: 'deploy-46', attributes: { previousVersion: 'v8', previousVersionFrom: 'deploy-45' } } },
    });
    expect(d.reason).toBe('roll back deploy-46 on us-west-2 (v9 → v8)');
  });

  it('a global campaign explains what every stack does, not one stack going bad under it', () => {
    const campaign: ContextEvent = { ts: T - 40 * MIN, endTs: T + 60 * MIN, kind: 'campaign', id: 'spring-sale', attributes: {} };
    const d = runWorkflow(input({ events: [campaign] }));
    expect(d).toMatchObject({ action: 'shift_traffic', targets: ['us-east-1'] });
    expect(d.phases.find((p) => p.name === 'event_correlation')!.evidence).toContain(
      'campaign spring-sale is global, but http_error_ratio single out us-west-2 against peers under the same campaign',
    );
    // Every stack moving under the campaign is the campaign.
    expect(runWorkflow(input({ events: [campaign], delta: 'global' }))).toMatchObject({ action: 'none', cause: { kind: 'explained' } });
    // A campaign aimed at this stack explains it, whatever its peers do.
    expect(runWorkflow(input({ events: [{ ...campaign, stack: 'us-west-2' }] }))).toMatchObject({ action: 'none', cause: { kind: 'explained' } });
  });

  it('a global campaign does not explain one stack running its pool dry while its peers do not', () => {
    const campaign: ContextEvent = { ts: T - 40 * MIN, endTs: T + 60 * MIN, kind: 'campaign', id: 'spring-sale', attributes: {} };
    const pool = {
      metric: 'db_pool_utilization',
      signal: 'capacity' as const,
      stage: 'confirmed' as const,
      firstTs: T - 30 * MIN,
      lastTs: T,
      score: 16,
      peakScore: 16,
      value: 76,
      expected: 25,
      persistence: { hits: 5, of: 5 },
      recovered: false,
      coldStart: false,
    };
    const filling = (breachInMin: number | null, scope: IncidentDelta['scope']): WorkflowInput => {
      const inc = incident({
        signals: { db_pool_utilization: pool },
        predictions:
          breachInMin === null
            ? {}
            : {
                db_pool_utilization: {
                  metric: 'db_pool_utilization',
                  ts: T,
                  breachAt: T + breachInMin * MIN,
                  slo: { kind: 'saturation', limit: 90, comparator: '>' },
                },
              },
      });
      return input({ events: [campaign], incident: inc, deltas: verdicts(['db_pool_utilization', scope, 11]) });
    };
    // Heading for its saturation gate in 15 minutes, singled out against peers under the same campaign: shift.
    const d = runWorkflow(filling(15, 'local'));
    expect(d).toMatchObject({ action: 'shift_traffic', targets: ['us-east-1'] });
    expect(d.phases.find((p) => p.name === 'event_correlation')!.evidence).toContain('db_pool_utilization single out us-west-2');
    // The same pool rising with no breach in sight is the campaign's load.
    expect(runWorkflow(filling(null, 'local'))).toMatchObject({ action: 'none', cause: { kind: 'explained' } });
    // Every stack's pool filling alike is the campaign too, breach or not.
    expect(runWorkflow(filling(15, 'global'))).toMatchObject({ action: 'none', cause: { kind: 'explained' } });
    // Unless this one is out of pool while its peers, filling alike as fractions, still have room.
    const full = (peerSaturation: number): WorkflowInput => {
      const w = filling(15, 'global');
      w.incident.breaches = { db_pool_utilization: T - 2 * MIN };
      w.incident.signals['db_pool_utilization'] = { ...pool, value: 100, gate: 'saturation' };
      return {
        ...w,
        health: new Map([
          ['us-east-1', health('us-east-1', { latency: 0.3, reliability: 0.1, business: 0.2, capacity: 4 }, peerSaturation)],
          ['us-west-2', health('us-west-2', { latency: 2, reliability: 0.4, business: 1, capacity: 16 }, 1)],
        ]),
      };
    };
    const shifted = runWorkflow(full(0.4));
    expect(shifted).toMatchObject({ action: 'shift_traffic', targets: ['us-east-1'] });
    expect(shifted.phases.find((p) => p.name === 'event_correlation')!.evidence).toContain(
      'db_pool_utilization past the saturation gate on us-west-2 while its peers under the same campaign have room',
    );
    expect(shifted.phases.find((p) => p.name === 'delta_stack_identification')).toMatchObject({
      result: 'pass',
      code: 'saturated_alone',
      evidence: 'db_pool_utilization past the saturation gate on us-west-2 while its peers have room (us-east-1 at 40 %)',
    });
    // A peer nearly as full has no room to offer: the campaign's load, on every stack.
    expect(runWorkflow(full(0.93))).toMatchObject({ action: 'none', cause: { kind: 'explained' } });
    // Without a global event nothing is to be told apart from it: pools filling alike on every stack are global.
    const { incident: inc, deltas, health: byStack } = full(0.4);
    const alike = runWorkflow(input({ incident: inc, deltas, health: byStack }));
    expect(alike).toMatchObject({ action: 'none', cause: { kind: 'global' } });
    expect(alike.phases.find((p) => p.name === 'delta_stack_identification')!.code).toBe('global_at_risk');
  });

  it("a business drop that follows another service's own fault on the stack is that incident's impact, not a second mitigation", () => {
    // The cart's errors on us-west-2 confirmed since T-30; checkout's orders there singled out since T-10.
    const orders = confirmed('orders_per_min', 'business', { firstTs: T - 10 * MIN, score: 6, value: 820, expected: 960 });
    const checkout = incident({ signals: { orders_per_min: orders }, predictions: {}, breaches: { orders_per_min: T - 2 * MIN } });
    const cartErrors = { ...incident().signals['http_error_ratio']!, firstTs: T - 30 * MIN };
    const singled: IncidentDelta = { metric: 'http_error_ratio', ts: T - 25 * MIN, scope: 'local', stack: 'us-west-2', reason: 'local', separation: 8 };
    const cartIncident = (over: Partial<Incident> = {}): Incident =>
      incident({
        id: 'inc-cart',
        service: 'cart',
        status: 'mitigated',
        signals: { http_error_ratio: cartErrors },
        deltas: { http_error_ratio: singled },
        ...over,
      });
    const cart = cartIncident();
    const ordersDelta = verdicts(['orders_per_min', 'local', 5]);
    // The cart's latest health on us-west-2: errors still 9 sigma.
    const cartHealth = { ...health('us-west-2', { reliability: 9 }), service: 'cart' };
    const downstream = (siblings: Incident[], signals = checkout.signals, h: StackHealthEvent | undefined = cartHealth) =>
      runWorkflow({ ...input({ incident: { ...checkout, signals } }), deltas: ordersDelta, siblings: siblings.map((o) => ({ incident: o, health: h })) });
    const d = downstream([cart]);
    expect(d).toMatchObject({ action: 'observe', reason: "downstream of cart's incident inc-cart", cause: { kind: 'explained' } });
    expect(d.phases.find((p) => p.name === 'event_correlation')).toMatchObject({
      code: 'downstream',
      evidence:
        "checkout's orders_per_min on us-west-2 began after cart's incident inc-cart on us-west-2 (http_error_ratio since 09:30): its impact here, mitigated there",
    });
    // Without the cart's incident the same drop is checkout's own: shift.
    expect(downstream([]).action).toBe('shift_traffic');
    // Nor when the drop came first (the cart failing after checkout's orders fell is no cause of them).
    expect(downstream([cartIncident({ signals: { http_error_ratio: { ...cartErrors, firstTs: T - 5 * MIN } } })]).action).toBe('shift_traffic');
    // Nor once the cart's errors recovered, or stopped reporting.
    expect(downstream([cartIncident({ signals: { http_error_ratio: { ...cartErrors, recovered: true } } })]).action).toBe('shift_traffic');
    expect(downstream([cart], checkout.signals, { ...cartHealth, ts: T - 30 * MIN }).action).toBe('shift_traffic');
    expect(downstream([cart], checkout.signals, { ...cartHealth, scores: { reliability: 0.4 } }).action).toBe('shift_traffic');
    // Nor when nothing was done about the cart: "mitigated there" must be true.
    expect(downstream([cartIncident({ status: 'open' })]).action).toBe('shift_traffic');
    // Nor when the cart fails on every stack (no drop on one stack follows from it), or on an ungated signal (restarts).
    expect(downstream([cartIncident({ deltas: { http_error_ratio: { ...singled, scope: 'global', stack: null } } })]).action).toBe('shift_traffic');
    expect(downstream([cartIncident({ signals: { http_error_ratio: { ...cartErrors, gate: null } } })]).action).toBe('shift_traffic');

    // A load test on checkout there since T-70: its CPU, singled out since the test's first
    // minute, is the test's load; the harm singled out is still the drop alone (imitation seed 68).
    const loadTest: ContextEvent = {
      ts: T - 70 * MIN,
      endTs: T + 10 * MIN,
      kind: 'perf_test',
      id: 'load-7',
      stack: 'us-west-2',
      service: 'checkout',
      attributes: {},
    };
    const cpu = confirmed('cpu_utilization', 'capacity', { firstTs: T - 69 * MIN, score: 5, value: 72, expected: 50 });
    const underTest = (events: ContextEvent[]) =>
      runWorkflow({
        ...input({ incident: { ...checkout, signals: { ...checkout.signals, cpu_utilization: cpu } }, events }),
        deltas: verdicts(['orders_per_min', 'local', 5], ['cpu_utilization', 'local', 3]),
        siblings: [{ incident: cart, health: cartHealth }],
      });
    const tested = underTest([loadTest]);
    expect(tested).toMatchObject({ action: 'observe', reason: "downstream of cart's incident inc-cart" });
    expect(tested.phases.find((p) => p.name === 'event_correlation')!.code).toBe('downstream');
    // With no test to account for it, the CPU singling the stack out is checkout's own: shift.
    expect(underTest([]).action).toBe('shift_traffic');
  });

  it('does not blame a deployment that came well after the episode began', () => {
    const late: ContextEvent = { ts: T - 2 * MIN, kind: 'deployment', id: 'deploy-43', stack: 'us-west-2', attributes: {} };
    const early = incident({ openedAt: T - 30 * MIN });
    early.signals['http_error_ratio']!.firstTs = T - 30 * MIN;
    expect(runWorkflow(input({ incident: early, events: [late] })).action).toBe('shift_traffic');
  });

  it('is explained, not paged, during a performance test on that stack', () => {
    const perf: ContextEvent = { ts: T - 30 * MIN, endTs: T + 10 * MIN, kind: 'perf_test', id: 'k6-soak', stack: 'us-west-2', attributes: {} };
    const d = runWorkflow(input({ events: [perf] }));
    expect(d).toMatchObject({ action: 'none', cause: { kind: 'explained' } });
    expect(d.phases.find((p) => p.name === 'event_correlation')).toMatchObject({ result: 'stop', evidence: expect.stringContaining('perf_test k6-soak') });
    expect(d.phases.filter((p) => p.result === 'skip' && p.evidence.startsWith('not reached'))).toHaveLength(7);
    // A second recommendation that ends there shares the skipped phases' records (they are most of
    // a kept recommendation's memory); they are frozen, and changing one replaces it (setPhase).
    const again = runWorkflow(input({ events: [perf] }));
    expect(again.phases.slice(3)).toEqual(d.phases.slice(3));
    for (let i = 3; i < 10; i++) expect(again.phases[i]).toBe(d.phases[i]);
    const rec = { phases: again.phases } as unknown as Recommendation;
    setPhase(rec, 'execution', 'pass', 'executed', 'ran');
    expect(d.phases[7]).toMatchObject({ name: 'execution', result: 'skip', code: 'not_reached' });
    expect(rec.phases[7]).toMatchObject({ name: 'execution', result: 'pass', evidence: 'ran' });
    expect(() => {
      (d.phases[7] as { evidence: string }).evidence = 'changed in place';
    }).toThrow(TypeError);
  });

  it('judges errors that begin long into a steady performance test on their own', () => {
    // The test began 55 minutes ago; the errors 10 minutes ago (45 minutes into it): no load test
    // brings its errors that late, so they are the stack's own (a dependency failing under the test).
    const perf: ContextEvent = { ts: T - 55 * MIN, endTs: T + 30 * MIN, kind: 'perf_test', id: 'k6-peak', stack: 'us-west-2', attributes: {} };
    const late = runWorkflow(input({ events: [perf] }));
    expect(late.action).toBe('shift_traffic');
    expect(late.phases.find((p) => p.name === 'event_correlation')!.evidence).toContain(
      'http_error_ratio began 45 min into perf_test k6-peak: past the 20-minute warm-up allowance',
    );
    // The same errors 15 minutes into the test came with its load: explained.
    const early = runWorkflow(input({ events: [{ ...perf, ts: T - 25 * MIN }] }));
    expect(early).toMatchObject({ action: 'none', cause: { kind: 'explained' } });
    // Unless they are past their SLO gate: the stack under test still serves users.
    const hurting = runWorkflow(input({ events: [{ ...perf, ts: T - 25 * MIN }], incident: incident({ breaches: { http_error_ratio: T - MIN } }) }));
    expect(hurting.action).toBe('shift_traffic');
    expect(hurting.phases.find((p) => p.name === 'event_correlation')!.evidence).toContain(
      'http_error_ratio past the SLO gate during perf_test k6-peak: users are hurt, whatever the test',
    );
    // A chaos experiment's errors come whenever it injects them: still explained.
    expect(runWorkflow(input({ events: [{ ...perf, kind: 'chaos', id: 'pod-kill' }] }))).toMatchObject({ action: 'none', cause: { kind: 'explained' } });
  });

  it('judges latency or capacity still past its gate after a performance test ended on its own', () => {
    // A pool past its saturation gate since T-3; the test that loaded it since T-40 ended at T-5.
    const perf: ContextEvent = { ts: T - 40 * MIN, endTs: T - 5 * MIN, kind: 'perf_test', id: 'k6-peak', stack: 'us-west-2', attributes: {} };
    const pool = confirmed('db_pool_utilization', 'capacity', { firstTs: T - 37 * MIN, score: 8, value: 97, expected: 45 });
    const saturated = (events: ContextEvent[]) =>
      runWorkflow({
        ...input({ incident: incident({ signals: { db_pool_utilization: pool }, predictions: {}, breaches: { db_pool_utilization: T - 3 * MIN } }), events }),
        deltas: verdicts(['db_pool_utilization', 'local', 6]),
      });
    const over = saturated([perf]);
    expect(over.action).toBe('shift_traffic');
    expect(over.phases.find((p) => p.name === 'event_correlation')!.evidence).toContain(
      'db_pool_utilization still past the gate after perf_test k6-peak ended at 09:55: not its load',
    );
    // While the test runs, or in the minutes its load takes to drain, it is the test's.
    expect(saturated([{ ...perf, endTs: T + 10 * MIN }])).toMatchObject({ action: 'none', cause: { kind: 'explained' } });
    expect(saturated([{ ...perf, endTs: T - MIN }])).toMatchObject({ action: 'none', cause: { kind: 'explained' } });
  });

  it('blames a change made on the stack after its performance test began, not the test', () => {
    const perf: ContextEvent = { ts: T - 30 * MIN, endTs: T + 10 * MIN, kind: 'perf_test', id: 'k6-soak', stack: 'us-west-2', attributes: {} };
    // Deployed ten minutes into the test, ten minutes before the episode: the change is the likelier cause.
    const during = runWorkflow(input({ events: [perf, deployment('deploy-9', { version: 'v9', previousVersion: 'v8' }, T - 20 * MIN)] }));
    expect(during).toMatchObject({ action: 'rollback' });
    expect(during.phases.find((p) => p.name === 'event_correlation')!.evidence).toContain(
      'deployment deploy-9 came after perf_test k6-soak began: the change, not the perf_test, is the likelier cause',
    );
    // Deployed before the test began: the test explains what followed it.
    const before = runWorkflow(input({ events: [deployment('deploy-8', { version: 'v8' }, T - 40 * MIN), perf] }));
    expect(before).toMatchObject({ action: 'none', cause: { kind: 'explained' } });
    // Deployed nine minutes after the test's deviation began (within the cause window's slack, so
    // still noted as a candidate): nothing followed it, so the test still explains the episode.
    const loaded = incident({ openedAt: T - 10 * MIN });
    const into = runWorkflow(input({ incident: loaded, events: [perf, deployment('deploy-10', { version: 'v10', previousVersion: 'v9' }, T - MIN)] }));
    expect(into).toMatchObject({ action: 'none', cause: { kind: 'explained' } });
    // A warning after it is no sustained deviation: the latency bump every rollout brings as pods
    // restart does not take the test's confirmed deviation with it (a healthy deploy 45 minutes into
    // a load test had rolled back inside the test on the kit's imitation families).
    const bump = incident({
      openedAt: T - 10 * MIN,
      signals: {
        ...loaded.signals,
        http_p99_ms: { ...loaded.signals['http_error_ratio']!, metric: 'http_p99_ms', signal: 'latency', stage: 'warn', firstTs: T + MIN },
      },
    });
    const warned = runWorkflow({
      ...input({ incident: bump, events: [perf, deployment('deploy-10', { version: 'v10', previousVersion: 'v9' }, T - MIN)] }),
      now: T + 2 * MIN,
    });
    expect(warned).toMatchObject({ action: 'none', cause: { kind: 'explained' } });
    // Once a deviation begins after the deploy (its errors, two minutes later), the change is the cause again.
    const errorsAfter = incident({
      openedAt: T - 10 * MIN,
      signals: { ...loaded.signals, http_p99_ms: { ...loaded.signals['http_error_ratio']!, metric: 'http_p99_ms', signal: 'latency', firstTs: T + MIN } },
    });
    const now = T + 2 * MIN;
    const after = runWorkflow({
      ...input({ incident: errorsAfter, events: [perf, deployment('deploy-10', { version: 'v10', previousVersion: 'v9' }, T - MIN)] }),
      now,
    });
    expect(after.phases.find((p) => p.name === 'event_correlation')!.evidence).toContain('deploy-10 came after perf_test k6-soak began');
  });

  it("leaves a performance test's own load out of the SLO a change made during it puts at risk", () => {
    // The test began 40 minutes ago and its stepped CPU has been confirmed since, forecast to reach
    // its saturation gate in 80 minutes; a deploy 8 minutes ago, its rollout's p99 bump confirmed since.
    const perf: ContextEvent = { ts: T - 40 * MIN, endTs: T + 20 * MIN, kind: 'perf_test', id: 'k6-steps', stack: 'us-west-2', attributes: {} };
    const deploy = deployment('deploy-907', { version: 'v2.10', previousVersion: 'v2.9' }, T - 8 * MIN);
    const cpu = confirmed('cpu_utilization', 'capacity', { firstTs: T - 37 * MIN, score: 6, value: 55, expected: 38 });
    const p99 = confirmed('http_p99_ms', 'latency', { firstTs: T - 4 * MIN, score: 4.1, value: 288, expected: 228, persistence: { hits: 4, of: 5 } });
    const saturation = { metric: 'cpu_utilization', ts: T, breachAt: T + 80 * MIN, slo: { kind: 'saturation' as const, limit: 90, comparator: '>' as const } };
    const under = (signals: Incident['signals'], predictions: Incident['predictions'], events = [perf, deploy]) => {
      const inc = incident({ openedAt: T - 37 * MIN, signals, predictions });
      const ctx = new ContextIndex();
      for (const e of events) ctx.add(e);
      // As the pipeline asks: every live signal's onset, so a change can cause one that began after it.
      const onsets = Object.values(signals).map((s) => s.firstTs);
      const base = input({ incident: inc, events });
      return runWorkflow({
        ...base,
        correlation: ctx.correlate(inc.service, inc.stack, inc.openedAt, T, config.correlation, onsets),
        deltas: verdicts(['cpu_utilization', 'local', 5], ['http_p99_ms', 'local', 4]),
        // The stack's latest health as the signals say: CPU 6σ, p99 4.1σ (errors 9σ when they are there).
        health: new Map([
          ...base.health,
          [
            'us-west-2',
            health('us-west-2', { latency: 4.1, reliability: signals['http_error_ratio'] === undefined ? 0.3 : 9, business: 0.2, capacity: 6 }, 0.62),
          ],
        ]),
      });
    };
    const bump = under({ cpu_utilization: cpu, http_p99_ms: p99 }, { cpu_utilization: saturation });
    expect(bump).toMatchObject({ action: 'observe', reason: 'deviation without SLO risk' });
    expect(bump.phases.find((p) => p.name === 'event_correlation')!.evidence).toContain(
      "cpu_utilization began before deploy-907: the perf_test's, no SLO at risk of the change",
    );
    // Errors that follow the deploy put an SLO at risk of its own: roll back.
    const errors = confirmed('http_error_ratio', 'reliability', {
      firstTs: T - 3 * MIN,
      score: 9,
      value: 0.0009,
      expected: 0.0003,
      gate: incident().signals['http_error_ratio']!.gate,
    });
    expect(under({ cpu_utilization: cpu, http_p99_ms: p99, http_error_ratio: errors }, { cpu_utilization: saturation }).action).toBe('rollback');
    // The same CPU with no test running is the deploy's to answer for (it began before it, within the cause window's slack).
    const noTest = under({ cpu_utilization: cpu, http_p99_ms: p99 }, { cpu_utilization: saturation }, [deploy]);
    expect(noTest.action).toBe('rollback');
  });

  it('does not take the magnitude of a change it blames from a point that came before the change', () => {
    // Kit seed 5353: a lone 5xx at 200σ, then a deploy four minutes later, then the rollout's two
    // points at 4σ. The cause window's slack lets the deploy own the episode; not the spike's 200σ.
    const spiked = incident({
      openedAt: T - 8 * MIN,
      signals: {
        http_error_ratio: { ...incident().signals['http_error_ratio']!, firstTs: T - 8 * MIN, score: 4, peakScore: 200, persistence: { hits: 2, of: 5 } },
      },
      predictions: {},
    });
    const deploy = deployment('deploy-690', { version: 'v2.8.0', previousVersion: 'v2.7.6' }, T - 4 * MIN);
    const decide = (events: ContextEvent[]) => {
      const ctx = new ContextIndex();
      for (const e of events) ctx.add(e);
      const base = input({ incident: spiked, events });
      return runWorkflow({
        ...base,
        correlation: ctx.correlate('checkout', 'us-west-2', spiked.openedAt, T, config.correlation, [T - 8 * MIN]),
        health: new Map([...base.health, ['us-west-2', health('us-west-2', { latency: 0.5, reliability: 4, business: 0.2, capacity: 0.5 })]]),
      });
    };
    const blamed = decide([deploy]);
    expect(blamed.phases.find((p) => p.name === 'event_correlation')!.evidence).toContain('deploy-690 on us-west-2 4 min into the episode');
    expect(blamed.evidence.magnitude).toBe(4);
    expect(blamed.action).toBe('observe');
    // With no change to blame, the episode's peak is its magnitude, as before.
    expect(decide([]).evidence.magnitude).toBe(200);
  });

  it('reads a latency forecast during a rollout and its warm-up as a hint, unless the breach would come first', () => {
    // p99 30 % over its baseline, 6 sigma, forecast to cross 500 ms; the rollout ended 2 minutes ago.
    const latencyOnly = (breachInMin: number) =>
      incident({
        signals: {
          http_p99_ms: {
            metric: 'http_p99_ms',
            signal: 'latency',
            stage: 'confirmed',
            firstTs: T - 6 * MIN,
            lastTs: T,
            score: 6,
            peakScore: 6,
            value: 345,
            expected: 265,
            persistence: { hits: 5, of: 5 },
            recovered: false,
            coldStart: false,
          },
        },
        predictions: {
          http_p99_ms: { metric: 'http_p99_ms', ts: T, breachAt: T + breachInMin * MIN, slo: { kind: 'latency_p99', limit: 500, comparator: '>' } },
        },
      });
    const rollout = (endedMinAgo: number): ContextEvent => ({
      ...deployment('deploy-767', { version: 'v2.5', previousVersion: 'v2.4' }, T - (endedMinAgo + 8) * MIN),
      endTs: T - endedMinAgo * MIN,
    });
    const deltas = verdicts(['http_p99_ms', 'local', 6]);
    const run = (breachInMin: number, endedMinAgo: number) =>
      runWorkflow(input({ incident: latencyOnly(breachInMin), events: [rollout(endedMinAgo)], deltas }));
    // Breach forecast in 45 minutes, warm-up over in 18: watch, the forecast is no SLO at risk yet.
    const d = run(45, 2);
    expect(d).toMatchObject({ action: 'observe', reason: 'deviation without SLO risk' });
    // The same forecast once the warm-up allowance (20 minutes after the rollout) has passed: roll back.
    expect(run(45, 21).action).toBe('rollback');
    // A breach forecast before the warm-up would end cannot wait for it.
    expect(run(12, 2).action).toBe('rollback');
  });

  it('treats latency right after traffic moved onto the stack as cold caches, until the allowance runs out', () => {
    const latencyOnly = incident({
      signals: {
        http_p99_ms: {
          metric: 'http_p99_ms',
          signal: 'latency',
          stage: 'confirmed',
          firstTs: T - 5 * MIN,
          lastTs: T,
          score: 12,
          peakScore: 12,
          value: 480,
          expected: 210,
          persistence: { hits: 5, of: 5 },
          recovered: false,
          coldStart: false,
        },
      },
      predictions: { http_p99_ms: { metric: 'http_p99_ms', ts: T, breachAt: T + 5 * MIN, slo: { kind: 'latency_p99', limit: 500, comparator: '>' } } },
    });
    const shift: ContextEvent = { ts: T - 8 * MIN, kind: 'traffic_shift', id: 'drain-east', attributes: { weights: { 'us-east-1': 20, 'us-west-2': 80 } } };
    const deltas = new Map<string, IncidentDelta>([
      ['http_p99_ms', { metric: 'http_p99_ms', ts: T, scope: 'local', stack: 'us-west-2', reason: 'local', separation: 10 }],
    ]);
    const d = runWorkflow(input({ incident: latencyOnly, events: [shift], deltas }));
    expect(d).toMatchObject({ action: 'none', cause: { kind: 'cold_cache' } });
    // With errors confirmed as well it is no longer just warm-up.
    const withErrors = incident({ signals: { ...latencyOnly.signals, ...incident().signals } });
    expect(runWorkflow(input({ incident: withErrors, events: [shift], deltas })).action).not.toBe('none');
    // Orders per share a few sigma low right after the shift: the division by the new share is
    // the least certain it gets (the traffic moved over is not the stack's usual mix), still warm-up...
    const orders = {
      ...latencyOnly.signals['http_p99_ms']!,
      metric: 'orders_per_min',
      signal: 'business' as const,
      score: 4.1,
      peakScore: 4.6,
      value: 1590,
      expected: 1680,
    };
    const fewerOrders = incident({ ...latencyOnly, signals: { ...latencyOnly.signals, orders_per_min: orders } });
    expect(runWorkflow(input({ incident: fewerOrders, events: [shift], deltas }))).toMatchObject({ action: 'none', cause: { kind: 'cold_cache' } });
    // ...and past their gate (5 % short per share) while the stack already serves more orders than
    // it did at its old share (1590 × 80 % against 1680 × 50 % a minute): sessions follow the new
    // weights over minutes, the shortfall is the move's lag (held-out imitation seed 22222: 620 →
    // 807 orders a minute after 37 → 50 %, shifted away from onto the stack drained for maintenance).
    const lagging = incident({ ...fewerOrders, breaches: { orders_per_min: T - MIN } });
    const lag = runWorkflow(input({ incident: lagging, events: [shift], deltas }));
    expect(lag).toMatchObject({ action: 'none', cause: { kind: 'cold_cache' } });
    expect(lag.phases.find((p) => p.name === 'event_correlation')!.evidence).toContain('orders_per_min per share lagging the move');
    // Fewer orders than it served before the traffic came (1000 × 80 % < 1680 × 50 %): the stack
    // fails the users it was given, impact judged on its own.
    const lostOrders = incident({ ...lagging, signals: { ...lagging.signals, orders_per_min: { ...orders, value: 1000 } } });
    expect(runWorkflow(input({ incident: lostOrders, events: [shift], deltas })).phases.find((p) => p.name === 'event_correlation')!.code).not.toBe(
      'cold_cache',
    );
  });

  it("counts a deviation warned once before the shift but confirmed after it as the shift's warm-up", () => {
    const shift: ContextEvent = { ts: T - 3 * MIN, kind: 'traffic_shift', id: 'drain-east', attributes: { weights: { 'us-east-1': 20, 'us-west-2': 80 } } };
    const cpu = {
      metric: 'cpu_utilization',
      signal: 'capacity' as const,
      stage: 'confirmed' as const,
      firstTs: T - 8 * MIN,
      lastTs: T,
      score: 13,
      peakScore: 13,
      value: 0.7,
      expected: 0.5,
      persistence: { hits: 2, of: 5 },
      recovered: false,
      coldStart: false,
    };
    const deltas = new Map<string, IncidentDelta>([
      ['cpu_utilization', { metric: 'cpu_utilization', ts: T, scope: 'local', stack: 'us-west-2', reason: 'local', separation: 8 }],
    ]);
    // One noise warning five minutes before the traffic moved, confirmed only after it arrived.
    const warnedBefore = incident({ openedAt: T - 8 * MIN, signals: { cpu_utilization: { ...cpu, confirmedTs: T - 2 * MIN } }, predictions: {} });
    expect(runWorkflow(input({ incident: warnedBefore, events: [shift], deltas }))).toMatchObject({ action: 'none', cause: { kind: 'cold_cache' } });
    // Nor one still a warning, past its gate with the cold caches (imitation seed 61: a lone p99
    // spike on the idle colour three minutes before its cutover).
    const { confirmedTs: _unconfirmed, ...warning } = { ...cpu, stage: 'warn' as const, confirmedTs: undefined };
    const stillWarning = incident({ openedAt: T - 8 * MIN, signals: { cpu_utilization: warning }, predictions: {}, breaches: { cpu_utilization: T - MIN } });
    expect(runWorkflow(input({ incident: stillWarning, events: [shift], deltas }))).toMatchObject({ action: 'none', cause: { kind: 'cold_cache' } });
    // Established before the shift (confirmed eight minutes ago): not the shift's.
    const established = incident({ openedAt: T - 8 * MIN, signals: { cpu_utilization: { ...cpu, confirmedTs: T - 8 * MIN } }, predictions: {} });
    expect(runWorkflow(input({ incident: established, events: [shift], deltas })).phases.find((p) => p.name === 'event_correlation')!.code).not.toBe(
      'cold_cache',
    );
  });

  it("lends the shift's warm-up no SLO risk to a deviation established before it", () => {
    // A cutover moved most of the traffic onto us-west-2 three minutes ago. Its memory had drifted
    // up before (confirmed, nothing at risk); its CPU rose with the cutover and is forecast past its
    // gate. The forecast is the warm-up's: no action (on a blue/green imitation family the idle
    // colour's memory had made the cutover's CPU an incident, and the release it exposed was rolled back).
    const shift: ContextEvent = { ts: T - 3 * MIN, kind: 'traffic_shift', id: 'cutover', attributes: { weights: { 'us-east-1': 30, 'us-west-2': 70 } } };
    const base = {
      signal: 'capacity' as const,
      stage: 'confirmed' as const,
      lastTs: T,
      score: 6,
      peakScore: 6,
      persistence: { hits: 4, of: 5 },
      recovered: false,
      coldStart: false,
    };
    const memory = { ...base, metric: 'memory_utilization', firstTs: T - 20 * MIN, confirmedTs: T - 16 * MIN, value: 71, expected: 68 };
    const cpu = { ...base, metric: 'cpu_utilization', firstTs: T - 2 * MIN, confirmedTs: T - MIN, score: 40, peakScore: 70, value: 0.6, expected: 0.07 };
    const deltas = new Map<string, IncidentDelta>([
      ['cpu_utilization', { metric: 'cpu_utilization', ts: T, scope: 'local', stack: 'us-west-2', reason: 'local', separation: 25 }],
      ['memory_utilization', { metric: 'memory_utilization', ts: T, scope: 'local', stack: 'us-west-2', reason: 'local', separation: 4 }],
    ]);
    const forecast = {
      cpu_utilization: { metric: 'cpu_utilization', ts: T, breachAt: T + 30 * MIN, slo: { kind: 'saturation' as const, limit: 0.9, comparator: '>' as const } },
    };
    const both = incident({ openedAt: T - 20 * MIN, signals: { memory_utilization: memory, cpu_utilization: cpu }, predictions: forecast });
    const d = runWorkflow(input({ incident: both, events: [shift], deltas }));
    expect(d.action).toBe('observe');
    expect(d.phases.find((p) => p.name === 'event_correlation')!.evidence).toContain(
      "cpu_utilization began within 20 min of cutover: the warm-up's, no SLO risk of this incident",
    );
    expect(d.phases.find((p) => p.name === 'confidence_scoring')!.code).toBe('no_slo_risk');
    // The same forecast on a CPU established before the shift is the incident's own.
    const ownCpu = incident({
      openedAt: T - 20 * MIN,
      signals: { memory_utilization: memory, cpu_utilization: { ...cpu, firstTs: T - 20 * MIN, confirmedTs: T - 16 * MIN } },
      predictions: forecast,
    });
    expect(runWorkflow(input({ incident: ownCpu, events: [shift], deltas })).phases.find((p) => p.name === 'confidence_scoring')!.code).toBe('confident');
  });

  it('does not call a pool past its saturation gate long after the shift a warm-up', () => {
    // The cutover moved the traffic onto us-west-2 70 minutes ago; its pool, judged against a
    // baseline of the old share, has deviated since. Now it fills up past the 90 % gate.
    const shift: ContextEvent = { ts: T - 70 * MIN, kind: 'traffic_shift', id: 'cutover', attributes: { weights: { 'us-east-1': 4, 'us-west-2': 96 } } };
    const pool = {
      metric: 'db_pool_utilization',
      signal: 'capacity' as const,
      stage: 'confirmed' as const,
      firstTs: T - 68 * MIN,
      lastTs: T,
      score: 30,
      peakScore: 30,
      value: 96,
      expected: 35,
      persistence: { hits: 5, of: 5 },
      recovered: false,
      coldStart: false,
    };
    const deltas = new Map<string, IncidentDelta>([
      ['db_pool_utilization', { metric: 'db_pool_utilization', ts: T, scope: 'local', stack: 'us-west-2', reason: 'local', separation: 20 }],
    ]);
    const warming = incident({ openedAt: T - 68 * MIN, signals: { db_pool_utilization: pool }, predictions: {} });
    // Deviating but under its gate: the shift's, for as long as it lasts.
    expect(runWorkflow(input({ incident: warming, events: [shift], deltas }))).toMatchObject({ action: 'none', cause: { kind: 'cold_cache' } });
    // Past the gate since 2 minutes, an hour after the shift: judged on its own, and traffic moves.
    const saturated = incident({ ...warming, breaches: { db_pool_utilization: T - 2 * MIN } });
    const d = runWorkflow(input({ incident: saturated, events: [shift], deltas }));
    expect(d.phases.find((p) => p.name === 'event_correlation')!.code).not.toBe('cold_cache');
    expect(d.phases.find((p) => p.name === 'delta_stack_identification')!.code).toBe('singled_out');
    // The idle colour, nearly empty, has the headroom: traffic moves back to it.
    const idle = new Map([
      ['us-east-1', health('us-east-1', { latency: 0.3, reliability: 0.1, business: 0.2, capacity: 0.5 }, 0.05)],
      ['us-west-2', health('us-west-2', { latency: 2, reliability: 0.5, business: 1, capacity: 30 }, 0.96)],
    ]);
    expect(runWorkflow(input({ incident: saturated, events: [shift], deltas, health: idle })).action).toBe('shift_traffic');
    // Past the gate within the warm-up allowance (the first minutes of a cutover): still the shift's.
    const early = incident({ ...warming, breaches: { db_pool_utilization: T - 60 * MIN } });
    expect(runWorkflow(input({ incident: early, events: [shift], deltas }))).toMatchObject({ action: 'none', cause: { kind: 'cold_cache' } });
  });

  it('judges a deviation that began after the warm-up on its own: a late latency warning does not borrow the warm-up CPU', () => {
    const shift: ContextEvent = { ts: T - 80 * MIN, kind: 'traffic_shift', id: 'drain-east', attributes: { weights: { 'us-east-1': 20, 'us-west-2': 80 } } };
    const cpu = {
      metric: 'cpu_utilization',
      signal: 'capacity' as const,
      stage: 'confirmed' as const,
      firstTs: T - 79 * MIN,
      lastTs: T,
      score: 6,
      peakScore: 20,
      value: 24,
      expected: 19,
      persistence: { hits: 5, of: 5 },
      recovered: false,
      coldStart: false,
    };
    const p99 = {
      ...cpu,
      metric: 'http_p99_ms',
      signal: 'latency' as const,
      stage: 'warn' as const,
      firstTs: T,
      score: 28,
      peakScore: 28,
      value: 625,
      expected: 150,
    };
    const lateSpike = incident({
      openedAt: T - 79 * MIN,
      signals: { cpu_utilization: cpu, http_p99_ms: p99 },
      predictions: { http_p99_ms: { metric: 'http_p99_ms', ts: T, breachAt: T + 79 * MIN, slo: { kind: 'latency_p99', limit: 500, comparator: '>' } } },
    });
    const deltas = new Map<string, IncidentDelta>([
      ['cpu_utilization', { metric: 'cpu_utilization', ts: T, scope: 'local', stack: 'us-west-2', reason: 'local', separation: 7 }],
    ]);
    const d = runWorkflow(input({ incident: lateSpike, events: [shift], deltas }));
    expect(d).toMatchObject({ action: 'observe', cause: { kind: 'cold_cache' } });
    expect(d.phases.find((p) => p.name === 'event_correlation')!.evidence).toContain(
      'which explains cpu_utilization; http_p99_ms began 80 min after it, not yet sustained',
    );
    // Once the late deviation is confirmed on its own, it is judged: the warm-up no longer excuses it.
    const sustained = incident({ ...lateSpike, signals: { cpu_utilization: cpu, http_p99_ms: { ...p99, stage: 'confirmed', firstTs: T - 5 * MIN } } });
    expect(runWorkflow(input({ incident: sustained, events: [shift], deltas })).phases.find((p) => p.name === 'event_correlation')!.code).not.toBe(
      'cold_cache',
    );
  });

  it('trusts a capacity forecast at once, unless traffic was just moved onto the stack and the climb is young', () => {
    const pool = confirmed('db_pool_utilization', 'capacity', {
      firstTs: T - 4 * MIN,
      score: 5.5,
      value: 62,
      expected: 40,
      persistence: { hits: 4, of: 5, seen: 4 },
      gate: 'saturation',
    });
    const filling = incident({
      openedAt: T - 4 * MIN,
      signals: { db_pool_utilization: pool },
      predictions: {
        db_pool_utilization: {
          metric: 'db_pool_utilization',
          ts: T,
          breachAt: T + 45 * MIN,
          slo: { kind: 'saturation', limit: 90, comparator: '>' },
          beyondBound: true,
        },
      },
    });
    const deltas = new Map<string, IncidentDelta>([
      ['db_pool_utilization', { metric: 'db_pool_utilization', ts: T, scope: 'local', stack: 'us-west-2', reason: 'local', separation: 5 }],
    ]);
    // A pool filling up four minutes, 45 minutes from its gate: the forecast is the SLO at risk.
    const risk = (d: ReturnType<typeof runWorkflow>) => d.phases.find((p) => p.name === 'confidence_scoring')!.evidence;
    expect(risk(runWorkflow(input({ incident: filling, deltas })))).toContain('db_pool_utilization breach predicted');
    // The same climb beginning 26 minutes after traffic moved onto the stack (past the 20-minute warm-up) is the
    // new load settling: not extrapolated 45 minutes ahead on four minutes of rise.
    const cutover: ContextEvent = { ts: T - 30 * MIN, kind: 'traffic_shift', id: 'cutover', attributes: { weights: { 'us-east-1': 30, 'us-west-2': 70 } } };
    expect(runWorkflow(input({ incident: filling, deltas, events: [cutover] }))).toMatchObject({ action: 'observe', reason: 'deviation without SLO risk' });
  });

  it('does not let one latency spike borrow a confirmed memory deviation to put an SLO at risk', () => {
    const memory = {
      metric: 'memory_utilization',
      signal: 'capacity' as const,
      stage: 'confirmed' as const,
      firstTs: T - 120 * MIN,
      lastTs: T,
      score: 4.1,
      peakScore: 4.1,
      value: 64,
      expected: 62,
      persistence: { hits: 4, of: 5 },
      recovered: false,
      coldStart: false,
      gate: 'saturation' as const,
    };
    const spike = {
      ...memory,
      metric: 'http_p99_ms',
      signal: 'latency' as const,
      stage: 'warn' as const,
      firstTs: T - 3 * MIN,
      score: 43,
      peakScore: 43,
      value: 900,
      expected: 190,
      persistence: { hits: 1, of: 5 },
      gate: null,
    };
    const forecast = (ts: number, beyondBound: boolean, since = 3) =>
      incident({
        openedAt: T - 120 * MIN,
        signals: { memory_utilization: memory, http_p99_ms: { ...spike, firstTs: T - since * MIN } },
        predictions: {
          http_p99_ms: { metric: 'http_p99_ms', ts, breachAt: T + 45 * MIN, slo: { kind: 'latency_p99', limit: 500, comparator: '>' }, beyondBound },
        },
      });
    const deltas = new Map<string, IncidentDelta>([
      ['http_p99_ms', { metric: 'http_p99_ms', ts: T, scope: 'local', stack: 'us-west-2', reason: 'local', separation: 5.5 }],
    ]);
    const noRisk = { action: 'observe', reason: 'deviation without SLO risk' };
    // A release on the stack is the suspect, so the verdict stands with the latency back under its
    // bound (without one, phase 4 would stop first: not singled out now) and the SLO risk is judged.
    const events = [deployment('deploy-7', { version: 'v2', previousVersion: 'v1' }, T - 125 * MIN)];
    // The forecast made on the spike itself, and its echo once the latency is back inside its bound.
    expect(runWorkflow(input({ incident: forecast(T - 3 * MIN, true), deltas, events }))).toMatchObject(noRisk);
    expect(runWorkflow(input({ incident: forecast(T, false), deltas, events }))).toMatchObject(noRisk);
    // Still beyond the bound points later, it is a trend, not a spike; but a trend three minutes old
    // is not extrapolated 45 minutes ahead (no further than eight times its span)...
    expect(runWorkflow(input({ incident: forecast(T, true), deltas, events }))).toMatchObject(noRisk);
    // ...one that has lasted 15 minutes is: the forecast counts (and the confidence formula weighs
    // its 45-minute horizon).
    const trend = runWorkflow(input({ incident: forecast(T, true, 15), deltas, events }));
    expect(trend.reason).not.toBe('deviation without SLO risk');
    expect(trend.phases.find((p) => p.name === 'confidence_scoring')!.evidence).toContain('breach in 45 min');
  });

  it('lets a forecast made back inside the bound count only while the stack still deviates on that signal', () => {
    // A confirmed p99 excursion; the forecast made at T is on a point back inside its bound, so it
    // extrapolates what the excursion left in the smoothed trend.
    const p99 = confirmed('http_p99_ms', 'latency', { firstTs: T - 20 * MIN, score: 40, value: 420, expected: 190, gate: 'latency_p99' });
    const echo = incident({
      openedAt: T - 20 * MIN,
      signals: { http_p99_ms: p99 },
      predictions: {
        http_p99_ms: { metric: 'http_p99_ms', ts: T, breachAt: T + 45 * MIN, slo: { kind: 'latency_p99', limit: 500, comparator: '>' }, beyondBound: false },
      },
    });
    const deltas = verdicts(['http_p99_ms', 'local', 6]);
    const events = [deployment('deploy-7', { version: 'v2', previousVersion: 'v1' })];
    const stackLatency = (latency: number): WorkflowInput['health'] =>
      new Map([
        ['us-east-1', health('us-east-1', { latency: 0.3, reliability: 0.1, business: 0.2, capacity: 0.5 })],
        ['us-west-2', health('us-west-2', { latency, reliability: 0.2, business: 0.3, capacity: 1 })],
      ]);
    // Latency back to normal on the stack (health 1.5 < warn 4): the echo is no SLO at risk.
    expect(runWorkflow(input({ incident: echo, deltas, events, health: stackLatency(1.5) }))).toMatchObject({
      action: 'observe',
      reason: 'deviation without SLO risk',
    });
    // Still deviating (health 7): the same forecast is the SLO at risk.
    const rising = runWorkflow(input({ incident: echo, deltas, events, health: stackLatency(7) }));
    expect(rising.reason).not.toBe('deviation without SLO risk');
    expect(rising.phases.find((p) => p.name === 'confidence_scoring')!.evidence).toContain('http_p99_ms breach predicted');
  });

  it('never shifts traffic for a global episode', () => {
    const d = runWorkflow(input({ delta: 'global' }));
    expect(d).toMatchObject({ action: 'none', cause: { kind: 'global' } });
    expect(d.phases.find((p) => p.name === 'delta_stack_identification')!.result).toBe('stop');
  });

  it('observes when the peer is itself degraded or would run out of headroom', () => {
    const sick = input();
    (sick.health as Map<string, StackHealthEvent>).set('us-east-1', health('us-east-1', { latency: 6, reliability: 0.2 }));
    expect(runWorkflow(sick)).toMatchObject({ action: 'observe', reason: 'nowhere safe to move traffic' });
    const full = input();
    (full.health as Map<string, StackHealthEvent>).set('us-east-1', health('us-east-1', { latency: 0.1 }, 0.88));
    const d = runWorkflow(full);
    expect(d.action).toBe('observe');
    // 0.88 x (50 + 20) / 50: a 20 % shift would saturate it, and 0.9 / 0.88 leaves room for 1 point, under the 5 % minimum.
    expect(d.phases.find((p) => p.name === 'dependency_checks')!.evidence).toContain('lacks headroom (saturation 0.88 → 1.23 after a 20 % shift)');
  });

  it('shifts what the target can take below saturation when the full step would overload it', () => {
    const busy = input();
    (busy.health as Map<string, StackHealthEvent>).set('us-east-1', health('us-east-1', { latency: 0.1 }, 0.8));
    const d = runWorkflow(busy);
    // Room: (0.9 / 0.8 - 1) x 50 % share = 6.25 points, so 6 % instead of 20 %.
    expect(d).toMatchObject({ action: 'shift_traffic', percent: 6, targets: ['us-east-1'] });
    expect(d.phases.find((p) => p.name === 'dependency_checks')!.evidence).toContain('shift reduced from 20 % to 6 %');
  });

  it('observes a warn-only episode and a deviation with no SLO at risk', () => {
    const warnOnly = incident();
    warnOnly.signals['http_error_ratio']!.stage = 'warn';
    expect(runWorkflow(input({ incident: warnOnly }))).toMatchObject({ action: 'observe', reason: 'anomaly not yet sustained' });
    const cpuOnly = incident({
      signals: {
        cpu_utilization: {
          metric: 'cpu_utilization',
          signal: 'capacity',
          stage: 'confirmed',
          firstTs: T - 10 * MIN,
          lastTs: T,
          score: 8,
          peakScore: 8,
          value: 0.45,
          expected: 0.3,
          persistence: { hits: 5, of: 5 },
          recovered: false,
          coldStart: false,
        },
      },
      predictions: {},
    });
    const deltas = new Map<string, IncidentDelta>([
      ['cpu_utilization', { metric: 'cpu_utilization', ts: T, scope: 'local', stack: 'us-west-2', reason: 'local', separation: 8 }],
    ]);
    expect(runWorkflow(input({ incident: cpuOnly, deltas }))).toMatchObject({ action: 'observe', reason: 'deviation without SLO risk' });
  });

  it('never shifts onto a stack under maintenance, and shifts again once the maintenance has ended', () => {
    const maint: ContextEvent = { ts: T - 30 * MIN, endTs: T + 60 * MIN, kind: 'maintenance', stack: 'us-east-1', id: 'maint-7', attributes: {} };
    const d = runWorkflow(input({ events: [maint] }));
    expect(d).toMatchObject({ action: 'observe', reason: 'nowhere safe to move traffic' });
    expect(d.phases.find((p) => p.name === 'dependency_checks')!.evidence).toContain('us-east-1 under maintenance maint-7 until');
    // Maintenance on another service of that stack does not take this one out.
    const other = runWorkflow(input({ events: [{ ...maint, service: 'search' }] }));
    expect(other).toMatchObject({ action: 'shift_traffic', targets: ['us-east-1'] });
    const over = runWorkflow(input({ events: [{ ...maint, ts: T - 120 * MIN, endTs: T - 5 * MIN }] }));
    expect(over).toMatchObject({ action: 'shift_traffic', targets: ['us-east-1'] });
  });

  it('a peer that sends no data is not a healthy target: it is unknown', () => {
    const silent = input();
    (silent.health as Map<string, StackHealthEvent>).set('us-east-1', { ...health('us-east-1', {}), reporting: 0, known: 6 });
    const d = runWorkflow(silent);
    expect(d.action).toBe('observe');
    expect(d.phases.find((p) => p.name === 'dependency_checks')!.evidence).toContain('us-east-1 not reporting (0 of 6 series this minute)');
  });

  it('missing data lowers confidence below the bar', () => {
    const gap = input();
    (gap.health as Map<string, StackHealthEvent>).set('us-west-2', { ...health('us-west-2', { reliability: 9 }), reporting: 1, known: 6 });
    const d = runWorkflow(gap);
    expect(d.evidence.dataCompleteness).toBeCloseTo(1 / 6, 5);
    expect(d.action).toBe('observe');
  });

  it('reports a proposal blocked by the freeze window and by one-change-at-a-time, with the rule', () => {
    const g = newGuardrailState();
    recordExecution(g, 'inc-0-r1', 'checkout/us-west-2', 'shift_traffic', 20, T - 5 * MIN, 10, config.guardrails);
    const frozen = runWorkflow(input({ guardrails: g }));
    expect(frozen).toMatchObject({ action: 'shift_traffic', blockedBy: 'freeze_window', executable: false });
    const other = newGuardrailState();
    recordExecution(other, 'inc-9-r1', 'checkout/eu-west-1', 'rollback', 0, T - 5 * MIN, 10, config.guardrails);
    expect(runWorkflow(input({ guardrails: other }))).toMatchObject({ blockedBy: 'one_change_at_a_time' });
  });

  it('caps shifts at 20 % per 15 minutes across scopes', () => {
    const g = newGuardrailState();
    recordExecution(g, 'x', 'other/stack', 'shift_traffic', 15, T - 20 * MIN, 1, { ...config.guardrails, freezeMinutes: 0 });
    recordExecution(g, 'y', 'other/stack', 'shift_traffic', 15, T - 10 * MIN, 1, { ...config.guardrails, freezeMinutes: 0 });
    g.inFlight = null;
    const d = runWorkflow(input({ guardrails: g }));
    expect(d.percent).toBe(5);
  });

  it('waits for a human under approval: human, applies the seed rule under guardrails, and approves all under auto', () => {
    const human = runWorkflow(input({ config: decisionConfigSchema.parse({ execution: { approval: 'human' } }) }));
    expect(human).toMatchObject({ action: 'shift_traffic', percent: 20, requiresApproval: true, awaitingApproval: true, executable: false });
    expect(human.phases.find((p) => p.name === 'human_approval')!.result).toBe('pending');
    // The older spelling: autoApprove false is approval: human, not the seed's rule.
    expect(runWorkflow(input({ config: decisionConfigSchema.parse({ execution: { autoApprove: false } }) }))).toMatchObject({
      awaitingApproval: true,
      executable: false,
    });
    // The seed's rule: 20 % between non-primary stacks runs; onto the primary us-east-1 it waits.
    const rule = decisionConfigSchema.parse({ execution: { approval: 'guardrails' } });
    expect(runWorkflow(input({ config: rule, isPrimary: () => false }))).toMatchObject({ requiresApproval: false, awaitingApproval: false, executable: true });
    expect(runWorkflow(input({ config: rule }))).toMatchObject({ requiresApproval: true, awaitingApproval: true, executable: false });
    const auto = decisionConfigSchema.parse({});
    expect(auto.execution.approval).toBe('auto');
    expect(runWorkflow(input({ config: auto }))).toMatchObject({ requiresApproval: true, awaitingApproval: false, executable: true });
  });
});

import { describe, expect, it } from 'vitest';
import { replayFile } from '../src/app/replay.js';
import { parseConfig } from '../src/config/load.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import type { DecisionEvent, Recommendation } from '../src/domain/decision.js';
import { parseLine } from '../src/ingest/record-parser.js';
import { readFileSync } from 'node:fs';
import { DecisionEngine } from '../src/core/decide/decision-engine.js';
import type { DetectionEvent, StackHealthEvent } from '../src/domain/types.js';

/** The detector's local verdict for stack a on the error ratio. */
function localDelta(ts: number, afterGlobal = false): Extract<DetectionEvent, { type: 'delta' }> {
  return {
    type: 'delta',
    ts,
    service: 'checkout',
    metric: 'err',
    signal: 'reliability',
    scope: 'local',
    stack: 'a',
    reason: 'a alone',
    separation: 8.5,
    stacks: [],
    ...(afterGlobal ? { afterGlobal: true } : {}),
  };
}

/** One minute's health of `stack` for checkout; the error ratio counts as in an episode above the warn score. */
function stackHealth(ts: number, stack: string, reliability: number, inEpisode: string[] = reliability > 4 ? ['err'] : []): StackHealthEvent {
  return { type: 'health', ts, service: 'checkout', stack, scores: { reliability, latency: 0 }, saturation: 0.3, inEpisode, reporting: 1, known: 1 };
}

/** An auto-approving decision engine (with `execution` on top) and what it emits; stacks a and b at 50 % each since `since`. */
function engineOnTwoStacks(since: number, execution: Record<string, unknown> = {}): { d: DecisionEngine; out: DecisionEvent[] } {
  const config = parseConfig({ decision: { execution: { autoApprove: true, ...execution } } });
  const out: DecisionEvent[] = [];
  const d = new DecisionEngine(config.decision, { warnScore: 4, horizonMinutes: 90 }, { decision: (e) => void out.push(e) });
  d.onContext({ ts: since, kind: 'traffic_shift', id: 'init', attributes: { weights: { a: 50, b: 50 } } });
  return { d, out };
}

/** A confirmed anomaly of the error ratio on stack a, as the detector emits it. */
function errAnomaly(ts: number, over: Partial<Extract<DetectionEvent, { type: 'anomaly' }>> = {}): DetectionEvent {
  return {
    type: 'anomaly',
    ts,
    stack: 'a',
    service: 'checkout',
    signal: 'reliability',
    metric: 'err',
    stage: 'confirmed',
    value: 0.02,
    expected: 0.0003,
    score: 9,
    persistence: { hits: 5, of: 5 },
    coldStart: false,
    ...over,
  };
}

function pipelineUntilWaiting(config: ReturnType<typeof parseConfig>) {
  const events: DecisionEvent[] = [];
  const p = new Pipeline(config, { output: (e) => (e.type === 'recommendation' || e.type === 'outcome') && events.push(e) });
  const lines = readFileSync('fixtures/scenarios/bad-deploy.jsonl', 'utf8').trim().split('\n');
  let i = 0;
  let waiting: Recommendation | undefined;
  for (; i < lines.length && waiting === undefined; i++) {
    const r = parseLine(lines[i]!);
    if (!r.ok) continue;
    if (r.kind === 'sample') p.offerSample(r.sample);
    else p.offerEvent(r.event);
    waiting = events.find((e): e is Recommendation => e.type === 'recommendation' && e.status === 'awaiting_approval' && e.action === 'rollback');
  }
  return { p, events, waiting: waiting! };
}

describe('decision engine over a replay', () => {
  const manual = parseConfig({ decision: { execution: { autoApprove: false }, stacks: { 'us-west-2': { primary: true } } } });

  it('refuses an approval that arrives after the approval window, as expired', () => {
    const { p, waiting, events } = pipelineUntilWaiting(manual);
    expect(p.decision.approve(waiting.id, 'late.larry', waiting.ts + 31 * 60_000)).toEqual({
      ok: false,
      code: 'expired',
      reason: `${waiting.id} expired before the decision`,
    });
    expect(events.find((e) => e.type === 'outcome' && e.outcome === 'expired')).toMatchObject({ by: 'late.larry' });
  });

  it('a controller failure leaves nothing in flight or frozen and says so', () => {
    const { p, waiting, events } = pipelineUntilWaiting(manual);
    expect(p.decision.approve(waiting.id, 'alice', waiting.ts + 60_000).ok).toBe(true);
    p.decision.onExecutionResult(waiting.id, false, 'haproxy: no such server', waiting.ts + 61_000);
    expect(p.decision.getRecommendation(waiting.id)).toMatchObject({ status: 'failed', approvedBy: 'alice' });
    expect(events.find((e) => e.type === 'outcome' && e.outcome === 'failed')).toMatchObject({ reason: 'routing controller failed: haproxy: no such server' });
    const snap = p.decision.snapshot();
    expect(snap.guardrails.inFlight).toBeNull();
    expect(snap.guardrails.frozenUntil['checkout/us-west-2']).toBeUndefined();
  });

  it('says how far past its stamp the input had gone when each recommendation came out: lateness + one step', async () => {
    // What a live feed adds to every lead: the minute closes only once the watermark (newest input
    // less the allowed lateness) has left it.
    const delay = async (allowedLatenessSeconds: number) =>
      (await replayFile('fixtures/scenarios/bad-deploy.jsonl', { config: parseConfig({ detection: { eventTime: { allowedLatenessSeconds } } }) }))
        .decisionDelay;
    expect(await delay(120)).toMatchObject({ medianMs: 180_000, maxMs: 180_000 });
    expect(await delay(30)).toMatchObject({ medianMs: 60_000, maxMs: 60_000 });
    expect((await delay(120))!.recommendations).toBeGreaterThan(10);
  });

  it('emits deterministic ids and identical decisions for two replays', async () => {
    const run = async (): Promise<string[]> => {
      const out: string[] = [];
      await replayFile('fixtures/scenarios/bad-deploy.jsonl', {
        config: parseConfig({}),
        onEvent: (e) => e.type === 'recommendation' && out.push(JSON.stringify(e)),
      });
      return out;
    };
    const [a, b] = [await run(), await run()];
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
    expect(JSON.parse(a.find((r) => r.includes('"action":"rollback"'))!).id).toMatch(/^inc-checkout-us-west-2-20260302T\d{4}-r\d+$/);
  });

  it('waits for a human when auto-approval is off; approval executes and records who; silence expires', () => {
    const config = parseConfig({ decision: { execution: { autoApprove: false }, stacks: { 'us-west-2': { primary: true } } } });
    const events: DecisionEvent[] = [];
    const p = new Pipeline(config, { output: (e) => (e.type === 'recommendation' || e.type === 'outcome' || e.type === 'incident') && events.push(e) });
    const lines = readFileSync('fixtures/scenarios/bad-deploy.jsonl', 'utf8').split('\n');
    let approved = false;
    for (const line of lines) {
      if (line === '') continue;
      const r = parseLine(line);
      if (!r.ok) continue;
      if (r.kind === 'sample') p.offerSample(r.sample);
      else p.offerEvent(r.event);
      const waiting = events.find((e): e is Recommendation => e.type === 'recommendation' && e.status === 'awaiting_approval' && e.action === 'rollback');
      if (waiting !== undefined && !approved) {
        approved = true;
        const res = p.decision.approve(waiting.id, 'alice@example.com', waiting.ts + 60_000);
        expect(res).toEqual({ ok: true, code: 'approved', reason: 'approved and executed' });
        expect(p.decision.approve(waiting.id, 'bob', waiting.ts + 120_000)).toMatchObject({ ok: false });
      }
    }
    p.flush();
    expect(approved).toBe(true);
    const outcome = events.find((e) => e.type === 'outcome' && e.outcome === 'approved');
    expect(outcome).toMatchObject({ by: 'alice@example.com', reason: 'approved by alice@example.com' });
    expect(events.some((e) => e.type === 'recommendation' && e.status === 'executed' && e.action === 'rollback')).toBe(true);
    // Every recommendation that waited and was never answered expired after the approval timeout.
    const waited = events.filter((e): e is Recommendation => e.type === 'recommendation' && e.status === 'awaiting_approval');
    const answered = new Set(events.filter((e) => e.type === 'outcome').map((e) => (e as { recommendationId: string }).recommendationId));
    for (const w of waited) expect(answered.has(w.id)).toBe(true);
  });
});

describe('a shift to several stacks that does not help', () => {
  it('is reverted target by target: one proposal per stack that received traffic, each giving back its part', () => {
    const config = parseConfig({ decision: { execution: { autoApprove: true } } });
    const out: DecisionEvent[] = [];
    const d = new DecisionEngine(config.decision, { warnScore: 4, horizonMinutes: 90 }, { decision: (e) => void out.push(e) });
    const T = Date.UTC(2026, 2, 2, 10);
    const MIN = 60_000;
    for (let m = 0; m < 30; m++) {
      const ts = T + m * MIN;
      if (m === 2) d.onDetection(errAnomaly(ts));
      if (m === 2)
        d.onDetection({
          type: 'breach',
          ts,
          stack: 'a',
          service: 'checkout',
          signal: 'reliability',
          metric: 'err',
          value: 0.02,
          slo: { kind: 'error_rate', limit: 0.001, comparator: '>' },
        });
      if (m === 2) d.onDetection(localDelta(ts + MIN - 1));
      // Stack a stays sick whatever is done: the shift will not help.
      for (const [stack, score] of [
        ['a', 9],
        ['b', 0.2],
        ['c', 0.1],
      ] as const)
        d.onDetection(stackHealth(ts + MIN - 1, stack, score));
    }
    const recs = out.filter((e): e is Recommendation => e.type === 'recommendation');
    const shift = recs.find((r) => r.action === 'shift_traffic' && r.status === 'executed' && r.reverts === undefined)!;
    expect(shift).toMatchObject({ stack: 'a', targets: ['b', 'c'], percent: 20 });
    expect(out.some((e) => e.type === 'outcome' && e.recommendationId === shift.id && e.outcome === 'ineffective')).toBe(true);
    const reverts = recs.filter((r) => r.reverts === shift.id);
    expect(reverts.map((r) => [r.stack, r.targets, r.percent, r.status])).toEqual([
      ['b', ['a'], 10, 'awaiting_approval'],
      ['c', ['a'], 10, 'awaiting_approval'],
    ]);
    expect(reverts[0]!.reason).toBe(`revert ${shift.id} (1 of 2): shift 10 % back from b to a (the shift did not help)`);
    // Both can be approved at once: a revert waits for nothing in flight, not even its sibling.
    expect(d.approve(reverts[0]!.id, 'alice', T + 31 * MIN).ok).toBe(true);
    expect(d.approve(reverts[1]!.id, 'alice', T + 31 * MIN).ok).toBe(true);
    const executed = out.filter((e): e is Recommendation => e.type === 'recommendation' && e.reverts === shift.id && e.status === 'executed');
    expect(executed.map((r) => r.stack)).toEqual(['b', 'c']);
  });
});

describe('a stack singled out after the metric moved everywhere', () => {
  const MIN = 60_000;
  const T = Date.UTC(2026, 2, 5, 10);
  function run(afterGlobal: boolean): { recs: Recommendation[]; engine: DecisionEngine } {
    const config = parseConfig({});
    const out: DecisionEvent[] = [];
    const d = new DecisionEngine(config.decision, { warnScore: 4, horizonMinutes: 90 }, { decision: (e) => void out.push(e) });
    // Three days earlier the error ratio moved on every stack; that verdict was never replaced.
    d.onDetection({
      type: 'delta',
      ts: T - 3 * 1440 * MIN,
      service: 'checkout',
      metric: 'err',
      signal: 'reliability',
      scope: 'global',
      stack: null,
      reason: 'both',
      separation: 0,
      stacks: [],
    });
    for (let m = 0; m < 6; m++) {
      const ts = T + m * MIN;
      if (m === 1) d.onDetection(errAnomaly(ts, { gate: 'error_rate' }));
      if (m === 1) d.onDetection(localDelta(ts + MIN - 1, afterGlobal));
      for (const [stack, score] of [
        ['a', 9],
        ['b', 0.2],
      ] as const)
        d.onDetection(stackHealth(ts + MIN - 1, stack, score, []));
    }
    return { recs: out.filter((e): e is Recommendation => e.type === 'recommendation'), engine: d };
  }

  it('is the tail of a global episode only when the detector says that episode is still the same run', () => {
    // A global verdict days old, never replaced, does not make today's local one a tail.
    expect(run(false).recs.some((r) => r.action === 'shift_traffic' && r.stack === 'a')).toBe(true);
    const tail = run(true);
    expect(tail.recs.some((r) => r.action === 'shift_traffic')).toBe(false);
    expect(tail.engine.incidents()[0]!.deltas['err']).toMatchObject({ scope: 'local', afterGlobalAt: T + 2 * MIN - 1 });
  });
});

describe('a change that lands amid a platform-wide episode', () => {
  const MIN = 60_000;
  const T = Date.UTC(2026, 2, 19, 21, 30);
  /** Both stacks' errors up with an upstream fault from T; a release on a at T+32; the detector's verdict at T+46. */
  function decide(sinceChange: number | undefined): Recommendation[] {
    const { d, out } = engineOnTwoStacks(T - 1440 * MIN);
    for (let m = 0; m < 60; m++) {
      const ts = T + m * MIN;
      if (m === 32)
        d.onContext({
          ts,
          kind: 'deployment',
          id: 'deploy-233',
          stack: 'a',
          service: 'checkout',
          attributes: { version: 'v2.5.2', previousVersion: 'v2.5.1' },
        });
      if (m === 2) d.onDetection(errAnomaly(ts, { gate: 'error_rate' }));
      if (m === 3) d.onDetection({ ...localDelta(ts), scope: 'global', stack: null, reason: '2 of 2 stacks deviate together', separation: 0 });
      if (m === 46) d.onDetection({ ...localDelta(ts), reason: 'a stands apart since its change', ...(sinceChange !== undefined ? { sinceChange } : {}) });
      d.onDetection(stackHealth(ts + MIN - 1, 'a', 12));
      d.onDetection(stackHealth(ts + MIN - 1, 'b', 9));
    }
    return out.filter((e): e is Recommendation => e.type === 'recommendation');
  }

  it('blames the change a local verdict says the stack stands apart since (imitation seed 62)', () => {
    // The errors began with the platform's fault 30 minutes before the release: no onset follows
    // the change, so only the verdict's own date ties it to the change.
    const blamed = decide(T + 32 * MIN);
    expect(blamed.find((r) => r.action === 'rollback')).toMatchObject({ stack: 'a', ts: T + 46 * MIN, reason: 'roll back deploy-233 on a (v2.5.2 → v2.5.1)' });
    // The same verdict without the change it dates from: a stack apart, its peer as sick, nowhere to move traffic.
    const unblamed = decide(undefined);
    expect(unblamed.some((r) => r.action === 'rollback')).toBe(false);
    expect(unblamed.at(-1)).toMatchObject({ action: 'observe', reason: 'nowhere safe to move traffic' });
  });
});

describe('after an executed action', () => {
  const MIN = 60_000;
  const T = Date.UTC(2026, 2, 6, 10);
  /** A new development on stack a: its p99 confirmed and singled out, past its 500 ms gate or (`pastGate` false) at 260 ms. */
  function newP99(d: DecisionEngine, ts: number, pastGate: boolean): void {
    d.onDetection(errAnomaly(ts, { signal: 'latency', metric: 'p99', gate: 'latency_p99', value: pastGate ? 900 : 260, expected: 200 }));
    if (pastGate)
      d.onDetection({
        type: 'breach',
        ts,
        stack: 'a',
        service: 'checkout',
        signal: 'latency',
        metric: 'p99',
        value: 900,
        slo: { kind: 'latency_p99', limit: 500, comparator: '>' },
      });
    d.onDetection({ ...localDelta(ts + MIN - 1), metric: 'p99', signal: 'latency' });
  }

  interface StepsOptions {
    /** Minute someone reverts a config on stack a. */
    fixAt?: number;
    /** Whether an action's effect reaches the data (live) or not (a replay, a dry run). */
    actionsReachData?: boolean;
    /** Minute a new development (stack a's p99) begins, and whether its p99 is past its gate. */
    newAt?: number;
    newPastGate?: boolean;
  }

  /** Stack a sick for 80 minutes, half as sick after the first step; optionally someone changes a config on it. */
  function steps({ fixAt, actionsReachData = true, newAt, newPastGate = true }: StepsOptions = {}): Recommendation[] {
    // Live: the first step halves the deviation (effective, not yet recovered), so a further step may follow.
    const { d, out } = engineOnTwoStacks(T - 1440 * MIN, { actionsReachData });
    for (let m = 0; m < 80; m++) {
      const ts = T + m * MIN;
      if (m === fixAt) d.onContext({ ts, kind: 'config_change', id: 'cfg-revert', stack: 'a', service: 'checkout', attributes: { key: 'db.pool.max_size' } });
      if (m === 2) d.onDetection(errAnomaly(ts, { gate: 'error_rate' }));
      if (m === 2) d.onDetection(localDelta(ts + MIN - 1));
      // Optionally a new development on stack a: its p99, not what the first step was about.
      if (m === newAt) newP99(d, ts, newPastGate);
      const h = stackHealth(ts + MIN - 1, 'a', m < 10 ? 9 : 4.5);
      d.onDetection(newAt !== undefined && m >= newAt ? { ...h, scores: { ...h.scores, latency: 9 } } : h);
      // The peer fills up after taking the first step: the next step is smaller (what it can still take).
      d.onDetection({ ...stackHealth(ts + MIN - 1, 'b', 0.2), saturation: m < 10 ? 0.3 : 0.8 });
    }
    return out.filter(
      (e): e is Recommendation => e.type === 'recommendation' && e.status === 'executed' && e.action === 'shift_traffic' && e.reverts === undefined,
    );
  }

  it('takes no further step while a change someone made on the stack since is within its freeze window', () => {
    const alone = steps().map((r) => Math.round((r.ts - T) / MIN));
    expect(alone.length).toBeGreaterThanOrEqual(2); // the freeze ends and the next step follows
    const second = alone[1]!;
    // Someone reverted a config on the stack before that second step: nothing more until 30 minutes after it.
    const fixAt = second - 5;
    const withFix = steps({ fixAt }).map((r) => Math.round((r.ts - T) / MIN));
    expect(withFix[0]).toBe(alone[0]);
    expect(withFix.slice(1).every((m) => m >= fixAt + 30)).toBe(true);
  });

  it('takes no further step after one whose effect could not be seen (a replay, a dry run)', () => {
    expect(steps({ actionsReachData: true }).length).toBeGreaterThanOrEqual(2);
    expect(steps({ actionsReachData: false })).toHaveLength(1);
  });

  it('after one whose effect could not be seen, steps again for a kind of signal confirmed since that it was not about', () => {
    // Held-out imitation seed 11111: a shift on orders at 23:13 stood for the whole incident, which
    // a weekend's dip held open for eleven hours; a pool exhausting the next morning went unsaid.
    const later = steps({ actionsReachData: false, newAt: 50 });
    expect(later).toHaveLength(2);
    expect(Math.round((later[1]!.ts - T) / MIN)).toBeGreaterThanOrEqual(50);
    expect(later[1]!.evidence.signals).toContain('latency');
    // A p99 a few sigma up under its gate is no new harm: held-out imitation seed 71, the last
    // minutes of a dependency failure shifted from half an hour before took a second step.
    expect(steps({ actionsReachData: false, newAt: 50, newPastGate: false })).toHaveLength(1);
  });

  /** A release on stack a that names the version to roll back to. */
  function deploySeven(d: DecisionEngine, ts: number): void {
    d.onContext({ ts, kind: 'deployment', id: 'deploy-7', stack: 'a', service: 'checkout', attributes: { version: 'v8', previousVersion: 'v7' } });
  }

  it('does not roll back the change it already rolled back: new harm after it moves traffic instead', () => {
    // Imitation seed 83: a pool cut rolled back in replay (its effect unseen) was rolled back again
    // 75 minutes later, after a campaign had explained the episode for a while and its load took
    // p99 past its gate. Rolling back an undone change changes nothing; the next step is a shift.
    const { d, out } = engineOnTwoStacks(T - 1440 * MIN, { actionsReachData: false });
    for (let m = 0; m < 80; m++) {
      const ts = T + m * MIN;
      if (m === 1) deploySeven(d, ts);
      if (m === 2) d.onDetection(errAnomaly(ts, { gate: 'error_rate' }));
      if (m === 2) d.onDetection(localDelta(ts + MIN - 1));
      // The peer's errors follow for a while: all stacks move together, nothing to do.
      if (m === 20) d.onDetection({ ...localDelta(ts), scope: 'global', stack: null, reason: '2 of 2 stacks deviate together', separation: 0 });
      if (m === 40) d.onDetection(localDelta(ts));
      // Then p99 past its gate on a alone: harm of a new kind.
      if (m === 50) newP99(d, ts, true);
      const h = stackHealth(ts + MIN - 1, 'a', 9);
      d.onDetection(m >= 50 ? { ...h, scores: { ...h.scores, latency: 9 } } : h);
      d.onDetection(stackHealth(ts + MIN - 1, 'b', m >= 20 && m < 40 ? 9 : 0.2));
    }
    const recs = out.filter((e): e is Recommendation => e.type === 'recommendation');
    const executed = recs.filter((r) => r.status === 'executed' && r.reverts === undefined);
    expect(executed.map((r) => [r.action, r.cause.event?.id, Math.round((r.ts - T) / MIN)])).toEqual([
      ['rollback', 'deploy-7', 3],
      ['shift_traffic', 'deploy-7', 50],
    ]);
    expect(executed[1]!.phases.find((p) => p.name === 'dependency_checks')?.evidence).toMatch(
      /^deploy-7 was rolled back at \d\d:\d\d and the fault is still here; targets b/,
    );
    // In between, the decision did change (the global stretch), so the repeat was not just the same proposal held back.
    expect(recs.some((r) => r.ts > executed[0]!.ts && r.action === 'none')).toBe(true);
  });

  /**
   * deploy-7 at minute 1 and its errors on a (live: the actions reach the data) from each of
   * `errorsAt`; the detector closes the first episode at `recoveryAt`; a's health is bad while
   * `bad(m)`. The executed actions, reverts aside.
   */
  function liveRollback(minutes: number, errorsAt: number[], recoveryAt: number, bad: (m: number) => boolean): Recommendation[] {
    const { d, out } = engineOnTwoStacks(T - 1440 * MIN, { actionsReachData: true });
    for (let m = 0; m < minutes; m++) {
      const ts = T + m * MIN;
      if (m === 1) deploySeven(d, ts);
      if (errorsAt.includes(m)) {
        d.onDetection(errAnomaly(ts, { gate: 'error_rate' }));
        d.onDetection(localDelta(ts + MIN - 1));
      }
      if (m === recoveryAt)
        d.onDetection({
          type: 'recovery',
          ts,
          stack: 'a',
          service: 'checkout',
          signal: 'reliability',
          metric: 'err',
          episodeStartTs: T + 2 * MIN,
          peakScore: 9,
        });
      d.onDetection(stackHealth(ts + MIN - 1, 'a', bad(m) ? 9 : 0.5));
      d.onDetection(stackHealth(ts + MIN - 1, 'b', 0.2));
    }
    return out.filter((e): e is Recommendation => e.type === 'recommendation' && e.status === 'executed' && e.reverts === undefined);
  }

  it('moves traffic when the errors a rollback cleared come back (live: the action reached the data)', () => {
    // A release's errors rolled back at minute 2, gone by minute 12 (validated effective), back at
    // minute 40 on the same stack: the rollback is done, and rolling it back again would change
    // nothing. Held as "the same rollback again", such errors went unmitigated for hours. The
    // detector clears the first episode ten minutes after its last point beyond the bound.
    const executed = liveRollback(80, [2, 40], 17, (m) => (m >= 2 && m < 8) || m >= 40);
    expect(executed.map((r) => r.action)).toEqual(['rollback', 'shift_traffic']);
    expect(Math.round((executed[1]!.ts - T) / MIN)).toBeGreaterThanOrEqual(40);
    expect(Math.round((executed[1]!.ts - T) / MIN)).toBeLessThan(45);
  });

  it('moves no traffic after a rollback that worked, however late its episode closes', () => {
    // The rollback at minute 2 cleared the errors by minute 8; the detector closes the episode only
    // at minute 35 (a slow recovery rule). The freeze ends at minute 33 with the incident still open:
    // the stack is back inside its bounds, so the rollback is not undone and nothing moves.
    const executed = liveRollback(60, [2], 35, (m) => m >= 2 && m < 8);
    expect(executed.map((r) => [r.action, Math.round((r.ts - T) / MIN)])).toEqual([['rollback', 3]]);
  });
});

import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { ActionLedger } from '../src/core/decide/action-ledger.js';
import { IncidentBoard } from '../src/core/incident/incident-board.js';
import type { AlertTrigger, DecisionEvent, Recommendation } from '../src/domain/decision.js';
import type { AnomalyEvent } from '../src/domain/types.js';

const MIN = 60_000;
const anomaly = (ts: number, stage: 'warn' | 'confirmed', metric = 'err'): AnomalyEvent => ({
  type: 'anomaly',
  ts,
  stack: 'a',
  service: 'checkout',
  signal: 'reliability',
  metric,
  stage,
  value: 0.02,
  expected: 0.001,
  score: 9,
  persistence: { hits: 3, of: 5 },
  coldStart: false,
});

describe('IncidentBoard: incident assembly on its own', () => {
  it('holds a warning until an incident opens on its stack, then joins it; refuses past the open limit, counted', () => {
    const out: DecisionEvent[] = [];
    const board = new IncidentBoard(1, (e) => void out.push(e));
    expect(board.recordAnomaly(anomaly(0, 'warn'))).toBeUndefined();
    expect(out).toHaveLength(0);
    const rt = board.recordAnomaly(anomaly(2 * MIN, 'confirmed', 'p99'))!;
    expect(Object.keys(rt.incident.signals).sort()).toEqual(['err', 'p99']);
    expect(out.map((e) => e.type === 'incident' && e.transition)).toEqual(['opened']);
    expect(board.recordAnomaly({ ...anomaly(3 * MIN, 'confirmed'), stack: 'b' })).toBeUndefined();
    expect(board.refused).toBe(1);
  });

  it('recognises a duplicate alert delivery, and resolves an incident only once all is recovered and quiet', () => {
    const out: DecisionEvent[] = [];
    const board = new IncidentBoard(10, (e) => void out.push(e));
    const alert: AlertTrigger = {
      groupKey: 'g',
      fingerprint: 'f1',
      status: 'firing',
      name: 'HighErrors',
      startsAt: 0,
      endsAt: null,
      service: 'checkout',
      stack: 'a',
      labels: {},
    };
    const first = board.recordAlert(alert, 0);
    expect(typeof first).toBe('object');
    expect(board.recordAlert(alert, MIN)).toBe('duplicate');
    const rt = (first as { rt: NonNullable<ReturnType<IncidentBoard['byId']>> }).rt;
    board.touch(rt, 0);
    expect(board.resolveIfQuiet(rt, 30 * MIN, 10 * MIN)).toBe(false);
    board.recordAlert({ ...alert, status: 'resolved' }, 31 * MIN);
    expect(board.resolveIfQuiet(rt, 35 * MIN, 10 * MIN)).toBe(true);
    expect(board.incidents()[0]!.status).toBe('resolved');
    expect([...board.openRuntimes()]).toHaveLength(0);
  });
});

describe('ActionLedger: approval and execution on its own', () => {
  const config = parseConfig({ decision: { guardrails: { approvalTimeoutMinutes: 15 } } }).decision;
  const proposal = (id: string, ts: number): Recommendation =>
    ({
      type: 'recommendation',
      id,
      ts,
      incidentId: 'checkout/a#1',
      stack: 'a',
      service: 'checkout',
      action: 'shift_traffic',
      percent: 10,
      targets: ['b'],
      requiresApproval: true,
      blockedBy: null,
      status: 'awaiting_approval',
      reason: 'shift 10 %',
      phases: [],
    }) as unknown as Recommendation;

  it('refuses a late click and an unknown id, expires an unanswered proposal, and records a rejection with its author', () => {
    const out: DecisionEvent[] = [];
    const ledger = new ActionLedger(config, new IncidentBoard(10, () => {}), 4, (e) => void out.push(e));
    ledger.propose(undefined, proposal('r1', 0), 0);
    ledger.propose(undefined, proposal('r2', 0), 0);
    ledger.propose(undefined, proposal('r3', 10 * MIN), 10 * MIN);
    expect(ledger.decide('nope', 'ana', MIN, 'approved')).toMatchObject({ ok: false, code: 'unknown_recommendation' });
    expect(ledger.decide('r1', 'ana', 16 * MIN, 'approved')).toMatchObject({ ok: false, code: 'expired' });
    ledger.expire(16 * MIN);
    expect(ledger.get('r2')!.status).toBe('expired');
    expect(ledger.decide('r3', 'bo', 12 * MIN, 'rejected')).toMatchObject({ ok: true, code: 'rejected' });
    expect(ledger.decide('r3', 'bo', 13 * MIN, 'approved')).toMatchObject({ ok: false, code: 'not_awaiting_approval' });
    const outcomes = out.filter((e) => e.type === 'outcome').map((e) => e.type === 'outcome' && `${e.recommendationId}:${e.outcome}:${e.by ?? ''}`);
    expect(outcomes).toEqual(['r1:expired:ana', 'r2:expired:', 'r3:rejected:bo']);
    expect(ledger.countFor('checkout/a#1')).toBe(3);
  });

  it("forgets an incident's informational recommendations a day after, once it is no longer open; what acted, and a look-ahead's, stay the week", () => {
    const HOUR = 60 * MIN;
    const board = new IncidentBoard(10, () => {});
    const ledger = new ActionLedger(config, board, 4, () => {});
    const live = board.recordAnomaly(anomaly(0, 'confirmed'))!.incident.id;
    const settled = (id: string, status: Recommendation['status'], extra: Partial<Recommendation> = {}): Recommendation => ({
      ...proposal(id, 0),
      action: status === 'informational' ? 'observe' : 'shift_traffic',
      requiresApproval: false,
      status,
      ...extra,
    });
    ledger.propose(undefined, settled('seen', 'informational'), 0);
    ledger.propose(undefined, settled('rejected', 'rejected'), 0);
    ledger.propose(undefined, settled('ahead', 'informational', { incidentId: 'pre-sale-checkout-a', forecast: {} as Recommendation['forecast'] }), 0);
    ledger.propose(undefined, settled('still-open', 'informational', { incidentId: live }), 0);
    const kept = () => ['seen', 'rejected', 'ahead', 'still-open'].filter((id) => ledger.get(id) !== undefined);
    ledger.expire(24 * HOUR);
    expect(kept()).toEqual(['seen', 'rejected', 'ahead', 'still-open']);
    ledger.expire(24 * HOUR + MIN);
    expect(kept()).toEqual(['rejected', 'ahead', 'still-open']);
    // The incident, open two days, resolves: its recommendation from its first minute stays a day from then.
    const rt = board.byId(live)!;
    board.recordRecovery({
      type: 'recovery',
      ts: 48 * HOUR - 20 * MIN,
      stack: 'a',
      service: 'checkout',
      signal: 'reliability',
      metric: 'err',
      episodeStartTs: 0,
      peakScore: 9,
    });
    expect(board.resolveIfQuiet(rt, 48 * HOUR, 10 * MIN)).toBe(true);
    ledger.expire(48 * HOUR + MIN);
    expect(kept()).toEqual(['rejected', 'ahead', 'still-open']);
    ledger.expire(72 * HOUR + MIN);
    expect(kept()).toEqual(['rejected', 'ahead']);
    ledger.expire(7 * 24 * HOUR + MIN);
    expect(ledger.all()).toHaveLength(0);
  });
});

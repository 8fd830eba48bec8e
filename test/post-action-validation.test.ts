import { describe, expect, it } from 'vitest';
import { judgeExecution, revertsOf, type Execution } from '../src/core/decide/post-action-validation.js';
import { newIncident, recordAnomaly, recordRecovery } from '../src/core/incident/assembly.js';
import type { Recommendation } from '../src/domain/decision.js';

const T = Date.UTC(2026, 2, 1, 12);
const params = { validationMinutes: 10, actionsReachData: true, warnScore: 4 };

function incidentWithLatency() {
  const inc = newIncident('checkout', 'us-west-2', T, []);
  recordAnomaly(inc, {
    type: 'anomaly',
    ts: T,
    stack: 'us-west-2',
    service: 'checkout',
    signal: 'latency',
    metric: 'http_p99_ms',
    stage: 'confirmed',
    value: 900,
    expected: 200,
    score: 12,
    persistence: { hits: 5, of: 5 },
    coldStart: false,
    gate: 'latency_p99',
  });
  return inc;
}

const ex: Execution = { recommendationId: 'r1', ts: T, scoreAtExecution: 12, signals: ['latency'], validated: false };

describe('post-action validation', () => {
  it('calls an action effective when the score halves, ineffective when it does not, inconclusive on a gap or a replay', () => {
    const inc = incidentWithLatency();
    expect(judgeExecution(ex, inc, 6, params)).toMatchObject({ outcome: 'effective', code: 'effective', result: 'pass' });
    expect(judgeExecution(ex, inc, 9, params)).toMatchObject({ outcome: 'ineffective', code: 'ineffective', result: 'fail' });
    expect(judgeExecution(ex, inc, 9, params).reason).toBe('us-west-2 latency worst score 12.0σ at execution, 9.00σ 10 min later: no improvement');
    expect(judgeExecution(ex, inc, Number.NaN, params)).toMatchObject({ outcome: 'inconclusive', result: 'skip' });
    expect(judgeExecution(ex, inc, 9, { ...params, actionsReachData: false })).toMatchObject({ outcome: 'inconclusive' });
    // Below the warn bound, or every signal of those types recovered: effective whatever the ratio.
    expect(judgeExecution(ex, inc, 3.9, params).outcome).toBe('effective');
    expect(recordRecovery(inc, 'http_p99_ms', T + 5 * 60_000)).toBe(true);
    expect(judgeExecution(ex, inc, 9, params).outcome).toBe('effective');
    expect(recordRecovery(inc, 'never_seen', T)).toBe(false);
  });

  it('proposes one revert per target, each giving back its even part, always for a human', () => {
    const inc = incidentWithLatency();
    const shift = { id: 'inc-r1', action: 'shift_traffic', percent: 20, targets: ['us-east-1', 'eu-west-1'], stack: 'us-west-2' } as Recommendation;
    let n = 1;
    const reverts = revertsOf(shift, inc, T + 10 * 60_000, () => `inc-r${++n}`);
    expect(reverts.map((r) => [r.id, r.stack, r.targets, r.percent, r.status, r.requiresApproval, r.reverts])).toEqual([
      ['inc-r2', 'us-east-1', ['us-west-2'], 10, 'awaiting_approval', true, 'inc-r1'],
      ['inc-r3', 'eu-west-1', ['us-west-2'], 10, 'awaiting_approval', true, 'inc-r1'],
    ]);
    expect(revertsOf({ ...shift, action: 'rollback', targets: [] }, inc, T, () => 'x')).toEqual([]);
  });
});

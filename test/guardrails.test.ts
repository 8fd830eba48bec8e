import { describe, expect, it } from 'vitest';
import { checkGuardrails, forgetExecution, newGuardrailState, recordExecution } from '../src/core/decide/guardrails.js';
import { decisionConfigSchema } from '../src/config/decision.js';

const g = decisionConfigSchema.parse({}).guardrails;
const T = Date.UTC(2026, 2, 2, 10);
const MIN = 60_000;
const never = (): boolean => false;

describe('guardrails', () => {
  it('a revert is neither frozen nor counted against the shift cap, so it can undo at once', () => {
    const st = newGuardrailState();
    recordExecution(st, 'r1', 'checkout/us-west-2', 'shift_traffic', 20, T, 10, g);
    st.inFlight = null; // validated
    const shift = { action: 'shift_traffic' as const, scope: 'checkout/us-west-2', percent: 20, touches: ['us-west-2', 'us-east-1'] };
    expect(checkGuardrails(shift, st, T + 11 * MIN, g, never).blockedBy).toBe('freeze_window');
    expect(checkGuardrails({ ...shift, scope: 'checkout/other' }, st, T + 11 * MIN, g, never)).toMatchObject({ blockedBy: 'shift_rate_cap', percent: 0 });
    expect(checkGuardrails({ ...shift, revert: true }, st, T + 11 * MIN, g, never)).toMatchObject({ blockedBy: null, percent: 20 });
  });

  it('a revert waits for nothing in flight; any other change does', () => {
    const st = newGuardrailState();
    recordExecution(st, 'r2', 'checkout/us-east-1', 'shift_traffic', 10, T, 10, g, true);
    const back = { action: 'shift_traffic' as const, scope: 'checkout/eu-west-1', percent: 10, touches: ['eu-west-1', 'us-west-2'], revert: true };
    expect(checkGuardrails(back, st, T + MIN, g, never).blockedBy).toBeNull();
    expect(checkGuardrails({ ...back, revert: false }, st, T + MIN, g, never).blockedBy).toBe('one_change_at_a_time');
  });

  it('caps the percent by what the last 15 minutes used', () => {
    const st = newGuardrailState();
    recordExecution(st, 'a', 'x/1', 'shift_traffic', 15, T, 0, { ...g, freezeMinutes: 0 });
    st.inFlight = null;
    expect(checkGuardrails({ action: 'shift_traffic', scope: 'y/2', percent: 20, touches: [] }, st, T + 5 * MIN, g, never).percent).toBe(5);
    expect(checkGuardrails({ action: 'shift_traffic', scope: 'y/2', percent: 20, touches: [] }, st, T + 16 * MIN, g, never).percent).toBe(20);
  });

  it('forgets an execution whose controller failed: no lock, no freeze, no cap used', () => {
    const st = newGuardrailState();
    recordExecution(st, 'r9', 'checkout/us-west-2', 'shift_traffic', 20, T, 10, g);
    forgetExecution(st, 'r9', 'checkout/us-west-2', T);
    expect(checkGuardrails({ action: 'shift_traffic', scope: 'checkout/us-west-2', percent: 20, touches: [] }, st, T + MIN, g, never)).toMatchObject({
      blockedBy: null,
      percent: 20,
    });
  });

  it('requires approval for a primary stack and above 20 %', () => {
    const st = newGuardrailState();
    expect(checkGuardrails({ action: 'rollback', scope: 's/a', percent: 0, touches: ['a'] }, st, T, g, (s) => s === 'a').requiresApproval).toBe(true);
    expect(checkGuardrails({ action: 'shift_traffic', scope: 's/b', percent: 20, touches: ['b', 'c'] }, st, T, g, never).requiresApproval).toBe(false);
    expect(
      checkGuardrails({ action: 'shift_traffic', scope: 's/b', percent: 20, touches: ['b', 'c'] }, st, T, { ...g, maxShiftPercent: 50 }, never)
        .requiresApproval,
    ).toBe(false);
    expect(
      checkGuardrails({ action: 'shift_traffic', scope: 's/b', percent: 30, touches: ['b', 'c'] }, st, T, { ...g, maxShiftPercent: 50 }, never)
        .requiresApproval,
    ).toBe(true);
  });
});

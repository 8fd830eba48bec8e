import { describe, expect, it } from 'vitest';
import { moveTo } from '../src/core/decide/recommendation-lifecycle.js';
import { nextStatus } from '../src/core/incident/lifecycle.js';
import type { Recommendation } from '../src/domain/decision.js';

describe('lifecycles as transition tables', () => {
  it('a recommendation moves awaiting → approved → executed → failed, and nothing else', () => {
    const rec = { id: 'r1', status: 'awaiting_approval' } as Recommendation;
    moveTo(rec, 'approved');
    moveTo(rec, 'executed');
    expect(() => moveTo(rec, 'approved')).toThrow('illegal recommendation transition for r1: executed → approved');
    moveTo(rec, 'failed');
    expect(rec.status).toBe('failed');
    expect(() => moveTo({ id: 'r2', status: 'rejected' } as Recommendation, 'executed')).toThrow(/rejected → executed/);
  });

  it('an incident resolves from any live state, and a resolved one takes no input', () => {
    expect(nextStatus('open', 'evidence')).toBe('updated');
    expect(nextStatus('updated', 'executed')).toBe('mitigated');
    expect(nextStatus('mitigated', 'recovered')).toBe('resolved');
    expect(() => nextStatus('resolved', 'evidence')).toThrow('illegal incident transition: resolved --evidence-->');
  });
});

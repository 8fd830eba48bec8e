import type { Phase } from './context.js';
import { fmt } from './evidence-text.js';

/** 2. Persistence validation: a confirmed (re-checked) deviation, a breach or a firing alert. */
export const persistenceValidation: Phase<'persistence_validation'> = ({ active, confirmed, breached, firing }) => {
  if (confirmed.length === 0 && breached.length === 0 && firing.length === 0) {
    const cold = active.filter((s) => s.coldStart).map((s) => s.metric);
    return {
      result: 'fail',
      code: 'warn_only',
      evidence: `warn only: ${active.map((s) => `${s.metric} ${s.persistence.hits}/${s.persistence.of} points`).join(', ')} beyond the bound, re-check not yet satisfied${cold.length > 0 ? `; ${cold.join(', ')} judged on a cold baseline (no season seen yet)` : ''}`,
      end: { action: 'observe', reason: 'anomaly not yet sustained', cause: { kind: 'unknown', reason: 'not yet sustained' } },
    };
  }
  return {
    result: 'pass',
    code: 'sustained',
    evidence: [
      ...confirmed.map(
        (s) =>
          `${s.metric} sustained ${s.persistence.hits}/${s.persistence.of} points${s.persistence.seen !== undefined ? ` (${s.persistence.seen} since it began)` : ''}, ${fmt(s.score)}σ (peak ${fmt(s.peakScore)}σ)`,
      ),
      ...breached.map((m) => `${m} breached`),
      ...firing.map((a) => `alert ${a.name} firing`),
    ].join('; '),
  };
};

import { hhmm } from '../../clock-text.js';
import type { Phase } from './context.js';
import { fmt } from './evidence-text.js';
import { livePredictions } from './situation.js';

/** 1. Trigger ingestion: anomalies, predictions, breaches and alerts that are live now. */
export const trigger: Phase<'trigger'> = (ctx) => {
  const triggers = [
    ...ctx.active.map((s) => `${s.metric} ${s.stage} at ${fmt(s.score)}σ`),
    ...livePredictions(ctx.inc, ctx.w.now).map((p) => `${p.metric} predicted to cross ${p.slo.comparator} ${p.slo.limit} at ${hhmm(p.breachAt)}`),
    ...ctx.breached.map((m) => `${m} past its SLO gate`),
    ...ctx.firing.map((a) => `alert ${a.name} firing`),
  ];
  if (triggers.length === 0) {
    return {
      result: 'fail',
      code: 'recovered',
      evidence: 'no active trigger: every signal has recovered',
      end: { action: 'none', reason: 'recovered', cause: { kind: 'unknown', reason: 'all signals recovered' } },
    };
  }
  return { result: 'pass', code: 'triggered', evidence: triggers.slice(0, 6).join('; ') + (triggers.length > 6 ? `; +${triggers.length - 6} more` : '') };
};

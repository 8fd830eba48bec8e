import { hhmm } from '../../clock-text.js';
import type { Phase } from './context.js';
import { fmt } from './evidence-text.js';
import { threatensSlo } from './situation.js';

/**
 * 6. Confidence scoring, gated on something worth acting for: an SLO at risk. A deviation far
 * from every gate, with errors and business fine, is watched, not mitigated.
 */
export const confidenceScoring: Phase<'confidence_scoring'> = (ctx) => {
  const { w, breached, firm, confirmed, firing, evidence, confidence, causeRecord } = ctx;
  ctx.sloRisk = [
    ...breached.map((m) => `${m} breached`),
    ...firm.map((p) => `${p.metric} breach predicted at ${hhmm(p.breachAt)}`),
    ...confirmed.filter(threatensSlo).map((s) => `${s.signal} ${s.metric} degraded`),
    ...firing.map((a) => `alert ${a.name}`),
  ];
  const bundle = `persistence ${fmt(evidence.persistence)}, magnitude ${fmt(evidence.magnitude)}σ${evidence.gateReach ? ` (${Math.round(evidence.gateReach * 100)} % of the way to its gate)` : ''}, separation ${fmt(evidence.separation)}σ, business ${evidence.businessImpact}, correlation ${evidence.correlation}, completeness ${fmt(evidence.dataCompleteness)}, breach ${evidence.minutesToBreach === null ? 'not predicted' : `in ${Math.round(evidence.minutesToBreach)} min`}`;
  if (ctx.sloRisk.length === 0) {
    return {
      result: 'fail',
      code: 'no_slo_risk',
      evidence: `no SLO at risk (no breach predicted, errors and business normal): watching; confidence ${confidence.toFixed(2)} (${bundle})`,
      end: { action: 'observe', reason: 'deviation without SLO risk', cause: causeRecord },
    };
  }
  const minimum = w.config.confidence.minimum;
  if (confidence < minimum) {
    return {
      result: 'fail',
      code: 'low_confidence',
      evidence: `confidence ${confidence.toFixed(2)} < ${minimum} (${bundle})`,
      end: { action: 'observe', reason: `confidence ${confidence.toFixed(2)} below ${minimum}`, cause: causeRecord },
    };
  }
  return { result: 'pass', code: 'confident', evidence: `confidence ${confidence.toFixed(2)} (${bundle}); at risk: ${ctx.sloRisk.join(', ')}` };
};

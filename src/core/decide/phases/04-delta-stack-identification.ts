import type { Phase } from './context.js';

/**
 * 4. Delta stack identification: this stack singled out against its peers on a metric at risk.
 * A metric at risk moving on every stack is global, even when a side metric singles this one out.
 */
export const deltaStackIdentification: Phase<'delta_stack_identification'> = ({
  w,
  inc,
  verdicts,
  local,
  riskMetrics,
  causeRecord,
  cause,
  breached,
  saturatedAlone,
}) => {
  const global = verdicts.filter((d) => d.scope === 'global');
  const globalRisk = global.filter((d) => riskMetrics.has(d.metric));
  if (globalRisk.length > 0 && !local.some((d) => riskMetrics.has(d.metric)) && saturatedAlone === null) {
    return {
      result: 'stop',
      code: 'global_at_risk',
      evidence: `global: ${globalRisk[0]!.reason}`,
      end: {
        action: 'none',
        reason: 'the metric at risk moves on all stacks: not a routing problem',
        cause: { kind: 'global', reason: globalRisk[0]!.reason },
      },
    };
  }
  if (local.length === 0 && global.length === 0 && cause !== undefined) {
    // The only stack serving a metric (a single-region service, the live colour of a blue/green
    // pair) has no peer to be singled out against; past its SLO after a change on it, the change
    // is the suspect, and the usual guardrails and approval decide the rest.
    const peers = [...w.health.values()].filter((h) => h.stack !== inc.stack);
    const alone = breached.filter((m) => {
      const signal = inc.signals[m]?.signal;
      return signal !== undefined && signal !== 'business' && peers.every((h) => h.scores[signal] === undefined);
    });
    if (alone.length > 0)
      return {
        result: 'pass',
        code: 'sole_stack_changed',
        evidence: `${alone.join(', ')} past the SLO on ${inc.stack}, the only stack reporting ${alone.length > 1 ? 'them' : 'it'} (no peer to compare with), after ${cause.kind} ${cause.id} on it`,
      };
  }
  if (local.length === 0 && saturatedAlone !== null) {
    // Out of capacity beside peers with room: singled out by the gate, not by a fraction.
    return {
      result: 'pass',
      code: 'saturated_alone',
      evidence: `${saturatedAlone.metrics.join(', ')} past the saturation gate on ${inc.stack} while its peers have room (${saturatedAlone.peers
        .map((h) => `${h.stack} at ${Math.round(h.saturation! * 100)} %`)
        .join(', ')})`,
    };
  }
  if (local.length === 0) {
    if (global.length > 0) {
      return {
        result: 'stop',
        code: 'global',
        evidence: `global: ${global[0]!.reason}`,
        end: { action: 'none', reason: 'all stacks move together: not a routing problem', cause: { kind: 'global', reason: global[0]!.reason } },
      };
    }
    const other = verdicts.find((d) => d.scope !== 'local') ?? verdicts.find((d) => d.scope === 'local');
    const insufficient = other?.scope === 'insufficient' && other.lapsed !== true;
    return {
      result: 'fail',
      code: insufficient ? 'insufficient_volume' : 'no_verdict',
      evidence: other !== undefined ? `${other.scope}: ${other.reason}` : 'no cross-stack verdict yet for these metrics',
      end: {
        action: 'observe',
        reason: insufficient ? 'too little data behind the deviating stack or its peers to single it out' : 'no stack singled out yet',
        cause: causeRecord,
      },
    };
  }
  return { result: 'pass', code: 'singled_out', evidence: local.map((d) => `${d.metric}: ${d.reason}`).join('; ') };
};

import { MITIGATIONS, type DecisionEvent, type PhaseResult } from '../domain/decision.js';
import { formatTime } from './timeline.js';

const MARK: Record<PhaseResult, string> = { pass: '✓', fail: '✗', stop: '■', skip: '·', pending: '…' };
const INDENT = ' '.repeat(18);

/** Readable lines for decision events: a recommendation shows its ten phases with evidence. */
export function formatDecision(e: DecisionEvent): string {
  const at = formatTime(e.ts);
  switch (e.type) {
    case 'incident':
      return `${at}  INCIDENT   ${e.incident.stack}/${e.incident.service}  ${e.transition} (${e.incident.id})`;
    case 'outcome':
      return `${at}  OUTCOME    ${e.recommendationId}: ${e.outcome}${e.by !== undefined ? ` by ${e.by}` : ''}: ${e.reason}`;
    case 'recommendation': {
      const mitigation = MITIGATIONS.has(e.action);
      const head = `${at}  RECOMMEND  ${e.stack}/${e.service}  ${e.action.toUpperCase()}${mitigation ? `: ${e.reason}` : ''}  [${e.status}${e.blockedBy !== null ? `: ${e.blockedBy}` : ''}]  confidence ${e.confidence.toFixed(2)}${e.predictedBreachAt !== null ? `  breach predicted ${formatTime(e.predictedBreachAt).slice(11)}` : ''}`;
      if (!mitigation) return `${head}\n${INDENT}${e.reason}`;
      const lines = [head, `${INDENT}cause: ${e.cause.reason}`];
      for (const p of e.phases) lines.push(`${INDENT}${MARK[p.result]} ${p.name.padEnd(27)} ${p.evidence}`);
      return lines.join('\n');
    }
  }
}

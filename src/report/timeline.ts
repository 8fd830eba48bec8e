import type { DetectionEvent } from '../domain/types.js';

/** One readable line per output event, for the console timeline an on-call engineer reads. */
export function formatTime(ts: number): string {
  return new Date(ts).toISOString().slice(0, 16).replace('T', ' ');
}

function num(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && a < 0.01) return x.toPrecision(2);
  if (a < 10) return x.toFixed(3).replace(/\.?0+$/, '');
  if (a < 1000) return x.toFixed(1).replace(/\.0$/, '');
  return Math.round(x).toString();
}

/** Undefined for events too chatty for the timeline (per-minute health). */
export function formatDetection(e: DetectionEvent): string | undefined {
  const at = formatTime(e.ts);
  switch (e.type) {
    case 'anomaly':
      return `${at}  ${e.stage === 'warn' ? 'WARN     ' : 'CONFIRMED'}  ${e.stack}/${e.service}  ${e.metric} ${num(e.value)} (expected ${num(e.expected)}, ${e.score >= 0 ? '+' : ''}${e.score.toFixed(1)}σ, ${e.persistence.hits}/${e.persistence.of} points${e.coldStart ? ', cold baseline' : ''})`;
    case 'prediction': {
      const mins = Math.round((e.breachAt - e.ts) / 60_000);
      return `${at}  PREDICT    ${e.stack}/${e.service}  ${e.metric} heading for its ${e.slo.kind} gate ${e.slo.comparator} ${num(e.slo.limit)}: breach at ${formatTime(e.breachAt).slice(11)} (in ${mins} min)`;
    }
    case 'breach':
      return `${at}  BREACH     ${e.stack}/${e.service}  ${e.metric} ${num(e.value)} past its ${e.slo.kind} gate ${e.slo.comparator} ${num(e.slo.limit)}`;
    case 'recovery':
      return `${at}  RECOVERED  ${e.stack}/${e.service}  ${e.metric} (episode since ${formatTime(e.episodeStartTs).slice(11)}, peak ${e.peakScore.toFixed(1)}σ)`;
    case 'health':
      return undefined;
    case 'delta': {
      const head = e.scope === 'local' ? `LOCAL → ${e.stack}` : e.scope.toUpperCase();
      return `${at}  DELTA      ${e.service}  ${e.metric}: ${head}: ${e.reason}`;
    }
  }
}

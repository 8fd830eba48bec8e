import type { Signal, SloKind } from '../../domain/types.js';
import type { SeriesState } from './series-state.js';

/**
 * Which SLO gate each metric is judged by, and which metrics no gate matched. A metric without a
 * gate is still watched for anomalies, but it can never put an SLO at risk, so no mitigation is
 * ever recommended on it alone: a newcomer whose error rate is spelled differently from every gate
 * must be told, not left to wonder why nothing fires.
 */

export interface GateMatch {
  service: string;
  metric: string;
  signal: Signal;
  /**
   * The gate as applied to this metric (limit in the metric's own unit), or null. `unitPending`:
   * the series is still showing whether it sends a fraction or percent (see SloGates).
   */
  gate: { kind: SloKind; limit: number; comparator: '>' | '<'; relative: boolean; unit?: string; unitPending?: boolean } | null;
  stacks: number;
  /** Stacks whose learned normal is already past an absolute gate: being past it alone is no news there. */
  normallyPast: string[];
}

export interface GateWarning {
  /** service/metric */
  metric: string;
  kind: 'unmatched' | 'normally_past';
  message: string;
}

export interface GateCoverage {
  matched: GateMatch[];
  /** Reliability, latency and business metrics that no gate matched. */
  unmatched: GateMatch[];
  /** One per metric and kind, so a consumer can say each once. */
  warnings: GateWarning[];
}

/** Signals whose metrics are expected to have a gate (capacity often has none, by choice). */
const GATED_SIGNALS: ReadonlySet<Signal> = new Set(['reliability', 'latency', 'business']);

export function gateCoverage(series: Iterable<SeriesState>): GateCoverage {
  const byMetric = new Map<string, GateMatch>();
  for (const s of series) {
    const key = `${s.service}\u0000${s.metric}`;
    let m = byMetric.get(key);
    if (m === undefined) {
      const g = s.gate;
      m = {
        service: s.service,
        metric: s.metric,
        signal: s.signal,
        gate:
          g === null
            ? null
            : {
                kind: g.kind,
                limit: g.limit,
                comparator: g.comparator,
                relative: g.relative,
                ...(g.unit !== undefined ? { unit: g.unit } : {}),
                ...(g.unitFromValues === true ? { unitPending: true } : {}),
              },
        stacks: 0,
        normallyPast: [],
      };
      byMetric.set(key, m);
    }
    m.stacks++;
    const g = s.gate;
    const expected = s.lastExpected;
    if (g !== null && !g.relative && expected === expected && (g.comparator === '>' ? expected > g.limit : expected < g.limit)) m.normallyPast.push(s.stack);
  }
  const all = [...byMetric.values()].sort((a, b) => (a.service === b.service ? (a.metric < b.metric ? -1 : 1) : a.service < b.service ? -1 : 1));
  for (const m of all) m.normallyPast.sort();
  const matched = all.filter((m) => m.gate !== null);
  const unmatched = all.filter((m) => m.gate === null && GATED_SIGNALS.has(m.signal));
  const warnings: GateWarning[] = [];
  for (const m of unmatched) {
    warnings.push({
      metric: `${m.service}/${m.metric}`,
      kind: 'unmatched',
      message: `no SLO gate matched ${m.service}/${m.metric} (${m.signal}): watched for anomalies, but never a reason to act on its own; add a gate under detection.slo.gates if it carries an SLO`,
    });
  }
  for (const m of matched) {
    if (m.normallyPast.length > 0) {
      warnings.push({
        metric: `${m.service}/${m.metric}`,
        kind: 'normally_past',
        message: `${m.service}/${m.metric}: its normal level on ${m.normallyPast.join(', ')} is already past the ${m.gate!.kind} gate (${m.gate!.comparator} ${m.gate!.limit}${m.gate!.unit !== undefined ? ` ${m.gate!.unit}` : ''}); there, being past it counts only during a confirmed anomaly`,
      });
    }
  }
  return { matched, unmatched, warnings };
}

/** One line per metric, for a terminal. */
export function formatGateCoverage(c: GateCoverage): string[] {
  const lines = c.matched.map(
    (m) =>
      `  ${m.service}/${m.metric} (${m.signal}, ${m.stacks} stacks): ${m.gate!.kind} ${m.gate!.relative ? `${m.gate!.comparator} ${m.gate!.limit} x baseline` : `${m.gate!.comparator} ${m.gate!.limit}${m.gate!.unit !== undefined ? ` ${m.gate!.unit}` : ''}${m.gate!.unitPending === true ? ' (unit still being learned from the values)' : ''}`}`,
  );
  for (const m of c.unmatched) lines.push(`  ${m.service}/${m.metric} (${m.signal}, ${m.stacks} stacks): no gate`);
  return lines;
}

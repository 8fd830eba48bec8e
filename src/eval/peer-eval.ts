import type { DetectionConfig } from '../config/detection.js';
import type { Signal } from '../domain/types.js';
import { DetectionEngine } from '../core/detection/detection-engine.js';
import { labelSegments, type MsCloudGroup } from './ms-cloud.js';

/**
 * Peer (cross-stack) localization against expert labels: every series of a group is fed as one
 * "stack" of the same metric, and each labelled event that sits on a single series while its
 * peers are unlabelled asks one question: did a `local` verdict name that series in time?
 */

export interface PeerEventResult {
  series: string;
  start: number;
  end: number;
  outcome: 'hit' | 'wrong' | 'miss';
  named: string[];
}

export interface PeerEvaluation {
  events: PeerEventResult[];
  hits: number;
  wrong: number;
  misses: number;
  /** Local verdicts that name a series outside every labelled event of that series. */
  falseLocal: number;
  localVerdicts: number;
}

export function evaluatePeerLocalization(
  group: MsCloudGroup,
  config: DetectionConfig,
  opts: { exclude?: readonly string[]; toleranceMs: number; signal?: Signal },
): PeerEvaluation {
  const series = group.series.filter((s) => !(opts.exclude ?? []).includes(s.name));
  const locals: { ts: number; stack: string }[] = [];
  const engine = new DetectionEngine(config, {
    detection: (e) => {
      if (e.type === 'delta' && e.scope === 'local' && e.stack !== null) locals.push({ ts: e.ts, stack: e.stack });
    },
  });
  const rows = series.flatMap((s) => s.rows.filter((r) => Number.isFinite(r.value)).map((r) => ({ ts: r.ts, value: r.value, stack: s.name })));
  rows.sort((a, b) => a.ts - b.ts || (a.stack < b.stack ? -1 : 1));
  for (const r of rows)
    engine.offerSample({ ts: r.ts, signal: opts.signal ?? 'latency', metric: 'value', stack: r.stack, service: group.group, value: r.value });
  engine.flush();

  const tol = opts.toleranceMs;
  const segments = new Map(series.map((s) => [s.name, labelSegments(s.rows)]));
  const overlaps = (a: [number, number], b: [number, number]): boolean => a[0] - tol <= b[1] && b[0] <= a[1] + tol;
  const events: PeerEventResult[] = [];
  for (const [name, segs] of segments) {
    for (const seg of segs) {
      const shared = [...segments].some(([other, os]) => other !== name && os.some((o) => overlaps(seg, o)));
      if (shared) continue;
      const named = [...new Set(locals.filter((l) => l.ts >= seg[0] - tol && l.ts <= seg[1] + tol).map((l) => l.stack))];
      events.push({ series: name, start: seg[0], end: seg[1], outcome: named.includes(name) ? 'hit' : named.length > 0 ? 'wrong' : 'miss', named });
    }
  }
  const falseLocal = locals.filter((l) => !(segments.get(l.stack) ?? []).some((s) => l.ts >= s[0] - tol && l.ts <= s[1] + tol)).length;
  return {
    events,
    hits: events.filter((e) => e.outcome === 'hit').length,
    wrong: events.filter((e) => e.outcome === 'wrong').length,
    misses: events.filter((e) => e.outcome === 'miss').length,
    falseLocal,
    localVerdicts: locals.length,
  };
}

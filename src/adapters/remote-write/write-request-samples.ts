import type { Sample } from '../../domain/types.js';
import type { LabelMapper } from '../mapping/label-mapper.js';
import { isStaleMarker, type WriteRequest } from './write-request.js';

/**
 * The samples a remote-write request carries for the series the mapping asks for, in time order,
 * and what was left out by reason: `unmapped` (series the mapping does not ask for: expected,
 * Prometheus sends everything), `stale_marker` (a series ended: a gap here, not a value) and
 * `non_finite`. Shared by the HTTP receiver and the Kafka ingress.
 */
export function samplesOfWriteRequest(req: WriteRequest, mapper: LabelMapper): { samples: Sample[]; skipped: Record<string, number> } {
  const samples: Sample[] = [];
  const skipped: Record<string, number> = {};
  const skip = (reason: string, n: number): void => {
    skipped[reason] = (skipped[reason] ?? 0) + n;
  };
  for (const ts of req.timeseries) {
    const labels: Record<string, string> = {};
    for (const l of ts.labels) labels[l.name] = l.value;
    const m = mapper.map(labels);
    if (!m.ok) {
      skip('unmapped', ts.samples.length);
      continue;
    }
    for (const s of ts.samples) {
      if (isStaleMarker(s.value)) skip('stale_marker', 1);
      else if (!Number.isFinite(s.value)) skip('non_finite', 1);
      else samples.push({ ts: s.timestamp, signal: m.signal, metric: m.metric, stack: m.stack, service: m.service, value: s.value });
    }
  }
  samples.sort((a, b) => a.ts - b.ts);
  return { samples, skipped };
}

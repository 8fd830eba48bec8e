import type { Incident, IncidentSignal } from '../../domain/decision.js';
import type { DetectionEvent } from '../../domain/types.js';

type AnomalyEvent = Extract<DetectionEvent, { type: 'anomaly' }>;

/**
 * Incident assembly: how detection events become an incident's signals, predictions and breaches.
 * Pure functions over the plain `Incident` record; the decision engine decides when to call them.
 */

/** A new incident on one stack and service, seeded with the warnings seen there before it opened. */
export function newIncident(service: string, stack: string, ts: number, earlierWarnings: readonly DetectionEvent[]): Incident {
  const incident: Incident = {
    id: `inc-${service}-${stack}-${compactTime(ts)}`,
    service,
    stack,
    status: 'open',
    openedAt: ts,
    updatedAt: ts,
    resolvedAt: null,
    signals: {},
    predictions: {},
    breaches: {},
    deltas: {},
    alerts: {},
    recommendationIds: [],
  };
  for (const p of earlierWarnings) if (p.type === 'anomaly') incident.signals[p.metric] = signalOf(p, undefined);
  return incident;
}

/** An anomaly updates its metric's signal; an episode that had recovered starts afresh. */
export function recordAnomaly(incident: Incident, e: AnomalyEvent): void {
  incident.signals[e.metric] = signalOf(e, incident.signals[e.metric]);
}

/** A metric recovered: its prediction and breach go with it. False when the incident never saw the metric. */
export function recordRecovery(incident: Incident, metric: string, ts: number): boolean {
  const s = incident.signals[metric];
  if (s === undefined) return false;
  s.recovered = true;
  s.lastTs = ts;
  delete incident.predictions[metric];
  delete incident.breaches[metric];
  return true;
}

/** When the episode began: the earliest live signal, or the opening. */
export function firstSignalTs(inc: Incident): number {
  let t = inc.openedAt;
  for (const s of Object.values(inc.signals)) if (!s.recovered && s.firstTs < t) t = s.firstTs;
  return t;
}

/** When each signal still deviating began (a change is judged against each: see ContextIndex.correlate). */
export function liveOnsets(inc: Incident): number[] {
  const out: number[] = [];
  for (const s of Object.values(inc.signals)) if (!s.recovered) out.push(s.firstTs);
  // A stack singled out amid a platform-wide episode by what it moved since a change on it began
  // stands apart from that moment: an onset of its own, which that change can have caused. Its
  // signals began with the platform's fault, long before the change (imitation seed 62: a release
  // deployed 32 minutes into an upstream fault, its errors 66 % up since against a peer's −36 %,
  // was found apart but not found guilty, and traffic had nowhere to go).
  for (const d of Object.values(inc.deltas)) {
    if (d.scope === 'local' && d.stack === inc.stack && d.sinceChange !== undefined && inc.signals[d.metric]?.recovered === false) out.push(d.sinceChange);
  }
  return out;
}

/** The fields an `incident` event carries. */
export function incidentSummary(inc: Incident): Pick<Incident, 'id' | 'service' | 'stack' | 'status' | 'openedAt' | 'resolvedAt'> {
  return { id: inc.id, service: inc.service, stack: inc.stack, status: inc.status, openedAt: inc.openedAt, resolvedAt: inc.resolvedAt };
}

function signalOf(e: AnomalyEvent, prev: IncidentSignal | undefined): IncidentSignal {
  const live = prev !== undefined && !prev.recovered;
  return {
    metric: e.metric,
    signal: e.signal,
    stage: e.stage,
    firstTs: live ? prev.firstTs : e.ts,
    lastTs: e.ts,
    score: e.score,
    peakScore: Math.max(e.score, live ? prev.peakScore : 0),
    value: e.value,
    expected: e.expected,
    persistence: e.persistence,
    recovered: false,
    coldStart: e.coldStart,
    ...(e.gate !== undefined ? { gate: e.gate } : {}),
    ...(e.stage === 'confirmed' ? { confirmedTs: live && prev.confirmedTs !== undefined ? prev.confirmedTs : e.ts } : {}),
  };
}

/** 20260301T1205: ids sort by time and read as one. */
function compactTime(ts: number): string {
  return new Date(ts).toISOString().replace(/[-:]/g, '').slice(0, 13);
}

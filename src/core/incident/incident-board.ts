import type { AnomalyEvent, DetectionEvent, StackHealthEvent } from '../../domain/types.js';
import type { AlertTrigger, DecisionEvent, Incident, IncidentDelta } from '../../domain/decision.js';
import type { Execution } from '../decide/post-action-validation.js';
import { incidentSummary, newIncident, recordAnomaly, recordRecovery } from './assembly.js';
import { nextStatus, type IncidentInput } from './lifecycle.js';

/** An open incident with what the decision stage remembers about it between evaluations. */
export interface IncidentRuntime {
  incident: Incident;
  /** The last decision announced (action|percent|targets|blockedBy|awaiting): a repeat is no news. */
  lastKey: string;
  lastEvaluatedMinute: number;
  recCount: number;
  execution: Execution | null;
  lastEvidenceTs: number;
}

/** The board's part of the decision snapshot. */
export interface IncidentBoardSnapshot {
  open: IncidentRuntime[];
  history: Incident[];
  deltas: [string, IncidentDelta[]][];
  health: [string, StackHealthEvent[]][];
  pendingWarn: [string, DetectionEvent[]][];
  alertsSeen: string[];
}

/** Resolved incidents kept for the API and reports. */
const HISTORY = 500;
/** Alert keys remembered for de-duplication. */
const ALERTS_SEEN = 10_000;

/**
 * Incident assembly (ITR phase 1's input): one open incident per service and stack, fed by the
 * detection events and external alerts, with the latest cross-stack verdict per metric and health
 * per stack that the workflow reads. Warnings seen before any incident of their stack are held and
 * join the incident when one opens. Resolved incidents move to a bounded history.
 */
export class IncidentBoard {
  private readonly open = new Map<string, IncidentRuntime>();
  private history: Incident[] = [];
  private readonly deltas = new Map<string, Map<string, IncidentDelta>>();
  private readonly health = new Map<string, Map<string, StackHealthEvent>>();
  /** Warn-stage signals seen before any incident of their stack opened. */
  private readonly pendingWarn = new Map<string, DetectionEvent[]>();
  /** Alertmanager delivers at least once (HA pairs duplicate): groupKey|fingerprint|status|startsAt seen. */
  private readonly alertsSeen = new Set<string>();
  /** Evidence that found no incident to join and could not open one (limits.maxOpenIncidents). */
  refused = 0;

  constructor(
    private readonly maxOpen: number,
    private readonly emit: (e: DecisionEvent) => void,
  ) {}

  incidents(): Incident[] {
    return [...[...this.open.values()].map((r) => r.incident), ...this.history];
  }

  openRuntimes(): IterableIterator<IncidentRuntime> {
    return this.open.values();
  }

  /** The other services' open incidents on `inc`'s stack. */
  siblingsOf(inc: Pick<Incident, 'service' | 'stack'>): Incident[] {
    const out: Incident[] = [];
    for (const rt of this.open.values()) if (rt.incident.stack === inc.stack && rt.incident.service !== inc.service) out.push(rt.incident);
    return out;
  }

  /** The open incident `incidentId` (a revert names the stack the traffic went to, not the incident's). */
  byId(incidentId: string): IncidentRuntime | undefined {
    for (const rt of this.open.values()) if (rt.incident.id === incidentId) return rt;
    return undefined;
  }

  healthOf(service: string, stack: string): StackHealthEvent | undefined {
    return this.health.get(service)?.get(stack);
  }

  healthFor(service: string): Map<string, StackHealthEvent> {
    return this.health.get(service) ?? new Map();
  }

  deltasFor(service: string): Map<string, IncidentDelta> {
    return this.deltas.get(service) ?? new Map();
  }

  recordHealth(e: StackHealthEvent): void {
    let byStack = this.health.get(e.service);
    if (byStack === undefined) this.health.set(e.service, (byStack = new Map()));
    byStack.set(e.stack, e);
  }

  /** The latest verdict on a metric; the open incidents of the service that have it as a signal. */
  recordDelta(e: Extract<DetectionEvent, { type: 'delta' }>): IncidentRuntime[] {
    let byMetric = this.deltas.get(e.service);
    if (byMetric === undefined) this.deltas.set(e.service, (byMetric = new Map()));
    const d: IncidentDelta = { metric: e.metric, ts: e.ts, scope: e.scope, stack: e.stack, reason: e.reason, separation: e.separation };
    // Stacks recover from a shared upstream problem at different speeds: a stack singled out
    // right after the metric moved everywhere is, for a while, the tail of the global episode.
    // Only the detector knows whether that global verdict is from the same run of episodes (a
    // verdict stands, unannounced, long after its episode ended): it says so on the event.
    if (e.scope === 'local' && e.afterGlobal === true) d.afterGlobalAt = e.ts;
    if (e.lapsed === true) d.lapsed = true;
    if (e.sinceChange !== undefined) d.sinceChange = e.sinceChange;
    byMetric.set(e.metric, d);
    const touched: IncidentRuntime[] = [];
    for (const rt of this.open.values()) {
      if (rt.incident.service === e.service && rt.incident.signals[e.metric] !== undefined) {
        rt.incident.deltas[e.metric] = d;
        touched.push(rt);
      }
    }
    return touched;
  }

  /** The incident an anomaly is evidence for; a warning with no incident to join is held instead. */
  recordAnomaly(e: AnomalyEvent): IncidentRuntime | undefined {
    const key = `${e.service}/${e.stack}`;
    let rt = this.open.get(key);
    if (rt === undefined && e.stage === 'warn') {
      const list = this.pendingWarn.get(key) ?? [];
      list.push(e);
      this.pendingWarn.set(key, list.slice(-20));
      return undefined;
    }
    rt ??= this.openIncident(e.service, e.stack, e.ts);
    if (rt !== undefined) recordAnomaly(rt.incident, e);
    return rt;
  }

  /** A forecast or a breach: evidence for the stack's incident, opened if need be. */
  recordForecast(e: Extract<DetectionEvent, { type: 'prediction' | 'breach' }>): IncidentRuntime | undefined {
    const rt = this.open.get(`${e.service}/${e.stack}`) ?? this.openIncident(e.service, e.stack, e.ts);
    if (rt === undefined) return undefined;
    if (e.type === 'prediction')
      rt.incident.predictions[e.metric] = {
        metric: e.metric,
        ts: e.ts,
        breachAt: e.breachAt,
        slo: e.slo,
        ...(e.beyondBound !== undefined ? { beyondBound: e.beyondBound } : {}),
      };
    else rt.incident.breaches[e.metric] = e.ts;
    return rt;
  }

  /** A metric recovered: the incident it belonged to, when that changed anything. */
  recordRecovery(e: Extract<DetectionEvent, { type: 'recovery' }>): IncidentRuntime | undefined {
    const key = `${e.service}/${e.stack}`;
    this.pendingWarn.set(
      key,
      (this.pendingWarn.get(key) ?? []).filter((p) => p.type !== 'anomaly' || p.metric !== e.metric),
    );
    const rt = this.open.get(key);
    return rt !== undefined && recordRecovery(rt.incident, e.metric, e.ts) ? rt : undefined;
  }

  /**
   * An external alert: firing opens or joins the stack's incident, resolved closes that trigger.
   * Duplicates (Alertmanager HA pairs, retries) are recognised and ignored.
   */
  recordAlert(a: AlertTrigger, ts: number): 'duplicate' | 'limited' | { rt: IncidentRuntime | undefined } {
    const key = `${a.groupKey}|${a.fingerprint}|${a.status}|${a.startsAt}`;
    if (this.alertsSeen.has(key)) return 'duplicate';
    this.alertsSeen.add(key);
    if (this.alertsSeen.size > ALERTS_SEEN) this.alertsSeen.delete(this.alertsSeen.values().next().value!);
    let rt = this.open.get(`${a.service}/${a.stack}`);
    if (rt === undefined) {
      if (a.status === 'resolved') return { rt: undefined };
      rt = this.openIncident(a.service, a.stack, ts);
      if (rt === undefined) return 'limited';
    }
    const alert: Incident['alerts'][string] = { fingerprint: a.fingerprint, name: a.name, status: a.status, startsAt: a.startsAt };
    if (a.signal !== undefined) alert.signal = a.signal;
    rt.incident.alerts[a.fingerprint] = alert;
    return { rt };
  }

  /** Evidence arrived for the incident at `ts`. */
  touch(rt: IncidentRuntime, ts: number): void {
    rt.lastEvidenceTs = ts;
    rt.incident.updatedAt = ts;
    this.transition(rt, 'evidence', ts);
  }

  transition(rt: IncidentRuntime, input: IncidentInput, ts: number): void {
    const before = rt.incident.status;
    rt.incident.status = nextStatus(before, input);
    if (before !== rt.incident.status && (rt.incident.status === 'mitigated' || rt.incident.status === 'resolved')) {
      if (rt.incident.status === 'resolved') rt.incident.resolvedAt = ts;
      this.emit({
        type: 'incident',
        ts,
        incident: incidentSummary(rt.incident),
        transition: rt.incident.status,
        summary: `incident ${rt.incident.status} on ${rt.incident.service}/${rt.incident.stack}`,
      });
    }
  }

  /** Resolves the incident when every signal and alert has recovered and it has been quiet for `quietMs`. */
  resolveIfQuiet(rt: IncidentRuntime, ts: number, quietMs: number): boolean {
    const inc = rt.incident;
    const allRecovered = Object.values(inc.signals).every((s) => s.recovered) && Object.values(inc.alerts).every((a) => a.status === 'resolved');
    const quietFor = ts - Math.max(rt.lastEvidenceTs, ...Object.values(inc.signals).map((s) => s.lastTs));
    if (!allRecovered || quietFor < quietMs) return false;
    this.transition(rt, 'recovered', ts);
    this.open.delete(`${inc.service}/${inc.stack}`);
    this.history.unshift(inc);
    if (this.history.length > HISTORY) this.history.pop();
    return true;
  }

  /** The stack's worst score now over `signals` (all when empty), from its latest health; NaN without one. */
  stackScore(rt: IncidentRuntime, signals: readonly string[]): number {
    const h = this.healthOf(rt.incident.service, rt.incident.stack);
    if (h === undefined) return NaN;
    let worst = -Infinity;
    for (const [sig, v] of Object.entries(h.scores)) if ((signals.length === 0 || signals.includes(sig)) && v !== undefined && v > worst) worst = v;
    return worst;
  }

  toJSON(): IncidentBoardSnapshot {
    return {
      open: [...this.open.values()],
      history: this.history,
      deltas: [...this.deltas].map(([service, m]) => [service, [...m.values()]]),
      health: [...this.health].map(([service, m]) => [service, [...m.values()]]),
      pendingWarn: [...this.pendingWarn],
      alertsSeen: [...this.alertsSeen],
    };
  }

  restore(s: IncidentBoardSnapshot): void {
    this.open.clear();
    for (const rt of s.open) this.open.set(`${rt.incident.service}/${rt.incident.stack}`, rt);
    this.history = s.history;
    this.deltas.clear();
    for (const [service, list] of s.deltas) this.deltas.set(service, new Map(list.map((d) => [d.metric, d])));
    this.health.clear();
    for (const [service, list] of s.health) this.health.set(service, new Map(list.map((h) => [h.stack, h])));
    this.pendingWarn.clear();
    for (const [k, v] of s.pendingWarn) this.pendingWarn.set(k, v);
    this.alertsSeen.clear();
    for (const k of s.alertsSeen) this.alertsSeen.add(k);
  }

  /** A new incident, unless `maxOpen` are open already (then undefined, and counted). */
  private openIncident(service: string, stack: string, ts: number): IncidentRuntime | undefined {
    if (this.open.size >= this.maxOpen) {
      this.refused++;
      return undefined;
    }
    const key = `${service}/${stack}`;
    const incident = newIncident(service, stack, ts, this.pendingWarn.get(key) ?? []);
    this.pendingWarn.delete(key);
    const rt: IncidentRuntime = { incident, lastKey: '', lastEvaluatedMinute: -1, recCount: 0, execution: null, lastEvidenceTs: ts };
    this.open.set(key, rt);
    this.emit({ type: 'incident', ts, incident: incidentSummary(incident), transition: 'opened', summary: `incident opened on ${service}/${stack}` });
    return rt;
  }
}

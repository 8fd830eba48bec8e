import type { ContextEvent, DetectionEvent, Sample, StackHealthEvent } from '../../domain/types.js';
import {
  MITIGATIONS,
  type AlertTrigger,
  type DecisionEvent,
  type DecisionResult,
  type Incident,
  type IncidentDelta,
  type OutcomeEvent,
  type Recommendation,
  type RecommendationStatus,
} from '../../domain/decision.js';
import type { DecisionConfig } from '../../config/decision.js';
import { ContextIndex } from '../correlate/context-index.js';
import { nextStatus, type IncidentInput } from '../incident/lifecycle.js';
import { firstSignalTs, incidentSummary, liveOnsets, newIncident, recordAnomaly, recordRecovery } from '../incident/assembly.js';
import { judgeExecution, revertsOf, type Execution } from './post-action-validation.js';
import { formulaConfidence, type ConfidenceModel } from './confidence.js';
import { checkGuardrails, forgetExecution, newGuardrailState, recordExecution, type GuardrailState } from './guardrails.js';
import { runWorkflow, scopeOf, type WorkflowDecision } from './itr-workflow.js';
import { moveTo, setPhase } from './recommendation-lifecycle.js';
import { MS_PER_MIN as MIN } from '../time-units.js';
import { Lookahead, type LookaheadParams, type LookaheadSnapshot } from './lookahead.js';

export interface DecisionSink {
  decision(event: DecisionEvent): void;
}

export interface DecisionSnapshot {
  version: 1;
  context: ReturnType<ContextIndex['toJSON']>;
  open: IncidentRuntime[];
  history: Incident[];
  deltas: [string, IncidentDelta[]][];
  health: [string, StackHealthEvent[]][];
  pendingWarn: [string, DetectionEvent[]][];
  recommendations: Recommendation[];
  guardrails: GuardrailState;
  alertsSeen: string[];
  now: number;
  /** Scheduled events and the load profiles they are forecast on (absent in older snapshots). */
  lookahead?: LookaheadSnapshot;
}

interface IncidentRuntime {
  incident: Incident;
  lastKey: string;
  lastEvaluatedMinute: number;
  recCount: number;
  execution: Execution | null;
  lastEvidenceTs: number;
}

const RETAIN_SETTLED_MS = 7 * 24 * 3600_000;
/** Resolved incidents kept for the API and reports. */
const HISTORY = 500;

/**
 * The decision half: incident assembly, context correlation and the ITR workflow, in event time.
 * Pure: it sees detection and context events and emits decisions; execution is an adapter's job.
 */
export class DecisionEngine {
  private context: ContextIndex;
  private readonly open = new Map<string, IncidentRuntime>();
  private history: Incident[] = [];
  private readonly deltas = new Map<string, Map<string, IncidentDelta>>();
  private readonly health = new Map<string, Map<string, StackHealthEvent>>();
  /** Warn-stage signals seen before any incident of their stack opened. */
  private readonly pendingWarn = new Map<string, DetectionEvent[]>();
  private readonly recommendations = new Map<string, Recommendation>();
  /** Alertmanager delivers at least once (HA pairs duplicate): groupKey|fingerprint|status|startsAt seen. */
  private readonly alertsSeen = new Set<string>();
  private guardrails: GuardrailState = newGuardrailState();
  private now = -Infinity;

  constructor(
    private readonly config: DecisionConfig,
    /** `baseline` and `gates`: what the look-ahead learns load profiles with (without them it makes no forecast). */
    private readonly detection: { warnScore: number; horizonMinutes: number } & Partial<LookaheadParams>,
    private readonly sink: DecisionSink,
    private confidence: ConfidenceModel = formulaConfidence({ warnScore: detection.warnScore, horizonMinutes: detection.horizonMinutes }),
    /** limits.maxOpenIncidents and limits.maxContextEvents. */
    private readonly limits: { maxOpenIncidents: number; maxContextEvents: number } = {
      maxOpenIncidents: Number.POSITIVE_INFINITY,
      maxContextEvents: Number.POSITIVE_INFINITY,
    },
  ) {
    this.context = new ContextIndex(limits.maxContextEvents);
    this.lookahead =
      detection.baseline !== undefined && detection.gates !== undefined && config.predictive.enabled
        ? new Lookahead({ baseline: detection.baseline, gates: detection.gates })
        : undefined;
  }

  /** Predictive operations (seed section 14.1): undefined when off or not given what it learns from. */
  private readonly lookahead: Lookahead | undefined;

  /**
   * A sample the detection accepted, for the look-ahead's load profiles (the decision half sees no
   * samples otherwise). In arrival order, within the detection's allowed lateness of event time.
   */
  observeSample(s: Sample): void {
    this.lookahead?.learn(s, this.context.shareOf(s.stack));
  }

  /** Evidence that found no incident to join and could not open one (limits.maxOpenIncidents). */
  refusedIncidents = 0;

  /** Context events pushed out by limits.maxContextEvents (since this engine started or was restored). */
  get evictedContextEvents(): number {
    return this.context.evicted;
  }

  setConfidenceModel(model: ConfidenceModel): void {
    this.confidence = model;
  }

  onContext(e: ContextEvent): void {
    this.advance(e.ts);
    this.context.add(e);
    this.lookahead?.onContext(e);
  }

  onDetection(e: DetectionEvent): void {
    this.advance(e.ts);
    switch (e.type) {
      case 'health': {
        let byStack = this.health.get(e.service);
        if (byStack === undefined) this.health.set(e.service, (byStack = new Map()));
        byStack.set(e.stack, e);
        this.onTick(e.ts);
        return;
      }
      case 'delta': {
        let byMetric = this.deltas.get(e.service);
        if (byMetric === undefined) this.deltas.set(e.service, (byMetric = new Map()));
        const d: IncidentDelta = { metric: e.metric, ts: e.ts, scope: e.scope, stack: e.stack, reason: e.reason, separation: e.separation };
        // Stacks recover from a shared upstream problem at different speeds: a stack singled out
        // right after the metric moved everywhere is, for a while, the tail of the global episode.
        // Only the detector knows whether that global verdict is from the same run of episodes (a
        // verdict stands, unannounced, long after its episode ended): it says so on the event.
        if (e.scope === 'local' && e.afterGlobal === true) d.afterGlobalAt = e.ts;
        byMetric.set(e.metric, d);
        for (const rt of this.open.values()) {
          if (rt.incident.service === e.service && rt.incident.signals[e.metric] !== undefined) {
            rt.incident.deltas[e.metric] = d;
            this.evidence(rt, e.ts);
          }
        }
        return;
      }
      case 'anomaly': {
        const key = `${e.service}/${e.stack}`;
        let rt = this.open.get(key);
        if (rt === undefined && e.stage === 'warn') {
          const list = this.pendingWarn.get(key) ?? [];
          list.push(e);
          this.pendingWarn.set(key, list.slice(-20));
          return;
        }
        rt ??= this.openIncident(e.service, e.stack, e.ts);
        if (rt === undefined) return;
        recordAnomaly(rt.incident, e);
        this.evidence(rt, e.ts);
        return;
      }
      case 'prediction':
      case 'breach': {
        const rt = this.open.get(`${e.service}/${e.stack}`) ?? this.openIncident(e.service, e.stack, e.ts);
        if (rt === undefined) return;
        if (e.type === 'prediction')
          rt.incident.predictions[e.metric] = {
            metric: e.metric,
            ts: e.ts,
            breachAt: e.breachAt,
            slo: e.slo,
            ...(e.beyondBound !== undefined ? { beyondBound: e.beyondBound } : {}),
          };
        else rt.incident.breaches[e.metric] = e.ts;
        this.evidence(rt, e.ts);
        return;
      }
      case 'recovery': {
        const key = `${e.service}/${e.stack}`;
        this.pendingWarn.set(
          key,
          (this.pendingWarn.get(key) ?? []).filter((p) => p.type !== 'anomaly' || p.metric !== e.metric),
        );
        const rt = this.open.get(key);
        if (rt !== undefined && recordRecovery(rt.incident, e.metric, e.ts)) this.evaluate(rt, e.ts);
        return;
      }
    }
  }

  /**
   * An external alert as an ITR trigger. Firing opens or joins the stack's incident; resolved
   * closes that trigger. Duplicates (Alertmanager HA pairs, retries) are recognised and ignored.
   */
  onAlert(a: AlertTrigger, ts: number): 'accepted' | 'duplicate' | 'limited' {
    const key = `${a.groupKey}|${a.fingerprint}|${a.status}|${a.startsAt}`;
    if (this.alertsSeen.has(key)) return 'duplicate';
    this.alertsSeen.add(key);
    if (this.alertsSeen.size > 10_000) this.alertsSeen.delete(this.alertsSeen.values().next().value!);
    this.advance(ts);
    const scope = `${a.service}/${a.stack}`;
    let rt = this.open.get(scope);
    if (rt === undefined) {
      if (a.status === 'resolved') return 'accepted';
      rt = this.openIncident(a.service, a.stack, ts);
      if (rt === undefined) return 'limited';
    }
    const alert: Incident['alerts'][string] = { fingerprint: a.fingerprint, name: a.name, status: a.status, startsAt: a.startsAt };
    if (a.signal !== undefined) alert.signal = a.signal;
    rt.incident.alerts[a.fingerprint] = alert;
    if (a.status === 'firing') this.evidence(rt, ts);
    else this.evaluate(rt, ts);
    return 'accepted';
  }

  /** A human (or an operator tool) approves a recommendation waiting for approval. */
  approve(id: string, by: string, ts: number): DecisionResult {
    return this.decide(id, by, ts, 'approved');
  }

  reject(id: string, by: string, ts: number): DecisionResult {
    return this.decide(id, by, ts, 'rejected');
  }

  incidents(): Incident[] {
    return [...[...this.open.values()].map((r) => r.incident), ...this.history];
  }

  getRecommendation(id: string): Recommendation | undefined {
    return this.recommendations.get(id);
  }

  allRecommendations(): Recommendation[] {
    return [...this.recommendations.values()];
  }

  /** Everything needed to resume: open incidents, recommendations, guardrails, context. Plain JSON. */
  snapshot(): DecisionSnapshot {
    return {
      version: 1,
      context: this.context.toJSON(),
      open: [...this.open.values()],
      history: this.history,
      deltas: [...this.deltas].map(([service, m]) => [service, [...m.values()]]),
      health: [...this.health].map(([service, m]) => [service, [...m.values()]]),
      pendingWarn: [...this.pendingWarn],
      recommendations: [...this.recommendations.values()],
      guardrails: this.guardrails,
      alertsSeen: [...this.alertsSeen],
      now: this.now,
      ...(this.lookahead !== undefined ? { lookahead: this.lookahead.toJSON() } : {}),
    };
  }

  restore(s: DecisionSnapshot): void {
    if (s.version !== 1) throw new Error(`decision snapshot version ${String(s.version)} is not supported`);
    this.context = ContextIndex.fromJSON(s.context, this.limits.maxContextEvents);
    this.open.clear();
    for (const rt of s.open) this.open.set(`${rt.incident.service}/${rt.incident.stack}`, rt);
    this.history = s.history;
    this.deltas.clear();
    for (const [service, list] of s.deltas) this.deltas.set(service, new Map(list.map((d) => [d.metric, d])));
    this.health.clear();
    for (const [service, list] of s.health) this.health.set(service, new Map(list.map((h) => [h.stack, h])));
    this.pendingWarn.clear();
    for (const [k, v] of s.pendingWarn) this.pendingWarn.set(k, v);
    this.recommendations.clear();
    for (const r of s.recommendations) this.recommendations.set(r.id, r);
    this.guardrails = s.guardrails;
    this.alertsSeen.clear();
    for (const k of s.alertsSeen) this.alertsSeen.add(k);
    this.now = s.now;
    if (s.lookahead !== undefined) this.lookahead?.restore(s.lookahead);
  }

  /** The decision clock: the newest event time seen. */
  currentTime(): number {
    return this.now;
  }

  /** Event time moves forward only; timers (approval expiry, validation, resolution) run here. */
  private advance(ts: number): void {
    if (ts > this.now) this.now = ts;
  }

  /** A new incident, unless `maxOpenIncidents` are open already (then undefined, and counted). */
  private openIncident(service: string, stack: string, ts: number): IncidentRuntime | undefined {
    if (this.open.size >= this.limits.maxOpenIncidents) {
      this.refusedIncidents++;
      return undefined;
    }
    const key = `${service}/${stack}`;
    const incident = newIncident(service, stack, ts, this.pendingWarn.get(key) ?? []);
    this.pendingWarn.delete(key);
    const rt: IncidentRuntime = { incident, lastKey: '', lastEvaluatedMinute: -1, recCount: 0, execution: null, lastEvidenceTs: ts };
    this.open.set(key, rt);
    this.sink.decision({ type: 'incident', ts, incident: incidentSummary(incident), transition: 'opened', summary: `incident opened on ${service}/${stack}` });
    return rt;
  }

  private evidence(rt: IncidentRuntime, ts: number): void {
    rt.lastEvidenceTs = ts;
    rt.incident.updatedAt = ts;
    this.transition(rt, 'evidence', ts);
    this.evaluate(rt, ts);
  }

  private transition(rt: IncidentRuntime, input: IncidentInput, ts: number): void {
    const before = rt.incident.status;
    rt.incident.status = nextStatus(before, input);
    if (before !== rt.incident.status && (rt.incident.status === 'mitigated' || rt.incident.status === 'resolved')) {
      if (rt.incident.status === 'resolved') rt.incident.resolvedAt = ts;
      this.sink.decision({
        type: 'incident',
        ts,
        incident: incidentSummary(rt.incident),
        transition: rt.incident.status,
        summary: `incident ${rt.incident.status} on ${scopeOf(rt.incident)}`,
      });
    }
  }

  /** Once per minute of event time (health events, or a live service's clock): expiries, validations, resolutions, re-evaluation. */
  onTick(ts: number): void {
    const minute = Math.floor(ts / MIN);
    for (const [id, rec] of this.recommendations) {
      if (rec.status === 'awaiting_approval' && ts - rec.ts > this.config.guardrails.approvalTimeoutMinutes * MIN) {
        moveTo(rec, 'expired');
        this.outcome(rec, ts, 'expired', `no decision within ${this.config.guardrails.approvalTimeoutMinutes} min`);
      }
      // Bounded memory for a long-running service: settled recommendations older than a week go
      // (the feed and the audit log keep them).
      if (rec.status !== 'awaiting_approval' && ts - rec.ts > RETAIN_SETTLED_MS) this.recommendations.delete(id);
    }
    for (const [key, rt] of [...this.open]) {
      if (rt.lastEvaluatedMinute === minute) continue;
      this.validate(rt, ts);
      const inc = rt.incident;
      const allRecovered = Object.values(inc.signals).every((s) => s.recovered) && Object.values(inc.alerts).every((a) => a.status === 'resolved');
      const quietFor = ts - Math.max(rt.lastEvidenceTs, ...Object.values(inc.signals).map((s) => s.lastTs));
      if (allRecovered && quietFor >= this.config.incident.resolveAfterMinutes * MIN) {
        this.transition(rt, 'recovered', ts);
        this.open.delete(key);
        this.history.unshift(inc);
        if (this.history.length > HISTORY) this.history.pop();
        continue;
      }
      this.evaluate(rt, ts);
    }
    this.lookAhead(ts);
  }

  /**
   * Scheduled events now within the look-ahead's lead: one recommendation per stack they would push
   * past its headroom, through the same guardrails, approval and feed (so the audit log) as any.
   */
  private lookAhead(ts: number): void {
    if (this.lookahead === undefined) return;
    const recs = this.lookahead.due(ts, {
      config: this.config,
      guardrails: this.guardrails,
      shareOf: (s) => this.context.shareOf(s),
      isPrimary: (s) => this.config.stacks[s]?.primary === true,
      unfitPeer: (service, stack) => this.unfitPeer(service, stack, ts),
      nextId: (scope) => `${scope}-r${[...this.recommendations.values()].filter((r) => r.incidentId === scope).length + 1}`,
    });
    for (const rec of recs) {
      this.recommendations.set(rec.id, rec);
      if (rec.status === 'approved') this.execute(undefined, rec, ts, 'auto-approved');
      else this.sink.decision({ ...rec });
    }
  }

  /** Why a peer cannot take traffic ahead of an event now: the dependency check's conditions, briefly. */
  private unfitPeer(service: string, stack: string, ts: number): string | undefined {
    const h = this.health.get(service)?.get(stack);
    if (h === undefined || ts - h.ts > this.config.incident.staleAfterMinutes * MIN) return `${stack} has no fresh data`;
    if (h.known === 0 || h.reporting / h.known < 0.5) return `${stack} not reporting (${h.reporting} of ${h.known} series)`;
    for (const [sig, v] of Object.entries(h.scores)) {
      if (sig !== 'capacity' && v !== undefined && v >= this.config.guardrails.healthyScore) return `${stack} degraded (${sig} ${v.toFixed(1)}σ)`;
    }
    const away = this.context.takenOutOfService(stack, service, ts);
    return away !== undefined ? `${stack} under ${away.kind} ${away.id}` : undefined;
  }

  private evaluate(rt: IncidentRuntime, ts: number): void {
    rt.lastEvaluatedMinute = Math.floor(ts / MIN);
    const inc = rt.incident;
    const d = runWorkflow({
      incident: inc,
      now: ts,
      correlation: this.context.correlate(inc.service, inc.stack, firstSignalTs(inc), ts, this.config.correlation, liveOnsets(inc)),
      deltas: this.deltas.get(inc.service) ?? new Map(),
      health: this.health.get(inc.service) ?? new Map(),
      shareOf: (s) => this.context.shareOf(s),
      outOfService: (s) => this.context.takenOutOfService(s, inc.service, ts),
      guardrails: this.guardrails,
      config: this.config,
      warnScore: this.detection.warnScore,
      horizonMinutes: this.detection.horizonMinutes,
      confidence: this.confidence,
      isPrimary: (s) => this.config.stacks[s]?.primary === true,
    });
    if (rt.execution !== null && MITIGATIONS.has(d.action) && this.holdsFurtherStep(rt, rt.execution, d, ts)) return;
    const key = `${d.action}|${d.percent}|${d.targets.join(',')}|${d.blockedBy ?? ''}|${d.awaitingApproval}`;
    if (key === rt.lastKey) return;
    // Escalation is news; a mitigation falling back to observe while it is still being judged is not.
    if (rt.lastKey.startsWith('shift_traffic') || rt.lastKey.startsWith('rollback') || rt.lastKey.startsWith('pause_rollout')) {
      if (d.action === 'observe' && rt.execution !== null) return;
    }
    rt.lastKey = key;
    this.emitRecommendation(rt, d, ts);
  }

  /**
   * After an executed action, whether a further mitigation stays unsaid: the same proposal again
   * (blocked by validation or freeze) is no news; a step after one whose effect could not be seen
   * (a replay, a dry run: the data never saw the action) would repeat itself every freeze window;
   * and a change someone made on the stack since (a config reverted, a rollback) is being judged
   * within its own freeze window: one change at a time.
   */
  private holdsFurtherStep(rt: IncidentRuntime, ex: Execution, d: WorkflowDecision, ts: number): boolean {
    if (d.blockedBy !== null) return true;
    if (ex.validated && !this.config.execution.actionsReachData) return true;
    const fix = this.context.changeAfter(rt.incident.stack, rt.incident.service, ex.ts, ts);
    return fix !== undefined && ts - fix.ts < this.config.guardrails.freezeMinutes * MIN;
  }

  private emitRecommendation(rt: IncidentRuntime, d: WorkflowDecision, ts: number): void {
    const inc = rt.incident;
    const status: RecommendationStatus = !MITIGATIONS.has(d.action)
      ? 'informational'
      : d.blockedBy !== null
        ? 'blocked'
        : d.awaitingApproval
          ? 'awaiting_approval'
          : 'approved';
    const rec: Recommendation = {
      type: 'recommendation',
      id: `${inc.id}-r${++rt.recCount}`,
      ts,
      incidentId: inc.id,
      stack: inc.stack,
      service: inc.service,
      action: d.action,
      percent: d.percent,
      targets: d.targets,
      confidence: d.confidence,
      evidence: d.evidence,
      requiresApproval: d.requiresApproval,
      blockedBy: d.blockedBy,
      status,
      reason: d.reason,
      phases: d.phases,
      cause: d.cause,
      predictedBreachAt: d.predictedBreachAt,
    };
    inc.recommendationIds.push(rec.id);
    this.recommendations.set(rec.id, rec);
    if (status === 'approved') this.execute(rt, rec, ts, 'auto-approved');
    else this.sink.decision({ ...rec });
  }

  private decide(id: string, by: string, ts: number, verdict: 'approved' | 'rejected'): DecisionResult {
    const rec = this.recommendations.get(id);
    if (rec === undefined) return { ok: false, code: 'unknown_recommendation', reason: `unknown recommendation ${id}` };
    if (rec.status !== 'awaiting_approval') return { ok: false, code: 'not_awaiting_approval', reason: `${id} is ${rec.status}, not awaiting approval` };
    this.advance(ts);
    // A late click on a stale proposal must not act on a world that has moved on.
    if (ts - rec.ts > this.config.guardrails.approvalTimeoutMinutes * MIN) {
      moveTo(rec, 'expired');
      this.outcome(rec, ts, 'expired', `${by} answered after the ${this.config.guardrails.approvalTimeoutMinutes}-minute approval window`, by);
      return { ok: false, code: 'expired', reason: `${id} expired before the decision` };
    }
    if (verdict === 'rejected') {
      moveTo(rec, 'rejected');
      this.outcome(rec, ts, 'rejected', `rejected by ${by}`, by);
      setPhase(rec, 'human_approval', 'fail', 'rejected', `rejected by ${by}`);
      return { ok: true, code: 'rejected', reason: 'rejected' };
    }
    // Guardrails are checked again: the world may have moved since the proposal.
    const revert = rec.reverts !== undefined;
    const g = checkGuardrails(
      { action: rec.action, scope: `${rec.service}/${rec.stack}`, percent: rec.percent, touches: [rec.stack, ...rec.targets], revert },
      this.guardrails,
      ts,
      this.config.guardrails,
      (s) => this.config.stacks[s]?.primary === true,
    );
    const blockedBy = g.blockedBy ?? (rec.action === 'shift_traffic' && g.percent < rec.percent ? 'shift_rate_cap' : null);
    if (blockedBy !== null) {
      moveTo(rec, 'blocked');
      rec.blockedBy = blockedBy;
      this.outcome(rec, ts, 'approved', `approved by ${by} but blocked by ${blockedBy}: ${g.notes.join('; ')}`, by);
      return { ok: false, code: 'blocked', reason: `blocked by ${blockedBy}` };
    }
    moveTo(rec, 'approved');
    rec.approvedBy = by;
    setPhase(rec, 'human_approval', 'pass', 'approved', `approved by ${by}`);
    this.outcome(rec, ts, 'approved', `approved by ${by}`, by);
    // Look the incident up by id: a revert names the stack the traffic went to, not the incident's.
    const rt = [...this.open.values()].find((r) => r.incident.id === rec.incidentId);
    this.execute(rt, rec, ts, `approved by ${by}`);
    return { ok: true, code: 'approved', reason: 'approved and executed' };
  }

  /** The routing controller's answer. A failed action changed nothing: it is not in flight, frozen or validated. */
  onExecutionResult(id: string, ok: boolean, detail: string, ts: number): void {
    const rec = this.recommendations.get(id);
    if (rec === undefined || ok) return;
    moveTo(rec, 'failed');
    setPhase(rec, 'execution', 'fail', 'controller_failed', `routing controller failed: ${detail}`);
    forgetExecution(this.guardrails, id, `${rec.service}/${rec.stack}`, rec.ts);
    const rt = [...this.open.values()].find((r) => r.incident.id === rec.incidentId);
    if (rt?.execution?.recommendationId === id) rt.execution = null;
    this.outcome(rec, ts, 'failed', `routing controller failed: ${detail}`);
  }

  private execute(rt: IncidentRuntime | undefined, rec: Recommendation, ts: number, how: string): void {
    moveTo(rec, 'executed');
    const planned = rec.phases.find((p) => p.name === 'execution')?.evidence ?? rec.reason;
    setPhase(rec, 'execution', 'pass', 'executed', `${planned} (${how})`);
    recordExecution(
      this.guardrails,
      rec.id,
      `${rec.service}/${rec.stack}`,
      rec.action,
      rec.percent,
      ts,
      this.config.execution.validationMinutes,
      this.config.guardrails,
      rec.reverts !== undefined,
    );
    if (rt !== undefined && rec.reverts === undefined) {
      const confirmedSignals = Object.values(rt.incident.signals)
        .filter((s) => !s.recovered && s.stage === 'confirmed')
        .map((s) => s.signal as string);
      rt.execution = { recommendationId: rec.id, ts, scoreAtExecution: this.stackScore(rt, confirmedSignals), signals: confirmedSignals, validated: false };
    }
    this.sink.decision({ ...rec });
    if (rt !== undefined) this.transition(rt, 'executed', ts);
  }

  private stackScore(rt: IncidentRuntime, signals: string[]): number {
    const h = this.health.get(rt.incident.service)?.get(rt.incident.stack);
    if (h === undefined) return NaN;
    let worst = -Infinity;
    for (const [sig, v] of Object.entries(h.scores)) if ((signals.length === 0 || signals.includes(sig)) && v !== undefined && v > worst) worst = v;
    return worst;
  }

  /** Post-action validation: did the delta stack's signals come back after the action? */
  private validate(rt: IncidentRuntime, ts: number): void {
    const ex = rt.execution;
    if (ex === null || ex.validated || ts - ex.ts < this.config.execution.validationMinutes * MIN) return;
    ex.validated = true;
    if (this.guardrails.inFlight?.recommendationId === ex.recommendationId) this.guardrails.inFlight = null;
    const rec = this.recommendations.get(ex.recommendationId)!;
    const v = judgeExecution(ex, rt.incident, this.stackScore(rt, ex.signals), {
      validationMinutes: this.config.execution.validationMinutes,
      actionsReachData: this.config.execution.actionsReachData,
      warnScore: this.detection.warnScore,
    });
    setPhase(rec, 'post_action_validation', v.result, v.code, v.reason);
    setPhase(rec, 'freeze_window', 'pass', 'held');
    this.outcome(rec, ts, v.outcome, v.reason);
    if (v.outcome !== 'ineffective') return;
    for (const revert of revertsOf(rec, rt.incident, ts, () => `${rt.incident.id}-r${++rt.recCount}`)) {
      rt.incident.recommendationIds.push(revert.id);
      this.recommendations.set(revert.id, revert);
      this.sink.decision({ ...revert });
    }
  }

  private outcome(rec: Recommendation, ts: number, outcome: OutcomeEvent['outcome'], reason: string, by?: string): void {
    const e: OutcomeEvent = { type: 'outcome', ts, recommendationId: rec.id, incidentId: rec.incidentId, outcome, reason };
    if (by !== undefined) e.by = by;
    this.sink.decision(e);
  }
}

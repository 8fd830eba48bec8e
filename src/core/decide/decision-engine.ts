import type { ContextEvent, DetectionEvent, Sample } from '../../domain/types.js';
import { healthIsFresh } from './health-freshness.js';
import {
  MITIGATIONS,
  type AlertTrigger,
  type DecisionEvent,
  type DecisionResult,
  type Incident,
  type Recommendation,
  type RecommendationStatus,
} from '../../domain/decision.js';
import type { DecisionParams } from './decision-params.js';
import { ContextIndex } from '../correlate/context-index.js';
import { firstSignalTs, liveOnsets } from '../incident/assembly.js';
import { IncidentBoard, type IncidentBoardSnapshot, type IncidentRuntime } from '../incident/incident-board.js';
import { ActionLedger, type ActionLedgerSnapshot } from './action-ledger.js';
import type { Execution } from './post-action-validation.js';
import { formulaConfidence, type ConfidenceModel } from './confidence.js';
import { runWorkflow, type WorkflowDecision } from './itr-workflow.js';
import { threatensSlo } from './phases/situation.js';
import { MS_PER_MIN as MIN } from '../time-units.js';
import { Lookahead, type LookaheadParams, type LookaheadSnapshot } from './lookahead.js';
import type { StackProfile } from '../predict/load-profiles.js';

export interface DecisionSink {
  decision(event: DecisionEvent): void;
}

export interface DecisionSnapshot extends IncidentBoardSnapshot, ActionLedgerSnapshot {
  version: 1;
  context: ReturnType<ContextIndex['toJSON']>;
  now: number;
  /** Scheduled events and the load profiles they are forecast on (absent in older snapshots). */
  lookahead?: LookaheadSnapshot;
}

/**
 * A decision snapshot with `profiles`, streamed apart from it (see DecisionEngine.beginSnapshot),
 * back among the look-ahead's load profiles.
 */
export function withLoadProfiles(s: DecisionSnapshot, profiles: readonly StackProfile[]): DecisionSnapshot {
  const lookahead = s.lookahead;
  return profiles.length > 0 && lookahead !== undefined ? { ...s, lookahead: { ...lookahead, loads: [...lookahead.loads, ...profiles] } } : s;
}

/**
 * The decision half, in event time: incident assembly (IncidentBoard), context correlation
 * (ContextIndex), the ITR workflow that proposes (runWorkflow), and the approval and execution
 * ledger that carries a proposal through (ActionLedger). This class routes events between them and
 * keeps the clock. Pure: it sees detection and context events and emits decisions; execution is an
 * adapter's job.
 */
export class DecisionEngine {
  private context: ContextIndex;
  private readonly board: IncidentBoard;
  private readonly ledger: ActionLedger;
  private now = -Infinity;
  private readonly emit = (e: DecisionEvent): void => this.sink.decision(e);

  constructor(
    private readonly config: DecisionParams,
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
    this.board = new IncidentBoard(limits.maxOpenIncidents, this.emit);
    this.ledger = new ActionLedger(config, this.board, detection.warnScore, this.emit);
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
  get refusedIncidents(): number {
    return this.board.refused;
  }

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
      case 'health':
        this.board.recordHealth(e);
        this.onTick(e.ts);
        return;
      case 'delta':
        for (const rt of this.board.recordDelta(e)) this.evidence(rt, e.ts);
        return;
      case 'anomaly': {
        const rt = this.board.recordAnomaly(e);
        if (rt !== undefined) this.evidence(rt, e.ts);
        return;
      }
      case 'prediction':
      case 'breach': {
        const rt = this.board.recordForecast(e);
        if (rt !== undefined) this.evidence(rt, e.ts);
        return;
      }
      case 'recovery': {
        const rt = this.board.recordRecovery(e);
        if (rt !== undefined) this.evaluate(rt, e.ts);
        return;
      }
    }
  }

  /**
   * An external alert as an ITR trigger. Firing opens or joins the stack's incident; resolved
   * closes that trigger. Duplicates (Alertmanager HA pairs, retries) are recognised and ignored.
   */
  onAlert(a: AlertTrigger, ts: number): 'accepted' | 'duplicate' | 'limited' {
    const r = this.board.recordAlert(a, ts);
    if (r === 'duplicate') return r;
    this.advance(ts);
    if (r === 'limited') return r;
    if (r.rt === undefined) return 'accepted';
    if (a.status === 'firing') this.evidence(r.rt, ts);
    else this.evaluate(r.rt, ts);
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
    return this.board.incidents();
  }

  getRecommendation(id: string): Recommendation | undefined {
    return this.ledger.get(id);
  }

  allRecommendations(): Recommendation[] {
    return this.ledger.all();
  }

  /** Everything needed to resume: open incidents, recommendations, guardrails, context. Plain JSON. */
  snapshot(): DecisionSnapshot {
    return this.snapshotWith(this.lookahead?.toJSON());
  }

  /**
   * The snapshot with the look-ahead's load profiles left out (`lookahead.loads` empty): they are
   * handed out as encoded pieces by `takeProfiles`, consistent with this moment, while samples keep
   * being learned. Restore puts them back in `lookahead.loads`.
   */
  beginSnapshot(): DecisionSnapshot {
    return this.snapshotWith(this.lookahead?.beginSnapshot());
  }

  private snapshotWith(lookahead: LookaheadSnapshot | undefined): DecisionSnapshot {
    return {
      version: 1,
      context: this.context.toJSON(),
      ...this.board.toJSON(),
      ...this.ledger.toJSON(),
      now: this.now,
      ...(lookahead !== undefined ? { lookahead } : {}),
    };
  }

  takeProfiles(max: number): string[] | null {
    return this.lookahead?.takeProfiles(max) ?? null;
  }

  endSnapshot(): void {
    this.lookahead?.endSnapshot();
  }

  restore(s: DecisionSnapshot): void {
    if (s.version !== 1) throw new Error(`decision snapshot version ${String(s.version)} is not supported`);
    this.context = ContextIndex.fromJSON(s.context, this.limits.maxContextEvents);
    this.board.restore(s);
    this.ledger.restore(s);
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

  private evidence(rt: IncidentRuntime, ts: number): void {
    this.board.touch(rt, ts);
    this.evaluate(rt, ts);
  }

  /** Once per minute of event time (health events, or a live service's clock): expiries, validations, resolutions, re-evaluation. */
  onTick(ts: number): void {
    const minute = Math.floor(ts / MIN);
    this.ledger.expire(ts);
    for (const rt of [...this.board.openRuntimes()]) {
      if (rt.lastEvaluatedMinute === minute) continue;
      this.ledger.validate(rt, ts);
      if (this.board.resolveIfQuiet(rt, ts, this.config.incident.resolveAfterMinutes * MIN)) continue;
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
      guardrails: this.ledger.guardrails,
      shareOf: (s) => this.context.shareOf(s),
      isPrimary: (s) => this.config.stacks[s]?.primary === true,
      unfitPeer: (service, stack) => this.unfitPeer(service, stack, ts),
      nextId: (scope) => `${scope}-r${this.ledger.countFor(scope) + 1}`,
    });
    for (const rec of recs) this.ledger.propose(undefined, rec, ts);
  }

  /** Why a peer cannot take traffic ahead of an event now: the dependency check's conditions, briefly. */
  private unfitPeer(service: string, stack: string, ts: number): string | undefined {
    const h = this.board.healthOf(service, stack);
    if (!healthIsFresh(h, ts, this.config.incident.staleAfterMinutes)) return `${stack} has no fresh data`;
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
      deltas: this.board.deltasFor(inc.service),
      health: this.board.healthFor(inc.service),
      siblings: this.board.siblingsOf(inc).map((o) => ({ incident: o, health: this.board.healthOf(o.service, o.stack) })),
      shareOf: (s) => this.context.shareOf(s),
      carriedShare: (s) => this.context.carriedShare(s, ts),
      outOfService: (s) => this.context.takenOutOfService(s, inc.service, ts),
      underTest: (s) => this.context.underTest(s, inc.service, ts),
      guardrails: this.ledger.guardrails,
      config: this.config,
      warnScore: this.detection.warnScore,
      horizonMinutes: this.detection.horizonMinutes,
      confidence: this.confidence,
      isPrimary: (s) => this.config.stacks[s]?.primary === true,
      rolledBack: (id) => this.ledger.rolledBackAt(id),
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
   * (a replay, a dry run: the data never saw the action) would repeat itself every freeze window,
   * unless a kind of signal the action was not about has been confirmed since (see
   * newSinceExecution); and a change someone made on the stack since (a config reverted, a
   * rollback) is being judged within its own freeze window: one change at a time.
   */
  private holdsFurtherStep(rt: IncidentRuntime, ex: Execution, d: WorkflowDecision, ts: number): boolean {
    if (d.blockedBy !== null) return true;
    if (ex.validated && !this.config.execution.actionsReachData && !newSinceExecution(rt.incident, ex)) return true;
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
    this.ledger.propose(rt, rec, ts);
  }

  private decide(id: string, by: string, ts: number, verdict: 'approved' | 'rejected'): DecisionResult {
    if (this.ledger.get(id)?.status === 'awaiting_approval') this.advance(ts);
    return this.ledger.decide(id, by, ts, verdict);
  }

  /** The routing controller's answer. A failed action changed nothing: it is not in flight, frozen or validated. */
  onExecutionResult(id: string, ok: boolean, detail: string, ts: number): void {
    this.ledger.executionResult(id, ok, detail, ts);
  }
}

/**
 * A kind of signal the executed action was not about, confirmed since it ran and hurting users on
 * its own (an SLO-gated error rate or a business metric, or past its gate): a new development, not
 * the action's echo. An incident lives as long as any of its signals is in an episode; held open by a
 * weekend's orders dip for eleven hours after a shift on its first minutes (held-out imitation seed
 * 11111), it kept a connection pool exhausting on that stack the next morning unsaid, errors and p99
 * past their gates. A latency wobble under its gate as the fault clears is no such development
 * (held-out imitation seed 71: a dependency failure shifted from at 13:09 and recovering from
 * 13:38; p99 a few sigma up in its last minutes took a second step at 13:45, after it had cleared).
 */
function newSinceExecution(inc: Incident, ex: Execution): boolean {
  for (const s of Object.values(inc.signals)) {
    const hurts = threatensSlo(s) || inc.breaches[s.metric] !== undefined;
    if (s.stage === 'confirmed' && !s.recovered && s.firstTs > ex.ts && !ex.signals.includes(s.signal) && hurts) return true;
  }
  return false;
}

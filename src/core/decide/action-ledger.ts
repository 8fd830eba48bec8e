import type { DecisionParams } from './decision-params.js';
import type { DecisionEvent, DecisionResult, OutcomeEvent, Recommendation } from '../../domain/decision.js';
import type { IncidentBoard, IncidentRuntime } from '../incident/incident-board.js';
import { MS_PER_MIN as MIN } from '../time-units.js';
import { checkGuardrails, forgetExecution, newGuardrailState, recordExecution, type GuardrailState } from './guardrails.js';
import { judgeExecution, revertsOf } from './post-action-validation.js';
import { moveTo, setPhase } from './recommendation-lifecycle.js';

/** Settled recommendations older than this are forgotten (the feed and the audit log keep them). */
const RETAIN_SETTLED_MS = 7 * 24 * 3600_000;
/**
 * An incident's informational recommendations ("observe", "none: recovered") once it is no longer
 * open: a day. They are most of what the ledger holds (each carries its ten phases' evidence,
 * ~2 KB in memory and in the checkpoint) and nothing decides on them; the feed and the audit log
 * keep them. What ran, was approved, rejected, blocked or expired stays the week: guardrails and
 * cause correlation read it (a change already rolled back). A look-ahead's recommendations, which
 * have no incident and are numbered by how many their scope holds, stay the week too.
 */
const RETAIN_INFORMATIONAL_MS = 24 * 3600_000;

/** The ledger's part of the decision snapshot. */
export interface ActionLedgerSnapshot {
  recommendations: Recommendation[];
  guardrails: GuardrailState;
}

/**
 * The approval and execution ledger (ITR phases 7-10 after the workflow has proposed): every
 * recommendation and its status, the guardrail bookkeeping (in flight, freeze, cooldowns, shift
 * budget), a human's approval or rejection checked again against the guardrails, execution,
 * expiry, post-action validation with the reverts it proposes, and an outcome event for each.
 */
export class ActionLedger {
  private readonly recommendations = new Map<string, Recommendation>();
  guardrails: GuardrailState = newGuardrailState();

  constructor(
    private readonly config: DecisionParams,
    private readonly incidents: IncidentBoard,
    private readonly warnScore: number,
    private readonly emit: (e: DecisionEvent) => void,
  ) {}

  get(id: string): Recommendation | undefined {
    return this.recommendations.get(id);
  }

  all(): Recommendation[] {
    return [...this.recommendations.values()];
  }

  /** When the latest executed rollback of change `changeId` ran, in any incident; undefined if none did. */
  rolledBackAt(changeId: string): number | undefined {
    let at: number | undefined;
    for (const r of this.recommendations.values())
      if (r.action === 'rollback' && r.status === 'executed' && r.reverts === undefined && r.cause.event?.id === changeId && !(at !== undefined && at >= r.ts))
        at = r.ts;
    return at;
  }

  /** How many recommendations incident (or look-ahead scope) `incidentId` has had. */
  countFor(incidentId: string): number {
    let n = 0;
    for (const r of this.recommendations.values()) if (r.incidentId === incidentId) n++;
    return n;
  }

  /** A new recommendation: executed at once when the workflow approved it, else announced. */
  propose(rt: IncidentRuntime | undefined, rec: Recommendation, ts: number): void {
    this.recommendations.set(rec.id, rec);
    if (rec.status === 'approved') this.execute(rt, rec, ts, 'auto-approved');
    else this.emit({ ...rec });
  }

  /**
   * Approvals that waited too long expire; settled recommendations older than a week are forgotten,
   * informational ones of an incident no longer open after a day (see RETAIN_INFORMATIONAL_MS).
   */
  expire(ts: number): void {
    const timeout = this.config.guardrails.approvalTimeoutMinutes;
    let ended: Map<string, number> | undefined;
    for (const [id, rec] of this.recommendations) {
      if (rec.status === 'awaiting_approval' && ts - rec.ts > timeout * MIN) {
        moveTo(rec, 'expired');
        this.outcome(rec, ts, 'expired', `no decision within ${timeout} min`);
      }
      if (rec.status !== 'awaiting_approval' && ts - rec.ts > RETAIN_SETTLED_MS) this.recommendations.delete(id);
      else if (rec.status === 'informational' && rec.forecast === undefined && ts - rec.ts > RETAIN_INFORMATIONAL_MS) {
        // A day from when the incident stopped being open: +Infinity while it is, its resolution
        // once resolved, the recommendation's own time once the history has let it go.
        ended ??= this.incidentEnds();
        if (ts - Math.max(rec.ts, ended.get(rec.incidentId) ?? rec.ts) > RETAIN_INFORMATIONAL_MS) this.recommendations.delete(id);
      }
    }
  }

  /** When each incident the board still holds stopped being open: +Infinity for an open one. */
  private incidentEnds(): Map<string, number> {
    const ends = new Map<string, number>();
    for (const inc of this.incidents.incidents()) ends.set(inc.id, inc.status === 'resolved' && inc.resolvedAt !== null ? inc.resolvedAt : Infinity);
    return ends;
  }

  decide(id: string, by: string, ts: number, verdict: 'approved' | 'rejected'): DecisionResult {
    const rec = this.recommendations.get(id);
    if (rec === undefined) return { ok: false, code: 'unknown_recommendation', reason: `unknown recommendation ${id}` };
    if (rec.status !== 'awaiting_approval') return { ok: false, code: 'not_awaiting_approval', reason: `${id} is ${rec.status}, not awaiting approval` };
    const timeout = this.config.guardrails.approvalTimeoutMinutes;
    // A late click on a stale proposal must not act on a world that has moved on.
    if (ts - rec.ts > timeout * MIN) {
      moveTo(rec, 'expired');
      this.outcome(rec, ts, 'expired', `${by} answered after the ${timeout}-minute approval window`, by);
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
    this.execute(this.incidents.byId(rec.incidentId), rec, ts, `approved by ${by}`);
    return { ok: true, code: 'approved', reason: 'approved and executed' };
  }

  /** The routing controller's answer. A failed action changed nothing: it is not in flight, frozen or validated. */
  executionResult(id: string, ok: boolean, detail: string, ts: number): void {
    const rec = this.recommendations.get(id);
    if (rec === undefined || ok) return;
    moveTo(rec, 'failed');
    setPhase(rec, 'execution', 'fail', 'controller_failed', `routing controller failed: ${detail}`);
    forgetExecution(this.guardrails, id, `${rec.service}/${rec.stack}`, rec.ts);
    const rt = this.incidents.byId(rec.incidentId);
    if (rt?.execution?.recommendationId === id) rt.execution = null;
    this.outcome(rec, ts, 'failed', `routing controller failed: ${detail}`);
  }

  /** Post-action validation: did the stack's signals come back after the action? Proposes reverts when not. */
  validate(rt: IncidentRuntime, ts: number): void {
    const ex = rt.execution;
    const minutes = this.config.execution.validationMinutes;
    if (ex === null || ex.validated || ts - ex.ts < minutes * MIN) return;
    ex.validated = true;
    if (this.guardrails.inFlight?.recommendationId === ex.recommendationId) this.guardrails.inFlight = null;
    const rec = this.recommendations.get(ex.recommendationId)!;
    const v = judgeExecution(ex, rt.incident, this.incidents.stackScore(rt, ex.signals), {
      validationMinutes: minutes,
      actionsReachData: this.config.execution.actionsReachData,
      warnScore: this.warnScore,
    });
    setPhase(rec, 'post_action_validation', v.result, v.code, v.reason);
    setPhase(rec, 'freeze_window', 'pass', 'held');
    this.outcome(rec, ts, v.outcome, v.reason);
    if (v.outcome !== 'ineffective') return;
    for (const revert of revertsOf(rec, rt.incident, ts, () => `${rt.incident.id}-r${++rt.recCount}`)) {
      rt.incident.recommendationIds.push(revert.id);
      this.recommendations.set(revert.id, revert);
      this.emit({ ...revert });
    }
  }

  toJSON(): ActionLedgerSnapshot {
    return { recommendations: [...this.recommendations.values()], guardrails: this.guardrails };
  }

  restore(s: ActionLedgerSnapshot): void {
    this.recommendations.clear();
    for (const r of s.recommendations) this.recommendations.set(r.id, r);
    this.guardrails = s.guardrails;
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
      rt.execution = {
        recommendationId: rec.id,
        ts,
        scoreAtExecution: this.incidents.stackScore(rt, confirmedSignals),
        signals: confirmedSignals,
        validated: false,
      };
    }
    this.emit({ ...rec });
    if (rt !== undefined) this.incidents.transition(rt, 'executed', ts);
  }

  private outcome(rec: Recommendation, ts: number, outcome: OutcomeEvent['outcome'], reason: string, by?: string): void {
    const e: OutcomeEvent = { type: 'outcome', ts, recommendationId: rec.id, incidentId: rec.incidentId, outcome, reason };
    if (by !== undefined) e.by = by;
    this.emit(e);
  }
}

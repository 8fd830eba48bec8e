import type { PhaseName, PhaseRecord } from '../../domain/decision.js';
import { UNKNOWN_CAUSE, type Phase, type WorkflowContext, type WorkflowEnd } from './phases/context.js';
import { describeAction } from './phases/evidence-text.js';
import { situate } from './phases/situation.js';
import type { WorkflowDecision, WorkflowInput } from './phases/workflow-input.js';
import { trigger } from './phases/01-trigger.js';
import { persistenceValidation } from './phases/02-persistence-validation.js';
import { eventCorrelation } from './phases/03-event-correlation.js';
import { deltaStackIdentification } from './phases/04-delta-stack-identification.js';
import { dependencyChecks } from './phases/05-dependency-checks.js';
import { confidenceScoring } from './phases/06-confidence-scoring.js';
import { humanApproval } from './phases/07-human-approval.js';
import { execution } from './phases/08-execution.js';
import { postActionValidation } from './phases/09-post-action-validation.js';
import { freezeWindow } from './phases/10-freeze-window.js';

export { scopeOf, type WorkflowDecision, type WorkflowInput } from './phases/workflow-input.js';

/**
 * The ten gated ITR phases of seed 004 section 8.4, as a table run in order over an incident and
 * what is known around it. Each phase records pass/fail/stop/skip/pending with a code and its
 * evidence; the first one that ends the workflow decides the (non-)action, and the later phases
 * say they were not reached. One file per phase, in `phases/`.
 */
type Entry = { [N in PhaseName]: readonly [N, Phase<N>] }[PhaseName];

export const ITR_PHASES: readonly Entry[] = [
  ['trigger', trigger],
  ['persistence_validation', persistenceValidation],
  ['event_correlation', eventCorrelation],
  ['delta_stack_identification', deltaStackIdentification],
  ['dependency_checks', dependencyChecks],
  ['confidence_scoring', confidenceScoring],
  ['human_approval', humanApproval],
  ['execution', execution],
  ['post_action_validation', postActionValidation],
  ['freeze_window', freezeWindow],
];

export function runWorkflow(w: WorkflowInput): WorkflowDecision {
  const ctx: WorkflowContext = {
    ...situate(w),
    w,
    inc: w.incident,
    cause: undefined,
    causeRecord: UNKNOWN_CAUSE,
    action: 'shift_traffic',
    targets: { ok: [], notes: [], percent: 0 },
    sloRisk: [],
    guard: undefined,
    requiresApproval: false,
    awaitingApproval: false,
    executable: false,
  };
  const phases: PhaseRecord[] = [];
  for (const [name, run] of ITR_PHASES) {
    const o = (run as Phase<typeof name>)(ctx);
    phases.push({ name, result: o.result, code: o.code, evidence: o.evidence } as PhaseRecord);
    if (o.end !== undefined) return ended(ctx, phases, o.end);
  }
  const g = ctx.guard!;
  const shift = ctx.action === 'shift_traffic';
  return {
    action: ctx.action,
    percent: shift ? g.percent : 0,
    targets: shift ? ctx.targets.ok : [],
    confidence: ctx.confidence,
    evidence: ctx.evidence,
    requiresApproval: ctx.requiresApproval,
    blockedBy: g.blockedBy,
    executable: ctx.executable,
    awaitingApproval: ctx.awaitingApproval,
    phases,
    cause: ctx.causeRecord,
    predictedBreachAt: ctx.predictedBreachAt,
    reason: describeAction(ctx.action, ctx.inc.stack, g.percent, ctx.targets.ok, ctx.cause),
  };
}

/**
 * The record of a phase not reached for `reason`: one frozen object per phase and reason, shared by
 * every recommendation that ended there. Most end early (observe, none: recovered), a settled one
 * is kept for a day or a week, and its skipped phases were most of its memory. Frozen: a phase is
 * changed by replacing its record (setPhase), never in place. Bounded: reasons can name events.
 */
const notReached = new Map<string, PhaseRecord>();
const NOT_REACHED_KEPT = 4096;

function notReachedRecord(name: PhaseName, reason: string): PhaseRecord {
  const key = `${name}\n${reason}`;
  let record = notReached.get(key);
  if (record === undefined) {
    if (notReached.size >= NOT_REACHED_KEPT) notReached.clear();
    notReached.set(key, (record = Object.freeze({ name, result: 'skip', code: 'not_reached', evidence: `not reached: ${reason}` }) as PhaseRecord));
  }
  return record;
}

/** A phase ended the workflow: the phases after it were not reached, and nothing executes. */
function ended(ctx: WorkflowContext, phases: PhaseRecord[], end: WorkflowEnd): WorkflowDecision {
  for (const [name] of ITR_PHASES.slice(phases.length)) phases.push(notReachedRecord(name, end.reason));
  return {
    action: end.action,
    percent: 0,
    targets: [],
    confidence: ctx.confidence,
    evidence: ctx.evidence,
    requiresApproval: false,
    blockedBy: null,
    executable: false,
    awaitingApproval: false,
    phases,
    cause: end.cause,
    predictedBreachAt: ctx.predictedBreachAt,
    reason: end.reason,
  };
}

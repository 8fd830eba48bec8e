import type { PhaseResult } from '../../../domain/decision.js';
import type { DecisionParams } from '../decision-params.js';
import { checkGuardrails, type GuardrailVerdict } from '../guardrails.js';
import type { Phase } from './context.js';
import { namedPrevious } from './evidence-text.js';
import { scopeOf } from './workflow-input.js';

/**
 * 7. Human approval: the guardrails say what the proposal may be and whether the seed's rule asks
 * for a person; `execution.approval` says whether a person approves everything (`human`), what the
 * rule asks (`guardrails`) or nothing (`auto`).
 */
export const humanApproval: Phase<'human_approval'> = (ctx) => {
  const { w, inc, action, targets, cause } = ctx;
  const touches = action === 'shift_traffic' ? [inc.stack, ...targets.ok] : [inc.stack];
  const g = checkGuardrails(
    { action, scope: scopeOf(inc), percent: action === 'shift_traffic' ? targets.percent : 0, touches },
    w.guardrails,
    w.now,
    w.config.guardrails,
    w.isPrimary,
  );
  ctx.guard = g;
  // A rollback to a version Harbinger inferred, or to one nobody named (phase 5's rollback_unnamed), is a human's call.
  const inferredFrom = action === 'rollback' ? cause?.attributes['previousVersionFrom'] : undefined;
  const inferred =
    typeof inferredFrom === 'string'
      ? `rollback target ${String(namedPrevious(cause!))} inferred from ${inferredFrom}: human approval required`
      : action === 'rollback' && namedPrevious(cause!) === undefined
        ? `rollback target not named by ${cause!.id}: human approval required`
        : undefined;
  const a = approvalOf(g, w.config.execution.approval, inferred);
  ctx.requiresApproval = a.requiresApproval;
  ctx.awaitingApproval = a.awaitingApproval;
  ctx.executable = a.executable;
  return { result: a.result, code: a.code, evidence: a.evidence };
};

export interface ApprovalVerdict {
  requiresApproval: boolean;
  awaitingApproval: boolean;
  executable: boolean;
  result: PhaseResult;
  code: 'not_required' | 'auto_approved' | 'awaiting_human';
  evidence: string;
}

/**
 * Who approves, from the guardrails' verdict and `execution.approval`; `mustAsk`: one more reason a
 * person must approve (said in the evidence). Shared by the ITR workflow and the look-ahead, so a
 * pre-emptive action is approved exactly as a mitigation is.
 */
export function approvalOf(g: GuardrailVerdict, mode: DecisionParams['execution']['approval'], mustAsk?: string): ApprovalVerdict {
  const notes = mustAsk !== undefined ? [...g.notes, mustAsk] : [...g.notes];
  if (mode === 'human') notes.push('every mitigation waits for a human (execution.approval: human)');
  const requiresApproval = mode === 'human' || g.requiresApproval || mustAsk !== undefined;
  const awaitingApproval = requiresApproval && mode !== 'auto';
  const executable = g.blockedBy === null && !awaitingApproval;
  const base = { requiresApproval, awaitingApproval, executable };
  if (!requiresApproval)
    return {
      ...base,
      result: 'skip',
      code: 'not_required',
      evidence: `not required (execution.approval: ${mode})${notes.length > 0 ? `: ${notes.join('; ')}` : ''}`,
    };
  if (mode === 'auto')
    return {
      ...base,
      result: 'pass',
      code: 'auto_approved',
      evidence: `${notes.length > 0 ? `${notes.join('; ')}; ` : ''}auto-approved (execution.approval: auto)`,
    };
  return { ...base, result: 'pending', code: 'awaiting_human', evidence: `${notes.join('; ')}; awaiting a human decision` };
}

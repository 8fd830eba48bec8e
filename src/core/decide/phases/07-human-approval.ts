import { checkGuardrails } from '../guardrails.js';
import type { Phase } from './context.js';
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
  const mode = w.config.execution.approval;
  // A rollback to a version Harbinger inferred (the deployment event did not name it) is a human's call.
  const inferredFrom = action === 'rollback' ? cause?.attributes['previousVersionFrom'] : undefined;
  const notes =
    typeof inferredFrom === 'string'
      ? [...g.notes, `rollback target ${String(cause!.attributes['previousVersion'])} inferred from ${inferredFrom}: human approval required`]
      : [...g.notes];
  if (mode === 'human') notes.push('every mitigation waits for a human (execution.approval: human)');
  ctx.requiresApproval = mode === 'human' || g.requiresApproval || typeof inferredFrom === 'string';
  ctx.awaitingApproval = ctx.requiresApproval && mode !== 'auto';
  ctx.executable = g.blockedBy === null && !ctx.awaitingApproval;
  if (!ctx.requiresApproval)
    return { result: 'skip', code: 'not_required', evidence: `not required (execution.approval: ${mode})${notes.length > 0 ? `: ${notes.join('; ')}` : ''}` };
  if (mode === 'auto')
    return { result: 'pass', code: 'auto_approved', evidence: `${notes.length > 0 ? `${notes.join('; ')}; ` : ''}auto-approved (execution.approval: auto)` };
  return { result: 'pending', code: 'awaiting_human', evidence: `${notes.join('; ')}; awaiting a human decision` };
};

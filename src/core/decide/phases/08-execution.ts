import type { Phase } from './context.js';
import { describeAction } from './evidence-text.js';

/** 8. Execution: blocked by a guardrail, waiting for approval, or ready to go to the routing controller. */
export const execution: Phase<'execution'> = ({ guard, awaitingApproval, action, inc, targets, cause }) => {
  const g = guard!;
  if (g.blockedBy !== null) return { result: 'fail', code: 'blocked', evidence: `blocked by ${g.blockedBy}: ${g.notes.join('; ')}` };
  if (awaitingApproval) return { result: 'pending', code: 'awaiting_approval', evidence: 'waits for approval' };
  return { result: 'pass', code: 'ready', evidence: describeAction(action, inc.stack, g.percent, targets.ok, cause) };
};

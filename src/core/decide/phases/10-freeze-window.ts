import type { Phase } from './context.js';
import { scopeOf } from './workflow-input.js';

/** 10. Freeze window: no new action on the scope for a while after this one executes. */
export const freezeWindow: Phase<'freeze_window'> = ({ w, inc, executable, awaitingApproval }) => ({
  result: executable || awaitingApproval ? 'pending' : 'skip',
  code: executable || awaitingApproval ? 'scheduled' : 'not_reached',
  evidence: `no new action on ${scopeOf(inc)} for ${w.config.guardrails.freezeMinutes} min after execution`,
});

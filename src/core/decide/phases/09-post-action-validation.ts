import type { Phase } from './context.js';

/** 9. Post-action validation: scheduled for after execution (the decision engine reports it then). */
export const postActionValidation: Phase<'post_action_validation'> = ({ w, inc, executable, awaitingApproval }) => ({
  result: executable || awaitingApproval ? 'pending' : 'skip',
  code: executable || awaitingApproval ? 'scheduled' : 'not_reached',
  evidence: `re-checks ${inc.stack}'s SLO metrics ${w.config.execution.validationMinutes} min after execution`,
});

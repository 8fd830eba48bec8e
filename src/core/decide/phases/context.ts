import type { ActionKind, CauseRecord, Incident, PhaseCodeOf, PhaseName, PhaseResult } from '../../../domain/decision.js';
import type { ContextEvent } from '../../../domain/types.js';
import type { GuardrailVerdict } from '../guardrails.js';
import type { HealthyTargets } from './healthy-targets.js';
import type { Situation } from './situation.js';
import type { WorkflowInput } from './workflow-input.js';

/**
 * What the phases share while one evaluation runs: the input, the situation gathered up front,
 * and what earlier phases concluded (the cause, the action, its targets, the guardrails' verdict).
 */
export interface WorkflowContext extends Situation {
  w: WorkflowInput;
  inc: Incident;
  /** The change correlated with the episode on this stack (phase 3). */
  cause: ContextEvent | undefined;
  causeRecord: CauseRecord;
  /** The mitigation chosen (phase 5) and the peers that can take a shift. */
  action: ActionKind;
  targets: HealthyTargets;
  /** What puts an SLO at risk, one entry each (phase 6). */
  sloRisk: string[];
  /** The guardrails' verdict and who must approve (phase 7). */
  guard: GuardrailVerdict | undefined;
  requiresApproval: boolean;
  awaitingApproval: boolean;
  executable: boolean;
}

/** The workflow ends here: no mitigation (or none yet), with the reason and what caused the episode. */
export interface WorkflowEnd {
  action: ActionKind;
  reason: string;
  cause: CauseRecord;
}

export interface PhaseOutcome<N extends PhaseName> {
  result: PhaseResult;
  code: PhaseCodeOf<N>;
  /** One line a human can read at 3 a.m., with the numbers. */
  evidence: string;
  end?: WorkflowEnd;
}

/** One ITR phase: reads the context (and may add to it), says what it found. */
export type Phase<N extends PhaseName> = (ctx: WorkflowContext) => PhaseOutcome<N>;

export const UNKNOWN_CAUSE: CauseRecord = { kind: 'unknown', reason: 'no correlated change: fault of the stack itself (capacity, dependency, infrastructure)' };

/**
 * What the decision core is parameterized by, declared here, by the core: the configuration
 * (`config/decision.ts`, validated with zod, where each field's default and meaning are written)
 * must satisfy it, and the compiler checks that it does.
 */
export interface DecisionParams {
  stacks: Record<string, { primary: boolean; capacityUnits?: number | undefined; provisionedPercent?: number | undefined }>;
  correlation: { causeWindowMinutes: number; explainMarginMinutes: number; warmUpAllowanceMinutes: number; globalTailMinutes: number };
  incident: { resolveAfterMinutes: number; staleAfterMinutes: number };
  guardrails: {
    maxShiftPercent: number;
    shiftIntervalMinutes: number;
    approvalAbovePercent: number;
    freezeMinutes: number;
    approvalTimeoutMinutes: number;
    maxTargetSaturation: number;
    healthyScore: number;
  };
  confidence: { minimum: number };
  predictive: { enabled: boolean; leadMinutes?: number | undefined; actions: ('pre_scale' | 'pre_route')[] };
  rolloutGate: { minPoints: number; businessTolerance: number };
  execution: { approval: 'human' | 'guardrails' | 'auto'; validationMinutes: number; actionsReachData: boolean };
}

import { z } from 'zod';
import type { DecisionParams } from '../core/decide/decision-params.js';

/**
 * Decision configuration: correlation windows, guardrails (defaults from seed 004 section 12),
 * confidence and approval. Units are in the names.
 */
export const decisionConfigSchema = z.strictObject({
  stacks: z
    .record(
      z.string(),
      z.strictObject({
        /** A primary production stack: any action touching it needs a human. */
        primary: z.boolean().default(false),
        /**
         * The capacity the stack runs now in your units (instances, pods, vCPUs): a `pre_scale`
         * then names the target in them too (`targetUnits`), not only as a multiple.
         */
        capacityUnits: z.number().positive().optional(),
        /**
         * The share of the service's traffic (%) the stack is provisioned to serve, when that is
         * not what it carries: a blue/green standby holding 2 % while sized for all of it (100). A
         * shift may then move onto it up to this share, while its saturation is under the limit,
         * instead of projecting its idle saturation with its small share. Absent: the projection.
         */
        provisionedPercent: z.number().gt(0).max(100).optional(),
      }),
    )
    .default({}),
  correlation: z
    .strictObject({
      /** A deployment or config change this long before an episode is a candidate cause. */
      causeWindowMinutes: z.number().positive().default(60),
      /** Explaining events (perf test, campaign, chaos, maintenance) count this long around the episode. */
      explainMarginMinutes: z.number().nonnegative().default(10),
      /**
       * Latency on a stack that just gained traffic is cold-cache warm-up for this long; so is a
       * latency forecast for this long after a correlated change's rollout ended, unless the breach
       * it forecasts comes sooner (new pods warm their caches and JIT too).
       */
      warmUpAllowanceMinutes: z.number().positive().default(20),
      /** A local verdict this soon after the same metric was global is the tail of the global episode. */
      globalTailMinutes: z.number().nonnegative().default(30),
    })
    .prefault({}),
  incident: z
    .strictObject({
      /** An incident resolves after this long with every one of its series recovered. */
      resolveAfterMinutes: z.number().positive().default(15),
      /**
       * Health older than this is stale: it cannot clear a target and it lowers confidence. A stack
       * that reports more slowly (a five-minute scrape) is stale after two of its own intervals.
       */
      staleAfterMinutes: z.number().positive().default(3),
    })
    .prefault({}),
  guardrails: z
    .strictObject({
      maxShiftPercent: z.number().positive().max(100).default(20),
      shiftIntervalMinutes: z.number().positive().default(15),
      /** Approval is required above this shift, or for any action touching a primary stack. */
      approvalAbovePercent: z.number().nonnegative().default(20),
      freezeMinutes: z.number().nonnegative().default(30),
      /** An action waiting for approval longer than this expires. */
      approvalTimeoutMinutes: z.number().positive().default(30),
      /**
       * A target's saturation, scaled by the traffic it would take on, must stay below this (the
       * saturation SLO gate). Conservative: it scales every capacity metric, even memory.
       */
      maxTargetSaturation: z.number().positive().default(0.9),
      /** A target is healthy when none of its signals scores above this. */
      healthyScore: z.number().nonnegative().default(3),
    })
    .prefault({}),
  confidence: z
    .strictObject({
      /** Below this the workflow recommends `observe` rather than a mitigation. */
      minimum: z.number().min(0).max(1).default(0.55),
    })
    .prefault({}),
  /**
   * Predictive operations (seed section 14.1): scheduled events with an expected traffic multiplier
   * are forecast against each stack's saturation gates before they begin.
   */
  predictive: z
    .strictObject({
      enabled: z.boolean().default(true),
      /**
       * How long before a scheduled event begins its recommendation is made. Unset: the approval
       * window plus the validation time (`guardrails.approvalTimeoutMinutes` +
       * `execution.validationMinutes`, 40 min by default), so a person answering at the last moment
       * still leaves the action time to take before the event.
       */
      leadMinutes: z.number().positive().optional(),
      /**
       * What may be proposed, in order of preference: the first that covers the whole need is
       * proposed. A pre-route covers it when the peers' headroom takes the traffic within one
       * guardrail step (`guardrails.maxShiftPercent`). Behind a controller that cannot add
       * capacity (HAProxy), list only `pre_route`: the largest pre-route the peers allow is then
       * proposed and the capacity still missing is stated.
       */
      actions: z
        .array(z.enum(['pre_scale', 'pre_route']))
        .min(1)
        .refine((a) => new Set(a).size === a.length, { message: 'lists an action twice' })
        .default(['pre_scale', 'pre_route']),
    })
    .prefault({}),
  /** The progressive-delivery gate (GET /v1/gate, Flagger's webhooks, Argo Rollouts' web metric). */
  rolloutGate: z
    .strictObject({
      /** Points each gated series of the new version needs since the step began before any verdict. */
      minPoints: z.number().int().positive().default(5),
      /** Business per unit of traffic share this much below the old version's is a regression. */
      businessTolerance: z.number().gt(0).lt(1).default(0.05),
    })
    .prefault({}),
  execution: z
    .strictObject({
      /**
       * Who approves a mitigation. `human`: every one waits for a person (what `serve` runs unless
       * told otherwise: a live service fails closed). `guardrails`: the seed's rule, a person
       * approves shifts above `approvalAbovePercent`, anything touching a primary stack and any
       * rollback to an inferred version; the rest executes at once. `auto`: everything executes
       * (replays and evaluations, the default outside `serve`).
       */
      approval: z.enum(['human', 'guardrails', 'auto']).optional(),
      /** Older spelling: `true` is `approval: auto`, `false` is `approval: human`. */
      autoApprove: z.boolean().optional(),
      /** Post-action validation looks at the delta stack this long after execution. */
      validationMinutes: z.number().positive().default(10),
      /**
       * Whether an executed action changes the data Harbinger reads. False in a replay of recorded
       * data and behind the dry-run controller (both set it themselves): nothing moved, so the data
       * cannot show an effect, validation is inconclusive and no revert is proposed.
       */
      actionsReachData: z.boolean().default(true),
    })
    .refine((e) => e.approval === undefined || e.autoApprove === undefined || (e.approval === 'auto') === e.autoApprove, {
      message: 'contradicts autoApprove: set one of them',
      path: ['approval'],
    })
    .transform(({ autoApprove, approval, ...rest }) => ({ ...rest, approval: approval ?? (autoApprove === false ? ('human' as const) : ('auto' as const)) }))
    .prefault({}),
});

export type DecisionConfig = z.infer<typeof decisionConfigSchema>;

/** The core declares what it is parameterized by (core/decide/decision-params.ts): this stops compiling when the schema no longer gives it. */
export const asDecisionParams = (config: DecisionConfig): DecisionParams => config;

/** The same configuration with `execution.actionsReachData` set (config objects are frozen). */
export function withActionsReachingData<C extends { decision: DecisionConfig }>(config: C, reach: boolean): C {
  if (config.decision.execution.actionsReachData === reach) return config;
  return { ...config, decision: { ...config.decision, execution: { ...config.decision.execution, actionsReachData: reach } } };
}

import type { SeriesState, Tally } from '../core/detection/series-state.js';
import { judgeRollout, rolloutGateInput, tallySnapshot, type GateParams, type GateVerdict } from '../core/gate/rollout-gate.js';
import { MS_PER_MIN as MIN } from '../core/time-units.js';
import type { ContextEvent, Sample } from '../domain/types.js';
import type { Truth } from './truth.js';

/**
 * The rollout gate on the fixtures (issue 16): every deployment in a replay is a rollout the gate
 * is asked about, as Flagger or Argo Rollouts would ask it, every `GATE_CHECK_MINUTES` after the new
 * version is up, with the same inputs the HTTP port builds (the stack's series against the
 * service's other stacks, the step beginning when the gate is first asked, the step being the
 * stack's traffic percent from the last traffic shift). Asking stops at the first `rollback`
 * verdict (the rollout is rolled back), at a rollback event for the stack, or after
 * `GATE_CHECK_HORIZON_MINUTES`.
 *
 * Scored against the truth: a deployment that is an incident's cause must get `rollback` before the
 * incident's SLO breach; any other deployment must never get it.
 */

export const GATE_CHECK_MINUTES = 5;
export const GATE_CHECK_HORIZON_MINUTES = 90;

export interface GateCheck {
  /** Minutes after the step began (the new version up). */
  minutes: number;
  at: number;
  verdict: GateVerdict;
  /** The first reason with the verdict's own verdict: `metric: detail`. */
  reason: string;
}

export interface RolloutScore {
  deployId: string;
  service: string;
  stack: string;
  /** The stack's traffic percent when it was deployed (the gate's `step`). */
  step: number | undefined;
  /** When the step began (the deployment's end, the new version up), epoch ms. */
  since: number;
  /** The deployment is an incident's cause. */
  bad: boolean;
  /** That incident's SLO breach, epoch ms (bad only). */
  sloBreachAt: number | null;
  checks: GateCheck[];
  /** Minutes after the step began of the first `rollback` verdict (null: never). */
  rollbackMinutes: number | null;
  /** Minutes from it to the SLO breach (positive: before; bad only). */
  rollbackLeadMinutes: number | null;
}

interface Open {
  score: RolloutScore;
  next: number;
  until: number;
  /** The service's business sums when the step began: taken once event time passes `since`. */
  start?: Map<string, Tally>;
}

/** Watches a replay's inputs in file order and asks the gate at each check time. */
export class RolloutGateEval {
  private weights: Record<string, number> = {};
  private readonly open: Open[] = [];
  readonly rollouts: RolloutScore[] = [];

  constructor(
    private readonly truth: Truth,
    private readonly params: GateParams,
    private readonly series: () => Iterable<SeriesState>,
  ) {}

  /** Call before the pipeline is offered `x`: the gate reads the state of everything before it. */
  before(x: Sample | ContextEvent): void {
    this.checkUntil(x.ts);
    if (!('kind' in x)) return;
    if (x.kind === 'traffic_shift') {
      const w = x.attributes['weights'];
      if (typeof w === 'object' && w !== null) this.weights = { ...(w as Record<string, number>) };
    } else if (x.kind === 'deployment' && x.stack !== undefined && x.service !== undefined) {
      this.close(x.service, x.stack);
      const incident = this.truth.incidents.find((i) => i.causeEventId === x.id);
      const since = x.endTs ?? x.ts;
      const step = this.weights[x.stack];
      const score: RolloutScore = {
        deployId: x.id,
        service: x.service,
        stack: x.stack,
        step: typeof step === 'number' ? step : undefined,
        since,
        bad: incident !== undefined,
        sloBreachAt: incident === undefined ? null : Date.parse(incident.sloBreachAt),
        checks: [],
        rollbackMinutes: null,
        rollbackLeadMinutes: null,
      };
      this.rollouts.push(score);
      this.open.push({ score, next: since + GATE_CHECK_MINUTES * MIN, until: since + GATE_CHECK_HORIZON_MINUTES * MIN });
    } else if (x.kind === 'rollback' && x.stack !== undefined && x.service !== undefined) {
      this.close(x.service, x.stack);
    }
  }

  private close(service: string, stack: string): void {
    for (let i = this.open.length - 1; i >= 0; i--) {
      const o = this.open[i]!;
      if (o.score.service === service && o.score.stack === stack) this.open.splice(i, 1);
    }
  }

  private checkUntil(ts: number): void {
    for (let i = this.open.length - 1; i >= 0; i--) {
      const o = this.open[i]!;
      let done = false;
      if (o.start === undefined && ts >= o.score.since) o.start = tallySnapshot(this.series(), o.score.service);
      while (!done && o.next <= ts && o.next <= o.until) {
        const s = o.score;
        const j = judgeRollout(rolloutGateInput(this.series(), s, s.since, o.start ?? new Map()), this.params);
        const first = j.reasons.find((r) => r.verdict === j.verdict) ?? j.reasons[0]!;
        const minutes = (o.next - s.since) / MIN;
        s.checks.push({ minutes, at: o.next, verdict: j.verdict, reason: `${first.metric}: ${first.detail}` });
        if (j.verdict === 'rollback') {
          s.rollbackMinutes = minutes;
          s.rollbackLeadMinutes = s.sloBreachAt === null ? null : (s.sloBreachAt - o.next) / MIN;
          done = true;
        }
        o.next += GATE_CHECK_MINUTES * MIN;
      }
      if (done || o.next > o.until) this.open.splice(i, 1);
    }
  }
}

/** A bad rollout caught in time: `rollback` before its SLO breach. */
export function rolledBackBeforeBreach(r: RolloutScore): boolean {
  return r.bad && r.rollbackLeadMinutes !== null && r.rollbackLeadMinutes > 0;
}

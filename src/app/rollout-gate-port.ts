import type { HarbingerConfig } from '../config/load.js';
import { judgeRollout, rolloutGateInput, rolloutGateParams, tallySnapshot } from '../core/gate/rollout-gate.js';
import type { Tally } from '../core/detection/series-state.js';
import type { FileAuditLog } from '../adapters/file/audit-log.js';
import type { RolloutAnswer } from '../adapters/http/server.js';
import type { Logger } from '../adapters/log/logger.js';
import type { Runtime } from './runtime/runtime.js';
import type { AlertTrigger } from '../domain/decision.js';

/**
 * The rollout gate as the HTTP port asks it: the new version's stack of `service` against its
 * peers since this step began (the first time the gate is asked about it). Every verdict goes to
 * the audit log.
 */
export class RolloutGatePort {
  /**
   * When each rollout step (service|stack|step) was first asked about, and its business sums then:
   * its sample starts there. In memory: after a restart a step's sample starts again (a hold, never
   * a verdict on less data than the minimum).
   */
  private readonly steps = new Map<string, { since: number; start: Map<string, Tally> }>();

  constructor(
    private readonly cfg: HarbingerConfig,
    private readonly runtime: () => Runtime,
    private readonly audit: FileAuditLog,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  answer(q: { service: string; stack: string; step: number | undefined; caller: string }): RolloutAnswer {
    const eventTime = this.runtime().maxEventTime();
    const now = Number.isFinite(eventTime) ? eventTime : this.now();
    const key = `${q.service}|${q.stack}|${q.step ?? ''}`;
    let step = this.steps.get(key);
    if (step === undefined) {
      step = { since: now, start: tallySnapshot(this.runtime().series(), q.service) };
      this.steps.set(key, step);
      if (this.steps.size > 1000) this.steps.delete(this.steps.keys().next().value!);
    }
    const since = step.since;
    const j = judgeRollout(rolloutGateInput(this.runtime().series(), q, since, step.start), rolloutGateParams(this.cfg));
    const answer: RolloutAnswer = {
      service: q.service,
      stack: q.stack,
      step: q.step ?? null,
      verdict: j.verdict,
      reasons: j.reasons,
      since: new Date(since).toISOString(),
    };
    try {
      this.audit.append(now, `gate.${j.verdict}`, q.caller, answer);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'audit log not written for a gate verdict');
    }
    if (j.verdict === 'rollback')
      this.raise(
        q,
        now,
        j.reasons.filter((r) => r.verdict === 'rollback').map((r) => `${r.metric}: ${r.detail}`),
      );
    return answer;
  }

  /**
   * A rollback verdict is also an ITR trigger on the new version's stack, as a firing alert would
   * be: it opens (or joins) the stack's incident and the workflow makes the usual recommendation,
   * through the same correlation, guardrails, approval and audit. One alert per step.
   */
  private raise(q: { service: string; stack: string; step: number | undefined }, now: number, reasons: string[]): void {
    const runtime = this.runtime();
    if (!runtime.decides()) return;
    const alert: AlertTrigger = {
      groupKey: 'harbinger-rollout-gate',
      fingerprint: `gate-${q.service}-${q.stack}-${q.step ?? 'na'}`,
      status: 'firing',
      name: 'RolloutGateRollback',
      startsAt: now,
      endsAt: null,
      service: q.service,
      stack: q.stack,
      signal: 'reliability',
      labels: { alertname: 'RolloutGateRollback', reasons: reasons.join('; ').slice(0, 1000) },
    };
    const failed = (err: Error): void =>
      this.log.error({ err: err.message, service: q.service, stack: q.stack }, 'rollout gate: the rollback verdict could not be raised as a trigger');
    new Promise((resolve) => resolve(runtime.exclusive(() => runtime.alert(alert, now)))).catch(failed);
  }
}

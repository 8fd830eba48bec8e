import type { ContextEvent } from '../../domain/types.js';
import type { Recommendation } from '../../domain/decision.js';
import type { FileAuditLog } from '../../adapters/file/audit-log.js';
import type { RoutingController } from '../../adapters/routing/routing-controller.js';
import type { Logger } from '../../adapters/log/logger.js';
import type { Runtime } from '../runtime/runtime.js';
import type { DecisionSink } from './decision-sink.js';

/**
 * Executed recommendations go to the routing controller; its answer goes to the audit log and
 * back to the decision engine (a failed action is not in flight, frozen or validated), and an
 * applied traffic split goes back to detection, which judges business metrics per traffic share.
 */
export function routingSink(
  routing: RoutingController,
  audit: FileAuditLog,
  runtime: () => Runtime,
  clock: () => number,
  log: Logger,
): DecisionSink & { execute(rec: Recommendation): Promise<void>; oldestUnanswered(): number | undefined } {
  /**
   * Calls in flight, by recommendation: the audit sequence number of its `recommendation.executed`
   * entry (the audit sink runs first, so the log's head is that entry when the call starts). A
   * checkpoint must not anchor the audit log past them: after a crash they are sent again.
   */
  const unanswered = new Map<string, number>();
  const failed = (rec: Recommendation, detail: string): void => runtime().executionFailed(rec.id, detail, clock());
  // The controller already answered: a full disk must not turn its answer into a crash.
  const record = (ts: number, kind: string, payload: Record<string, unknown>): void => {
    try {
      audit.append(ts, kind, routing.name, payload);
    } catch (err) {
      log.error({ kind, err: (err as Error).message, ...payload }, 'audit log not written');
    }
  };
  const execute = async (rec: Recommendation): Promise<void> => {
    if (!unanswered.has(rec.id)) unanswered.set(rec.id, audit.head.seq);
    try {
      const r = await routing.apply(rec);
      record(rec.ts, r.ok ? 'execution.applied' : 'execution.failed', {
        recommendationId: rec.id,
        detail: r.detail,
        ...(r.weights !== undefined ? { weights: r.weights } : {}),
      });
      if (!r.ok) {
        log.error({ recommendation: rec.id, controller: routing.name, detail: r.detail }, 'routing controller did not apply the action');
        failed(rec, r.detail);
      }
      if (r.ok && r.weights !== undefined) {
        const shift: ContextEvent = {
          ts: Math.max(rec.ts, runtime().maxEventTime()),
          kind: 'traffic_shift',
          id: `${rec.id}-applied`,
          service: rec.service,
          attributes: { weights: r.weights, recommendationId: rec.id },
        };
        Promise.resolve(runtime().announce(shift)).catch((err: Error) =>
          log.error(
            { recommendation: rec.id, err: err.message },
            'announcing the applied traffic split failed; business metrics are judged by the old split until the next one',
          ),
        );
      }
    } catch (err) {
      record(rec.ts, 'execution.failed', { recommendationId: rec.id, detail: (err as Error).message });
      log.error({ recommendation: rec.id, err: (err as Error).message }, 'routing controller failed');
      failed(rec, (err as Error).message);
    } finally {
      unanswered.delete(rec.id);
    }
  };
  return {
    name: `routing:${routing.name}`,
    decision: (e) => {
      if (e.type === 'recommendation' && e.status === 'executed') void execute(e);
    },
    execute,
    oldestUnanswered: () => {
      let oldest: number | undefined;
      for (const seq of unanswered.values()) if (oldest === undefined || seq < oldest) oldest = seq;
      return oldest;
    },
  };
}

import type { AuditEntry } from '../core/audit/hash-chain.js';
import type { DecisionEvent, Recommendation } from '../domain/decision.js';
import type { Logger } from '../adapters/log/logger.js';
import { auditKind } from '../report/audit-kind.js';
import type { PersistenceHealth } from './persistence-health.js';
import type { DecisionSink } from './sinks/decision-sink.js';

/**
 * Hands every decision made on this instance to the sinks, in order, the audit log first. When a
 * sink fails the later ones do not run: nothing is executed that was not audited (an executed
 * recommendation is reported back as failed), and ingest stops acknowledging data until the audit
 * log can be written again. After a crash, decisions made again that the audit log already holds
 * (audited since the checkpointed head) are not delivered twice.
 */
export class DecisionDelivery {
  private readonly delivered: Set<string>;

  constructor(
    private readonly sinks: readonly DecisionSink[],
    /** What the audit log holds since the last checkpoint. */
    private readonly auditedSince: readonly AuditEntry[],
    private readonly health: PersistenceHealth,
    private readonly log: Logger,
    /** An executed recommendation the audit log refused: report it failed to the decision engine. */
    private readonly notExecuted: (id: string, reason: string) => void,
  ) {
    this.delivered = new Set(auditedSince.map(auditedDecisionKey));
  }

  deliver(e: DecisionEvent, replayed = false): void {
    if (replayed && this.delivered.has(decisionKey(e))) return;
    for (const sink of this.sinks) {
      try {
        sink.decision(e);
      } catch (err) {
        const reason = `the ${sink.name} sink cannot write: ${(err as Error).message}`;
        this.log.error({ sink: sink.name, decision: e.type, err: (err as Error).message }, 'decision not delivered; later sinks skipped');
        if (sink.name === 'audit') {
          this.health.failed('audit', reason);
          if (e.type === 'recommendation' && e.status === 'executed') queueMicrotask(() => this.notExecuted(e.id, `not executed: ${reason}`));
        }
        return;
      }
    }
    this.health.succeeded('audit');
  }

  /**
   * After the runtime's recovery: executed actions whose controller call left no answer in the
   * audit log, to be sent again under the same idempotency key (the recommendation id). The
   * dedupe of replayed decisions ends here.
   */
  unansweredExecutions(lookup: (id: string) => Recommendation | undefined): Recommendation[] {
    const answered = new Set(
      this.auditedSince
        .filter((e) => e.kind === 'execution.applied' || e.kind === 'execution.failed')
        .map((e) => (e.payload as { recommendationId?: string }).recommendationId),
    );
    const out: Recommendation[] = [];
    for (const e of this.auditedSince) {
      if (e.kind !== 'recommendation.executed') continue;
      const id = (e.payload as { id?: string }).id;
      const rec = id !== undefined && !answered.has(id) ? lookup(id) : undefined;
      if (rec?.status === 'executed') out.push(rec);
    }
    this.delivered.clear();
    return out;
  }

  async close(): Promise<void> {
    for (const s of this.sinks) await s.close?.();
  }
}

/** What identifies a decision in the audit log: its kind and the id of what it is about. */
function decisionKey(e: DecisionEvent): string {
  const id = e.type === 'recommendation' ? e.id : e.type === 'outcome' ? e.recommendationId : e.incident.id;
  return `${auditKind(e)}|${id}`;
}

function auditedDecisionKey(entry: AuditEntry): string {
  const p = entry.payload as { id?: string; recommendationId?: string; incident?: { id?: string } };
  const id = entry.kind.startsWith('recommendation.') ? p.id : entry.kind.startsWith('outcome.') ? p.recommendationId : p.incident?.id;
  return `${entry.kind}|${id ?? ''}`;
}

import type { DecisionEvent } from '../../domain/decision.js';

/**
 * One consumer of the decisions `serve` makes (audit log, JSONL feed, Slack, routing controller,
 * training log, metrics). The service hands each decision to every sink in order; the audit sink
 * comes first, so a decision is on disk before anything acts on it.
 */
export interface DecisionSink {
  readonly name: string;
  decision(e: DecisionEvent): void;
  /** Flush and release (stop). */
  close?(): Promise<void>;
}

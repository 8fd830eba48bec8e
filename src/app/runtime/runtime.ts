import type { DecisionEngine } from '../../core/decide/decision-engine.js';
import type { SeriesState } from '../../core/detection/series-state.js';
import type { ServiceMetrics } from '../../adapters/http/metrics.js';
export type { IngestResult } from '../../adapters/http/server.js';
import type { ContextEvent, Sample } from '../../domain/types.js';
import type { AlertTrigger, DecisionResult } from '../../domain/decision.js';

/** What a runtime kept of one batch (late: behind the watermark, not kept). */
export interface Kept {
  samples: number;
  events: number;
  late: number;
}

/**
 * Where `harbinger serve` runs the pipeline: in this process (embedded, file checkpoints) or
 * spread over a Kafka consumer group (shards per partition, one decider, state on topics). The
 * service talks to a runtime only through this; each runtime owns its engines and its state.
 */
export interface Runtime {
  readonly kind: 'embedded' | 'kafka';
  /** The decision engine this instance decides with (on Kafka: while it holds the decider). */
  readonly decision: DecisionEngine;
  /** Where the state came from at start, for the start log and /readyz. */
  readonly restoredFrom: string;
  /** Why the runtime stopped for good (the process should be restarted), if it did. */
  readonly failure: string | undefined;
  /** After a crash: apply what was acknowledged but not yet checkpointed (embedded: the write-ahead log). Before start. */
  recover(): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** After the final checkpoint: files the runtime holds open are closed. */
  close(): void;
  /** Keep samples and events; resolves once they are kept (processed here, or on the broker). */
  ingest(samples: Sample[], events: ContextEvent[]): Kept | Promise<Kept>;
  /** An Alertmanager alert as a trigger (call inside `exclusive`). */
  alert(alert: AlertTrigger, ts: number): 'accepted' | 'duplicate' | 'limited';
  /** A human's approve/reject (call inside `exclusive`). */
  decide(id: string, verdict: 'approve' | 'reject', by: string, ts: number): DecisionResult;
  /** The routing controller did not carry out an executed recommendation. */
  executionFailed(id: string, detail: string, ts: number): void;
  /** Whether this instance makes decisions now (always, embedded). */
  decides(): boolean;
  /** Run `fn` against the decision engine, serialized with the decisions the data drives. */
  exclusive<T>(fn: () => T): T | Promise<T>;
  /** A human's decision was applied: make it durable now rather than at the next checkpoint. */
  afterHumanDecision(): void;
  /** Tell detection that the traffic split changed (an action was applied). */
  announce(event: ContextEvent): void | Promise<void>;
  /** The latest event time seen (an event stamped earlier may already count as late). */
  maxEventTime(): number;
  /** Every series this instance scores (gate coverage, the series gauge). */
  series(): Iterable<SeriesState>;
  /** Wall-clock tick: move event time on a quiet source, refresh gauges. */
  tick(now: number, metrics: ServiceMetrics): void;
  /** Persist state (embedded: a file, streamed; Kafka checkpoints to its state topic by itself). Rejects when it cannot. */
  /** The samples there is series room for (limits.maxSeries), and how many were refused; absent: no edge check (Kafka: the series live in the shards). */
  withinSeriesLimit?(samples: Sample[]): { kept: Sample[]; refused: number; limit: number };
  /**
   * `final`: at shutdown, after one already being written, write another that holds everything.
   * `onBegin` runs at the instant the state is snapshotted (what else is checkpointed with it,
   * the audit head, must be taken then: decisions made while the state is written are not in it).
   * Resolves false when skipped (one is already being written).
   */
  checkpoint(now: number, metrics: ServiceMetrics, final?: boolean, onBegin?: () => void): Promise<boolean>;
}

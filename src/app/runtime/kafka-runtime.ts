import { LabelMapper } from '../../adapters/mapping/label-mapper.js';
import type { HarbingerConfig } from '../../config/load.js';
import { DecisionEngine } from '../../core/decide/decision-engine.js';
import type { SeriesState } from '../../core/detection/series-state.js';
import type { ContextEvent, Sample } from '../../domain/types.js';
import type { AlertTrigger, DecisionResult } from '../../domain/decision.js';
import { KafkaRunner } from '../../adapters/kafka/kafka-runner.js';
import type { ServiceMetrics } from '../../adapters/http/metrics.js';
import type { Logger } from '../../adapters/log/logger.js';
import type { KafkaConfig } from '../../adapters/kafka/config.js';
import type { RuntimeHooks } from './embedded-runtime.js';
import type { Kept, Runtime } from './runtime.js';

/**
 * One instance of a Kafka consumer group: detection per partition in the runner's shards, and a
 * decision engine that decides while this instance holds the decider (its output goes out through
 * the runner, which acts on a decision once and publishes it). State lives on the topics.
 */
export class KafkaRuntime implements Runtime {
  readonly kind = 'kafka' as const;
  readonly decision: DecisionEngine;
  readonly restoredFrom = 'the Kafka state topic (or fresh)';
  private readonly runner: KafkaRunner;
  private seen = { rebalances: 0, deadLetters: 0, messages: 0, suppressed: 0 };

  constructor(
    cfg: HarbingerConfig & { kafka: KafkaConfig },
    private readonly log: Logger,
    hooks: RuntimeHooks,
    now: () => number,
  ) {
    this.decision = new DecisionEngine(
      cfg.decision,
      { warnScore: cfg.detection.threshold.warnScore, horizonMinutes: cfg.detection.prediction.horizonMinutes },
      { decision: (e) => this.runner.collect(e) },
      undefined,
      cfg.limits,
    );
    this.runner = new KafkaRunner(cfg.kafka, cfg.detection, this.decision, log, {
      onDecision: (e) => hooks.onDecision(e, false),
      onRejected: (_r, reason) => hooks.onRejected(reason),
      now,
      maxSeries: cfg.limits.maxSeries,
      remoteWrite: {
        mapper: new LabelMapper(cfg.mapping),
        limits: {
          maxDecompressedBytes: cfg.server.maxDecompressedBytes,
          maxSeries: cfg.limits.remoteWriteMaxSeries,
          maxSamples: cfg.limits.remoteWriteMaxSamples,
        },
      },
    });
  }

  get failure(): string | undefined {
    return this.runner.failure;
  }

  /** The runner's counters (tests and the bench read them). */
  get stats(): KafkaRunner['stats'] {
    return this.runner.stats;
  }

  lag(): ReturnType<KafkaRunner['lag']> {
    return this.runner.lag();
  }

  /** The state topic and committed offsets are the durable log on Kafka: the runner resumes from them. */
  recover(): void {}

  start(): Promise<void> {
    return this.runner.start();
  }

  alert(alert: AlertTrigger, ts: number): 'accepted' | 'duplicate' | 'limited' {
    return this.decision.onAlert(alert, ts);
  }

  decide(id: string, verdict: 'approve' | 'reject', by: string, ts: number): DecisionResult {
    return verdict === 'approve' ? this.decision.approve(id, by, ts) : this.decision.reject(id, by, ts);
  }

  executionFailed(id: string, detail: string, ts: number): void {
    this.decision.onExecutionResult(id, false, detail, ts);
  }

  /** Nothing to close here: the broker keeps what this instance has not committed. */
  close(): void {}

  stop(): Promise<void> {
    return this.runner.stop();
  }

  /** Every sample must reach the partition that owns its series: answered once the broker has it. */
  async ingest(samples: Sample[], events: ContextEvent[]): Promise<Kept> {
    await this.runner.produce(samples, events);
    return { samples: samples.length, events: events.length, late: 0 };
  }

  decides(): boolean {
    return this.runner.decides();
  }

  exclusive<T>(fn: () => T): Promise<T> {
    return this.runner.exclusive(fn);
  }

  afterHumanDecision(): void {
    // A take-over must not forget a human's decision.
    this.runner.checkpointDecider().catch((err: Error) => this.log.error({ err: err.message }, 'kafka: decider checkpoint after a decision failed'));
  }

  announce(event: ContextEvent): Promise<void> {
    return this.runner.announce(event);
  }

  /** Detection runs in the shards; the decider's event time is what this instance knows. */
  maxEventTime(): number {
    return this.decision.currentTime();
  }

  series(): Iterable<SeriesState> {
    return this.runner.series();
  }

  /** Event time is the partitions' own (idle ones are handled by the runner): the wall clock only refreshes gauges. */
  tick(_now: number, metrics: ServiceMetrics): void {
    let n = 0;
    for (const _ of this.runner.series()) n++;
    metrics.series.set(n);
    const st = this.runner.stats;
    metrics.kafka.rebalances.inc(st.rebalances - this.seen.rebalances);
    metrics.kafka.deadLetters.inc(st.deadLetters - this.seen.deadLetters);
    metrics.kafka.messages.inc(st.messages - this.seen.messages);
    metrics.kafka.suppressed.inc(st.suppressed - this.seen.suppressed);
    this.seen = { rebalances: st.rebalances, deadLetters: st.deadLetters, messages: st.messages, suppressed: st.suppressed };
    metrics.kafka.assigned.set(st.assignedPartitions);
    metrics.kafka.decider.set(st.deciderActive ? 1 : 0);
    if (st.deciderWatermark !== null) metrics.kafka.deciderWatermark.set(st.deciderWatermark / 1000);
    this.runner.lag().then(
      (lags) => {
        for (const l of lags) metrics.kafka.lag.set({ topic: l.topic, partition: String(l.partition) }, l.lag);
      },
      (e: Error) => this.log.debug({ err: e.message }, 'kafka lag not available'),
    );
  }

  async checkpoint(_now: number, _metrics: ServiceMetrics, _final?: boolean, onBegin?: () => void): Promise<boolean> {
    onBegin?.();
    // The runner checkpoints to its state topic on its own schedule.
    return true;
  }
}

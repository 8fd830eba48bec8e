import { SampleBatcher } from './sample-batches.js';
import { RemoteWriteIngress, type RemoteWriteIngressStats } from './remote-write-ingress.js';
import type { LabelMapper } from '../mapping/label-mapper.js';
import type { Kafka, Producer } from 'kafkajs';
import type { SeriesState } from '../../core/detection/series-state.js';
import type { KafkaConfig } from './config.js';
import type { DetectionConfig } from '../../config/detection.js';
import type { ContextEvent, Sample } from '../../domain/types.js';
import type { DecisionEvent } from '../../domain/decision.js';
import type { DecisionEngine } from '../../core/decide/decision-engine.js';
import type { Logger } from '../log/logger.js';
import { ShardWorker } from './shard-worker.js';
import { DecisionWorker } from './decision-worker.js';
import { createKafka, endOffsets, sendChunked } from './topic-io.js';

export interface KafkaRunnerStats {
  /** Samples-topic messages processed by this instance's shards. */
  messages: number;
  deadLetters: number;
  /** Recommendations this instance published as the decider. */
  recommendations: number;
  checkpoints: number;
  lastCheckpointMs: number;
  rebalances: number;
  assignedPartitions: number;
  deciderActive: boolean;
  /** Decisions re-made after a take-over and found already published. */
  suppressed: number;
  /** Shard output delivered twice (a shard restored from an older checkpoint) and dropped. */
  duplicates: number;
  outOfOrder: number;
  /** The remote-write ingress's counts, when kafka.topics.remoteWrite is read. */
  remoteWrite?: RemoteWriteIngressStats;
  /** Decider only: the merged watermark (ms), null before all shards have reported. */
  deciderWatermark: number | null;
}

export interface KafkaRunnerHooks {
  /** Side effects of a decision made on this instance (audit, feed, Slack). */
  onDecision(e: DecisionEvent): void;
  onRejected?(record: Sample | ContextEvent, reason: string): void;
  /** The wall clock (checkpoint intervals, idle detection); injectable like the service's. */
  now?: () => number;
  /** limits.maxSeries for each partition's detection engine. */
  maxSeries?: number;
  /** What the remote-write ingress (kafka.topics.remoteWrite) maps and bounds payloads with. */
  remoteWrite?: { mapper: LabelMapper; limits: { maxDecompressedBytes: number; maxSeries: number; maxSamples: number } };
}

/**
 * Harbinger on Kafka, one instance of a consumer group of any size:
 *
 *   samples ─► ShardWorker (this instance's partitions, one DetectionEngine each) ─┐
 *   events ──► (every instance reads them all)                                     │
 *                                            detections topic (1 partition) ◄──────┘
 *                                                  │
 *                       DecisionWorker (exactly one instance of the group) ─► recommendations
 *
 * State of each partition and of the decider is checkpointed to the compacted state topic and
 * restored wherever the work moves.
 */
export class KafkaRunner {
  private readonly kafka: Kafka;
  private producer: Producer | undefined;
  private shards: ShardWorker | undefined;
  private batcher: SampleBatcher | undefined;
  private ingress: RemoteWriteIngress | undefined;

  /** The series this instance's shards hold (a partition's series live on its owner only). */
  *series(): IterableIterator<SeriesState> {
    if (this.shards !== undefined) yield* this.shards.series();
  }
  private decider: DecisionWorker | undefined;
  /** Why a consumer stopped for good, if one did. */
  failure: string | undefined;

  constructor(
    private readonly cfg: KafkaConfig,
    private readonly detection: DetectionConfig,
    private readonly decision: DecisionEngine,
    private readonly log: Logger,
    private readonly hooks: KafkaRunnerHooks,
  ) {
    this.kafka = createKafka(cfg, log);
  }

  /** The decision engine's output while this instance decides. */
  collect(e: DecisionEvent): void {
    this.decider?.collect(e);
  }

  async start(): Promise<void> {
    // The partition count first: produce() refuses until both are set, and then always batches.
    this.batcher = new SampleBatcher(this.cfg.topics.samples, (await endOffsets(this.kafka, this.cfg.topics.samples)).size);
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    const fatal = (reason: string): void => {
      this.failure ??= reason;
      this.log.error({ reason }, 'kafka: a consumer stopped for good; /healthz now fails so the orchestrator restarts this instance');
    };
    this.decider = new DecisionWorker(this.kafka, this.producer, this.cfg, this.decision, this.log, (e) => this.hooks.onDecision(e), fatal, this.hooks.now);
    await this.decider.start();
    this.shards = new ShardWorker(
      this.kafka,
      this.producer,
      this.cfg,
      this.detection,
      this.log,
      fatal,
      this.hooks.onRejected,
      this.hooks.now,
      this.hooks.maxSeries,
    );
    await this.shards.start();
    const remoteWrite = this.cfg.topics.remoteWrite;
    if (remoteWrite !== undefined && this.hooks.remoteWrite !== undefined) {
      const cfg = { ...this.cfg, topics: { ...this.cfg.topics, remoteWrite } };
      const { mapper, limits } = this.hooks.remoteWrite;
      this.ingress = new RemoteWriteIngress(this.kafka, this.producer, cfg, this.batcher, mapper, limits, this.log, fatal);
      await this.ingress.start();
    }
  }

  /** Clean stop (SIGTERM): each worker finishes its batch, checkpoints, commits and leaves its group. */
  async stop(): Promise<void> {
    await this.ingress?.stop();
    await this.shards?.stop();
    await this.decider?.stop();
    await this.producer?.disconnect();
    this.producer = undefined;
  }

  /** Whether this instance runs the decision workflow now (approvals go to it). */
  decides(): boolean {
    return this.decider?.active === true;
  }

  /** Runs a change to the decision workflow from outside (approval, alert) between batches. */
  exclusive<T>(fn: () => T): Promise<T> {
    if (this.decider === undefined) throw new Error('kafka: not started');
    return this.decider.exclusive(fn);
  }

  /**
   * A context event Harbinger itself causes (a traffic split it applied), to every shard through
   * the events topic, stamped where the shards' event time is so none refuses it as late.
   */
  async announce(event: ContextEvent): Promise<void> {
    const front = (this.decider?.leadingWatermark() ?? -Infinity) + this.detection.eventTime.allowedLatenessSeconds * 1000;
    await this.produce([], [{ ...event, ts: Math.max(event.ts, front) }]);
  }

  /** After an approval: publish and checkpoint, so a take-over does not forget it. */
  async checkpointDecider(): Promise<void> {
    if (this.decides()) await this.decider!.checkpointSoon();
  }

  /** Samples and events from the HTTP endpoints, forwarded to the input topics (samples keyed). */
  async produce(samples: Sample[], events: ContextEvent[]): Promise<void> {
    if (this.producer === undefined || this.batcher === undefined) throw new Error('kafka: not started');
    if (events.length > 0)
      await this.producer.send({
        topic: this.cfg.topics.events,
        messages: events.map((e) => ({ key: e.service ?? null, value: JSON.stringify({ type: 'event', ...e }) })),
      });
    // One message per partition (see SampleBatcher), in requests the broker takes (a big remote-write
    // request is megabytes).
    if (samples.length > 0) await sendChunked(this.producer, this.cfg.topics.samples, this.batcher.messages(samples));
  }

  get stats(): KafkaRunnerStats {
    const s = this.shards?.stats;
    const d = this.decider?.stats;
    return {
      messages: s?.messages ?? 0,
      deadLetters: s?.deadLetters ?? 0,
      recommendations: d?.recommendations ?? 0,
      checkpoints: (s?.checkpoints ?? 0) + (d?.checkpoints ?? 0),
      lastCheckpointMs: s?.lastCheckpointMs ?? 0,
      rebalances: s?.rebalances ?? 0,
      assignedPartitions: s?.assigned ?? 0,
      deciderActive: d?.active ?? false,
      suppressed: d?.suppressed ?? 0,
      duplicates: d?.duplicates ?? 0,
      outOfOrder: d?.outOfOrder ?? 0,
      deciderWatermark: d?.active === true ? d.watermark : null,
      ...(this.ingress !== undefined ? { remoteWrite: this.ingress.stats } : {}),
    };
  }

  /** Consumer lag per partition: the samples topic (shards' group) and the detections topic (decider's). */
  async lag(): Promise<{ topic: string; partition: number; lag: number }[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const out: { topic: string; partition: number; lag: number }[] = [];
      for (const [topic, groupId] of [
        [this.cfg.topics.samples, this.cfg.groupId],
        [this.cfg.topics.detections, `${this.cfg.groupId}.decide`],
      ] as const) {
        const ends = await admin.fetchTopicOffsets(topic);
        const committed = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions ?? [];
        for (const e of ends) {
          const c = Number(committed.find((x) => x.partition === e.partition)?.offset ?? '-1');
          out.push({ topic, partition: e.partition, lag: Number(e.high) - (c >= 0 ? c : Number(e.low)) });
        }
      }
      return out;
    } finally {
      await admin.disconnect();
    }
  }
}

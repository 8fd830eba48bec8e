import { randomUUID } from 'node:crypto';
import { CompressionTypes, Kafka, logLevel, type Consumer, type EachBatchPayload, type Producer } from 'kafkajs';
import type { KafkaConfig } from '../../config/kafka.js';
import type { Pipeline, PipelineOutput } from '../../pipeline/pipeline.js';
import { decodeState, encodeState } from '../../core/state/json-codec.js';
import type { Logger } from '../log/logger.js';
import { deadLetter, decodeMessage } from './message-codec.js';

/** What a checkpoint holds: the pipeline's state at exactly the offsets committed with it. */
export interface KafkaCheckpoint {
  version: 1;
  detection: ReturnType<Pipeline['detection']['snapshot']>;
  decision: ReturnType<Pipeline['decision']['snapshot']>;
  /** Newest event time read per `topic/partition`. */
  partitionTime: Record<string, number>;
}

export interface KafkaRunnerStats {
  messages: number;
  deadLetters: number;
  recommendations: number;
  checkpoints: number;
  lastCheckpointMs: number;
  rebalances: number;
}

/**
 * Harbinger on Kafka: consumes samples and context events in a consumer group, feeds the
 * pipeline, publishes recommendations (keyed by incident id) and dead letters, and checkpoints
 * the pipeline's state to a compacted topic. Offsets are committed only right after a checkpoint,
 * so the state on the topic always matches the committed offsets: a restarted consumer restores
 * it and re-reads from exactly there (a re-read sample is recognised by its series and dropped).
 *
 * The watermark is the slowest partition with unread data, minus the allowed lateness: a partition
 * that runs ahead in a batch cannot make another partition's samples (or a context event) late.
 */
export class KafkaRunner {
  private readonly kafka: Kafka;
  private consumer: Consumer | undefined;
  private producer: Producer | undefined;
  /**
   * Progress of every assigned partition (both topics): the newest event time read from it, and
   * whether it is caught up with its log end. Only partitions with unread data hold the watermark
   * back; an idle one (a quiet events topic, an empty partition) does not stall the pipeline.
   */
  private readonly progress = new Map<string, { time: number; caughtUp: boolean }>();
  private readonly pendingOutputs: PipelineOutput[] = [];
  private readonly nextOffsets = new Map<string, { topic: string; partition: number; offset: string }>();
  private lastCheckpoint = 0;
  /** Until the assignment's offsets are known, no watermark: an unseen partition may hold old data. */
  private assignmentKnown = false;
  private inFlight: Promise<unknown> = Promise.resolve();
  private readonly stateKey: string;
  readonly stats: KafkaRunnerStats = { messages: 0, deadLetters: 0, recommendations: 0, checkpoints: 0, lastCheckpointMs: 0, rebalances: 0 };

  constructor(
    private readonly cfg: KafkaConfig,
    private readonly pipeline: Pipeline,
    private readonly lateness: number,
    private readonly log: Logger,
  ) {
    // kafkajs logs through pino: its connection errors during a broker restart are retried, so
    // they are warnings in Harbinger's log, not console noise.
    const logCreator = () => ({ level, log: entry }: { level: number; log: { message: string } & Record<string, unknown> }): void => {
      const { message, ...rest } = entry;
      if (level <= logLevel.WARN) this.log.warn({ kafkajs: rest }, message);
      else this.log.debug({ kafkajs: rest }, message);
    };
    this.kafka = new Kafka({ clientId: cfg.clientId, brokers: cfg.brokers, logLevel: logLevel.WARN, logCreator, retry: { initialRetryTime: 200, retries: 20, maxRetryTime: 5_000 } });
    this.stateKey = `${cfg.groupId}/pipeline`;
  }

  /** The pipeline's sink calls this for every output; they are published after the batch. */
  collect(e: PipelineOutput): void {
    if (e.type === 'recommendation') this.pendingOutputs.push(e);
  }

  async start(): Promise<void> {
    await this.restore();
    this.producer = this.kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1 });
    await this.producer.connect();
    this.consumer = this.kafka.consumer({ groupId: this.cfg.groupId, sessionTimeout: this.cfg.sessionTimeoutMs, heartbeatInterval: Math.min(3000, this.cfg.sessionTimeoutMs / 3), maxBytesPerPartition: this.cfg.maxBytesPerPartition, allowAutoTopicCreation: false });
    this.consumer.on(this.consumer.events.GROUP_JOIN, (e) => {
      this.assignmentKnown = false;
      this.stats.rebalances++;
      this.onAssignment(e.payload.memberAssignment).catch((err: Error) => this.log.error({ err: err.message }, 'kafka: reading partition progress failed'));
    });
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.cfg.topics.events, this.cfg.topics.samples], fromBeginning: true });
    await this.consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (p) => this.onBatch(p) });
    this.lastCheckpoint = Date.now();
  }

  /** Clean stop (SIGTERM): finish the batch in hand, checkpoint, commit, leave the group. */
  async stop(): Promise<void> {
    if (this.consumer !== undefined) {
      this.consumer.pause([{ topic: this.cfg.topics.samples }, { topic: this.cfg.topics.events }]);
      await this.inFlight;
      await this.checkpoint();
      await this.consumer.disconnect();
      this.consumer = undefined;
    }
    await this.producer?.disconnect();
    this.producer = undefined;
  }

  /** Consumer lag per partition of both input topics: log end minus the group's committed offset. */
  async lag(): Promise<{ topic: string; partition: number; lag: number }[]> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const out: { topic: string; partition: number; lag: number }[] = [];
      for (const topic of [this.cfg.topics.samples, this.cfg.topics.events]) {
        const ends = await admin.fetchTopicOffsets(topic);
        const committed = (await admin.fetchOffsets({ groupId: this.cfg.groupId, topics: [topic] }))[0]?.partitions ?? [];
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

  /** End of input (tests, one-shot backfills): release everything buffered, publish, checkpoint. */
  async drain(): Promise<void> {
    this.pipeline.flush();
    await this.publish();
    await this.checkpoint();
  }

  /** On (re)assignment: partitions whose committed offset is already at the log end are idle. */
  private async onAssignment(assignment: Record<string, number[]>): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      for (const [topic, partitions] of Object.entries(assignment)) {
        const ends = await admin.fetchTopicOffsets(topic);
        const committed = (await admin.fetchOffsets({ groupId: this.cfg.groupId, topics: [topic] }))[0]?.partitions ?? [];
        for (const p of partitions) {
          const high = BigInt(ends.find((e) => e.partition === p)?.high ?? '0');
          const c = committed.find((e) => e.partition === p)?.offset ?? '-1';
          const low = BigInt(ends.find((e) => e.partition === p)?.low ?? '0');
          const next = BigInt(c) >= 0n ? BigInt(c) : low;
          const key = `${topic}/${p}`;
          const known = this.progress.get(key);
          this.progress.set(key, { time: known?.time ?? -Infinity, caughtUp: next >= high });
        }
      }
      // Partitions no longer assigned to us no longer hold the watermark.
      for (const key of [...this.progress.keys()]) {
        const [topic, p] = [key.slice(0, key.lastIndexOf('/')), Number(key.slice(key.lastIndexOf('/') + 1))];
        if (!(assignment[topic] ?? []).includes(p)) this.progress.delete(key);
      }
    } finally {
      await admin.disconnect();
    }
    this.assignmentKnown = true;
    // One checkpoint per group: until per-partition state lands, a second instance would
    // overwrite this one's state. Say so loudly rather than corrupt it quietly.
    const admin2 = this.kafka.admin();
    await admin2.connect();
    try {
      const all = await admin2.fetchTopicOffsets(this.cfg.topics.samples);
      const mine = assignment[this.cfg.topics.samples] ?? [];
      if (mine.length < all.length) this.log.error({ assigned: mine, partitions: all.length }, 'kafka: this instance owns only part of the samples topic; scale-out across instances is not supported yet: run one instance per consumer group');
    } finally {
      await admin2.disconnect();
    }
    this.advanceWatermark();
  }

  private onBatch(p: EachBatchPayload): Promise<void> {
    const run = this.processBatch(p);
    this.inFlight = run.catch(() => undefined);
    return run;
  }

  private async processBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const key = `${batch.topic}/${batch.partition}`;
    const progress = this.progress.get(key) ?? { time: -Infinity, caughtUp: false };
    this.progress.set(key, progress);
    const dead: { key: string | null; value: string }[] = [];
    for (const m of batch.messages) {
      if (!isRunning() || isStale()) break;
      this.stats.messages++;
      const d = decodeMessage(m.value);
      if (!d.ok) {
        const dl = deadLetter(d.reason, batch.topic, batch.partition, m.offset, m.key, m.value, m.timestamp);
        dead.push({ key: m.key?.toString('utf8') ?? null, value: JSON.stringify(dl) });
      } else {
        for (const e of d.events) {
          this.pipeline.offerEvent(e);
          if (e.ts > progress.time) progress.time = e.ts;
        }
        for (const s of d.samples) {
          this.pipeline.offerSample(s);
          if (s.ts > progress.time) progress.time = s.ts;
        }
      }
      resolveOffset(m.offset);
      this.nextOffsets.set(key, { topic: batch.topic, partition: batch.partition, offset: (BigInt(m.offset) + 1n).toString() });
      progress.caughtUp = BigInt(m.offset) + 1n >= BigInt(batch.highWatermark);
    }
    this.advanceWatermark();
    if (dead.length > 0) {
      this.stats.deadLetters += dead.length;
      await this.producer!.send({ topic: this.cfg.topics.deadLetter, messages: dead });
    }
    await this.publish();
    await heartbeat();
    if (Date.now() - this.lastCheckpoint >= this.cfg.checkpointIntervalMs) await this.checkpoint();
  }

  /**
   * The slowest partition that still has unread data decides; when every partition is caught up,
   * the newest time read anywhere does (an idle partition cannot send anything older).
   */
  private advanceWatermark(): void {
    if (!this.assignmentKnown || this.progress.size === 0) return;
    let pending = Infinity;
    let newest = -Infinity;
    for (const p of this.progress.values()) {
      if (!p.caughtUp && p.time < pending) pending = p.time;
      if (p.time > newest) newest = p.time;
    }
    const w = pending !== Infinity ? pending : newest;
    if (w > -Infinity) this.pipeline.detection.setWatermark(w - this.lateness);
  }

  private async publish(): Promise<void> {
    if (this.pendingOutputs.length === 0) return;
    const out = this.pendingOutputs.splice(0);
    this.stats.recommendations += out.length;
    // Keyed by incident: every decision of one incident stays ordered in one partition. Ids are
    // deterministic, so a consumer recognises a republished one after a restart.
    await this.producer!.send({ topic: this.cfg.topics.recommendations, messages: out.map((r) => ({ key: r.type === 'recommendation' ? r.incidentId : null, value: JSON.stringify(r) })) });
  }

  /** State first, then offsets: a crash between the two re-reads data, never loses it. */
  private async checkpoint(): Promise<void> {
    if (this.producer === undefined || this.consumer === undefined) return;
    const t = Date.now();
    const cp: KafkaCheckpoint = { version: 1, detection: this.pipeline.detection.snapshot(), decision: this.pipeline.decision.snapshot(), partitionTime: Object.fromEntries([...this.progress].map(([k, v]) => [k, v.time])) };
    await this.producer.send({ topic: this.cfg.topics.state, compression: CompressionTypes.GZIP, messages: [{ key: this.stateKey, value: encodeState(cp) }] });
    if (this.nextOffsets.size > 0) await this.consumer.commitOffsets([...this.nextOffsets.values()]);
    this.lastCheckpoint = Date.now();
    this.stats.checkpoints++;
    this.stats.lastCheckpointMs = Date.now() - t;
  }

  /** Reads the state topic to its end and restores the newest checkpoint for this group. */
  private async restore(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    let end: { partition: number; offset: string; high: string; low: string }[];
    try {
      end = await admin.fetchTopicOffsets(this.cfg.topics.state);
    } finally {
      await admin.disconnect();
    }
    const remaining = new Map(end.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => [p.partition, BigInt(p.high)]));
    if (remaining.size === 0) return;
    const reader = this.kafka.consumer({ groupId: `${this.cfg.groupId}-restore-${randomUUID()}`, allowAutoTopicCreation: false });
    let latest: string | undefined;
    await reader.connect();
    try {
      await reader.subscribe({ topics: [this.cfg.topics.state], fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        reader
          .run({
            eachMessage: async ({ partition, message }) => {
              if (message.key?.toString('utf8') === this.stateKey && message.value !== null) latest = message.value.toString('utf8');
              if (BigInt(message.offset) + 1n >= (remaining.get(partition) ?? 0n)) remaining.delete(partition);
              if (remaining.size === 0) resolve();
            },
          })
          .catch(reject);
      });
    } finally {
      await reader.disconnect();
    }
    if (latest === undefined) return;
    const cp = decodeState<KafkaCheckpoint>(latest);
    this.pipeline.detection.restore(cp.detection);
    this.pipeline.decision.restore(cp.decision);
    for (const [k, t] of Object.entries(cp.partitionTime)) this.progress.set(k, { time: t, caughtUp: false });
    this.log.info({ partitions: Object.keys(cp.partitionTime).length }, 'kafka: pipeline state restored from the state topic');
  }
}

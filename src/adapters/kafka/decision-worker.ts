import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { KafkaConfig } from './config.js';
import type { DecisionEvent } from '../../domain/decision.js';
import { withLoadProfiles, type DecisionEngine, type DecisionSnapshot } from '../../core/decide/decision-engine.js';
import { DetectionMerge, type MergeSnapshot } from '../../core/merge/detection-merge.js';
import type { StackProfile } from '../../core/predict/load-profiles.js';
import { decodeState, encodeState } from '../../core/state/json-codec.js';
import type { Logger } from '../log/logger.js';
import { deadLetterMessage, decodeShardMessage } from './message-codec.js';
import { endOffsets, readLatest, readTopicRange, sendChunked, Serial, startSerialConsumer } from './topic-io.js';
import { StateRecords, stateKeyOf, stateTopicSender, takenLines, type StateRecord } from './state-records.js';

/**
 * The decider's state with the input and output positions it reflects. Version 1 was written
 * whole; version 2 is written as lines (see checkpointLines) and read back as this.
 */
export interface DeciderCheckpoint {
  version: 1 | 2;
  nextOffset: string;
  merge: MergeSnapshot;
  decision: DecisionSnapshot;
  /** End offsets of the recommendations topic when this was written. */
  recommendationsEnd: Record<string, string>;
}

/** A checkpoint from the lines it was written as: version 2's head and its load profiles, or version 1 whole. */
export function deciderCheckpointFromLines(lines: readonly string[]): DeciderCheckpoint {
  const cp = decodeState<DeciderCheckpoint>(lines[0] ?? '');
  const profiles = lines.slice(1).map((line) => decodeState<StackProfile>(line));
  return { ...cp, decision: withLoadProfiles(cp.decision, profiles) };
}

export interface DeciderStats {
  active: boolean;
  messages: number;
  recommendations: number;
  /** Re-emitted after a take-over and found already published: neither re-sent nor re-acted on. */
  suppressed: number;
  checkpoints: number;
  duplicates: number;
  outOfOrder: number;
  /** The merged watermark: every shard's output older than this has been decided on (ms, or null). */
  watermark: number | null;
}

/**
 * The single-threaded half of Harbinger on Kafka: the decision workflow. Its input, the
 * detections topic, has one partition, so in a consumer group of any size exactly one instance
 * decides at a time: "one change in flight" holds across all instances. It merges the shards'
 * output (DetectionMerge: canonical order, health across shards, re-deliveries dropped by
 * number) and runs the DecisionEngine on it.
 *
 * Recommendations go to the recommendations topic keyed by incident id. On take-over the new
 * owner restores the last checkpoint and reads what was published after it: a decision it makes
 * again is recognised there (same deterministic id and content) and neither re-sent nor acted on
 * twice. Other decision events (incidents, outcomes) are acted on at least once.
 */
export class DecisionWorker {
  private consumer: Consumer | undefined;
  private merge: DetectionMerge | undefined;
  private readonly serial = new Serial();
  private readonly out: DecisionEvent[] = [];
  private published = new Set<string>();
  private nextOffset = 0n;
  /**
   * The detections log end when this instance took over: until it has read that far it is
   * re-deciding what the previous owner may already have published, so it keeps `published`
   * and does not checkpoint (a checkpoint would forget which of those it has seen again).
   */
  private catchUpTo = 0n;
  private lastCheckpoint: number;
  private quiesce: (() => void) | undefined;
  private readonly fresh: DecisionSnapshot;
  private readonly stateRecords: StateRecords;
  private readonly sendState: (record: StateRecord) => Promise<unknown>;
  private shards: string[] = [];
  private readonly unknownShards = new Set<string>();
  readonly stats: DeciderStats = {
    active: false,
    messages: 0,
    recommendations: 0,
    suppressed: 0,
    checkpoints: 0,
    duplicates: 0,
    outOfOrder: 0,
    watermark: null,
  };

  constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly cfg: KafkaConfig,
    private readonly decision: DecisionEngine,
    private readonly log: Logger,
    /** Side effects of a decision (audit, feed, Slack): called once per decision made here. */
    private readonly onDecision: (e: DecisionEvent) => void,
    /** The consumer stopped for good (kafkajs gave up): the instance must be restarted. */
    private readonly onFatal: (reason: string) => void,
    /** The wall clock, for checkpoint intervals only (decisions run on event time). */
    private readonly now: () => number = Date.now,
  ) {
    this.fresh = decision.snapshot();
    this.stateRecords = new StateRecords(cfg.stateRecordChars);
    this.sendState = stateTopicSender(producer, cfg.topics.state);
    this.lastCheckpoint = this.now();
  }

  /** The decision engine's sink ends here while this instance decides. */
  collect(e: DecisionEvent): void {
    if (this.stats.active) this.out.push(e);
  }

  /** Runs `fn` between batches (an approval): it never lands between a snapshot and its send. */
  exclusive<T>(fn: () => T): Promise<T> {
    return this.serial.run(async () => fn());
  }

  /** Where event time is at the front of the shards (for context events the decider itself creates). */
  leadingWatermark(): number {
    return this.merge?.leadingWatermark ?? -Infinity;
  }

  get active(): boolean {
    return this.stats.active;
  }

  async start(): Promise<void> {
    const parts = await endOffsets(this.kafka, this.cfg.topics.detections);
    if (parts.size !== 1)
      throw new Error(
        `kafka.topics.detections: '${this.cfg.topics.detections}' has ${parts.size} partitions; it must have exactly 1 (one decider, one change in flight)`,
      );
    this.shards = [...(await endOffsets(this.kafka, this.cfg.topics.samples)).keys()].sort((a, b) => a - b).map(String);
    ({ consumer: this.consumer, quiesce: this.quiesce } = await startSerialConsumer(this.kafka, this.cfg, this.log, {
      groupId: `${this.cfg.groupId}.decide`,
      topic: this.cfg.topics.detections,
      serial: this.serial,
      name: 'decider',
      onJoin: (partitions, rejoined) => this.onAssignment(partitions.includes(0), rejoined),
      onBatch: (p) => this.onBatch(p),
      onTick: () => this.onTimer(),
      onFatal: this.onFatal,
    }));
  }

  async stop(): Promise<void> {
    this.quiesce?.();
    await this.serial.run(() => this.checkpoint());
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }

  /** Checkpoint now (after an approval or anything else that changed the workflow from outside). */
  checkpointSoon(): Promise<void> {
    return this.serial.run(async () => {
      await this.publish();
      await this.checkpoint();
    });
  }

  private async onAssignment(own: boolean, rejoined: boolean): Promise<void> {
    // Back in the group under a new member id: another instance may have decided meanwhile, so
    // this one's memory is stale even if it gets the partition back.
    if (rejoined) this.stats.active = false;
    if (!own) {
      if (this.stats.active) this.log.info('kafka: decider moved to another instance');
      this.stats.active = false;
      this.merge = undefined;
      this.out.length = 0;
      return;
    }
    if (this.stats.active) return;
    const saved = this.stateRecords.readLines(this.stateKey, await readLatest(this.kafka, this.cfg.topics.state, (k) => stateKeyOf(k) === this.stateKey));
    const merge = new DetectionMerge(this.shards, { detection: (e) => this.decision.onDetection(e), context: (e) => this.decision.onContext(e) });
    this.published = new Set();
    this.out.length = 0;
    const detectionsLog = (await endOffsets(this.kafka, this.cfg.topics.detections)).get(0);
    const logStart = detectionsLog?.low ?? 0n;
    this.catchUpTo = detectionsLog?.high ?? 0n;
    // What was published since the checkpoint is what this instance may decide again; with no
    // checkpoint at all (a first owner that died before its first), that is the whole topic.
    let publishedSince = new Map<number, bigint>();
    if (saved === undefined) {
      this.decision.restore(this.fresh);
      this.nextOffset = logStart;
    } else {
      const cp = deciderCheckpointFromLines(saved);
      merge.restore(cp.merge);
      this.decision.restore(cp.decision);
      this.nextOffset = BigInt(cp.nextOffset);
      publishedSince = new Map(Object.entries(cp.recommendationsEnd).map(([p, o]) => [Number(p), BigInt(o)]));
    }
    await readTopicRange(this.kafka, this.cfg.topics.recommendations, publishedSince, (_p, m) => {
      if (m.value !== null) this.published.add(m.value.toString('utf8'));
    });
    if (this.nextOffset < logStart) {
      this.log.error(
        { checkpoint: this.nextOffset.toString(), logStart: logStart.toString() },
        'kafka: retention deleted detections the decider had not read; resuming at the log start',
      );
      this.nextOffset = logStart;
    }
    this.merge = merge;
    this.stats.active = true;
    try {
      this.consumer?.seek({ topic: this.cfg.topics.detections, partition: 0, offset: this.nextOffset.toString() });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'kafka: seek on take-over failed; offsets are checked per batch');
    }
    this.log.info(
      { restored: saved !== undefined, offset: this.nextOffset.toString(), publishedSinceCheckpoint: this.published.size },
      'kafka: this instance now decides',
    );
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const merge = this.merge;
    if (merge === undefined) return;
    const first = batch.messages[0];
    if (first !== undefined && BigInt(first.offset) > this.nextOffset) {
      // The group's committed offset is past the checkpoint (it lagged behind a crash): go back.
      this.consumer?.seek({ topic: batch.topic, partition: batch.partition, offset: this.nextOffset.toString() });
      return;
    }
    const dead: { key: string | null; value: string }[] = [];
    for (const m of batch.messages) {
      if (!isRunning() || isStale()) break;
      const offset = BigInt(m.offset);
      if (offset < this.nextOffset) {
        resolveOffset(m.offset);
        continue;
      }
      this.stats.messages++;
      const d = decodeShardMessage(m.value);
      if (typeof d === 'string') {
        dead.push(deadLetterMessage(d, batch, m));
      } else {
        if (!this.shards.includes(d.shard) && !this.unknownShards.has(d.shard)) {
          this.unknownShards.add(d.shard);
          this.log.error(
            { shard: d.shard, known: this.shards },
            'kafka: output from a samples partition that did not exist when the decider started (partitions added?); restart the instances',
          );
        }
        for (let i = 0; i < d.items.length; i++) merge.offer(d.shard, d.seq + i, d.items[i]!);
        merge.advance(d.shard, d.watermark, d.idle);
      }
      this.nextOffset = offset + 1n;
      resolveOffset(m.offset);
    }
    if (dead.length > 0) await sendChunked(this.producer, this.cfg.topics.deadLetter, dead);
    this.stats.duplicates = merge.stats.duplicates;
    this.stats.outOfOrder = merge.stats.outOfOrder;
    this.stats.watermark = Number.isFinite(merge.watermark) ? merge.watermark : null;
    await this.publish();
    await heartbeat();
    if (this.now() - this.lastCheckpoint >= this.cfg.checkpointIntervalMs) await this.checkpoint();
  }

  private async onTimer(): Promise<void> {
    if (this.merge !== undefined && this.log.isLevelEnabled('debug')) {
      const { shards, pending } = this.merge.snapshot();
      this.log.debug({ offset: this.nextOffset.toString(), shards, pending: pending.length }, 'kafka: decider progress');
    }
    if (this.now() - this.lastCheckpoint >= this.cfg.checkpointIntervalMs) await this.checkpoint();
  }

  /**
   * Decisions made since the last call: published, then acted on (audit, feed, Slack), unless
   * already on the topic. Published first, so a crash in between loses an action's side effects
   * on this instance rather than repeating them on the next; kept until the send succeeded.
   */
  private async publish(): Promise<void> {
    if (this.out.length === 0) return;
    const events = this.out.slice();
    const fresh: DecisionEvent[] = [];
    const messages: { key: string; value: string }[] = [];
    for (const e of events) {
      if (e.type === 'recommendation') {
        const value = JSON.stringify(e);
        if (this.published.has(value)) {
          this.stats.suppressed++;
          continue;
        }
        messages.push({ key: e.incidentId, value });
      }
      fresh.push(e);
    }
    if (messages.length > 0) await sendChunked(this.producer, this.cfg.topics.recommendations, messages);
    this.out.splice(0, events.length);
    this.stats.recommendations += messages.length;
    for (const e of fresh) this.onDecision(e);
  }

  /** State, with where the output stood, then the offset: a take-over resumes exactly here. */
  private async checkpoint(): Promise<void> {
    this.lastCheckpoint = this.now();
    if (!this.stats.active || this.merge === undefined || this.consumer === undefined) return;
    if (this.nextOffset < this.catchUpTo) return; // still re-deciding the previous owner's tail
    await this.publish();
    const ends = await endOffsets(this.kafka, this.cfg.topics.recommendations);
    const recommendationsEnd = Object.fromEntries([...ends].map(([p, { high }]) => [String(p), high.toString()]));
    // Streamed like a shard's: the head, then the look-ahead's load profiles one a line (there is
    // one per saturation series and stack), each record sent as it fills.
    const decision = this.decision.beginSnapshot();
    try {
      const head: DeciderCheckpoint = { version: 2, nextOffset: this.nextOffset.toString(), merge: this.merge.snapshot(), decision, recommendationsEnd };
      await this.stateRecords.write(this.stateKey, this.checkpointLines(encodeState(head)), this.sendState);
    } finally {
      this.decision.endSnapshot();
    }
    this.published.clear();
    try {
      await this.consumer.commitOffsets([{ topic: this.cfg.topics.detections, partition: 0, offset: this.nextOffset.toString() }]);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'kafka: decider offset commit refused (rebalance); its state record stands');
    }
    this.stats.checkpoints++;
  }

  private *checkpointLines(head: string): Generator<string> {
    yield head;
    yield* takenLines((max) => this.decision.takeProfiles(max));
  }

  private get stateKey(): string {
    return `${this.cfg.groupId}/decide`;
  }
}

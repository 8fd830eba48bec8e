import { randomUUID } from 'node:crypto';
import type { SeriesState } from '../../core/detection/series-state.js';
import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { KafkaConfig } from './config.js';
import type { DetectionConfig } from '../../config/detection.js';
import type { ContextEvent, Sample } from '../../domain/types.js';
import { encodeState } from '../../core/state/json-codec.js';
import type { Logger } from '../log/logger.js';
import { deadLetterMessage, decodeMessage } from './message-codec.js';
import { checkpointFromLines, checkpointLines, createShardTask, offerEvents, outputMessages, type Progress, type Task } from './shard-task.js';

export type { ShardCheckpoint } from './shard-task.js';

import { endOffsets, readLatest, sendChunked, Serial, startSerialConsumer } from './topic-io.js';
import { StateRecords, stateKeyOf, stateTopicSender, type StateRecord } from './state-records.js';

export interface ShardStats {
  messages: number;
  deadLetters: number;
  checkpoints: number;
  lastCheckpointMs: number;
  rebalances: number;
  assigned: number;
}

/**
 * The scaled-out half of Harbinger on Kafka. Every instance in the consumer group owns some
 * samples partitions (samples are keyed `service|metric`, so all stacks of a metric meet in one)
 * and runs one DetectionEngine per partition, a task in Kafka Streams terms. Context events are
 * read whole by every instance (each engine needs them), and each engine's output is numbered and
 * published, with its watermark, to the one-partition detections topic that the decider merges.
 *
 * Each task's state goes to the compacted state topic under its own key, together with the input
 * offsets it reflects; then the group's offset is committed. A task that moves to another instance
 * (rebalance, crash) is restored there from that record before it reads anything, and re-reads
 * from the recorded offset: the output it repeats carries the same numbers and is dropped by the
 * decider, so the result equals an uninterrupted run.
 */
export class ShardWorker {
  private consumer: Consumer | undefined;
  private eventsReader: Consumer | undefined;
  private readonly tasks = new Map<number, Task>();

  /** Every series of this instance's partitions (for the gate report). */
  *series(): IterableIterator<SeriesState> {
    for (const t of this.tasks.values()) if (t.engine !== undefined) yield* t.engine.series();
  }
  /** Every context event, per events partition in offset order: the shards' shared input. */
  private readonly events = new Map<number, { offset: bigint; event: ContextEvent }[]>();
  private readonly eventsProgress = new Map<number, Progress>();
  private readonly serial = new Serial();
  private readonly stateRecords: StateRecords;
  private readonly sendState: (record: StateRecord) => Promise<unknown>;
  private quiesce: (() => void) | undefined;
  private lastCheckpoint: number;
  readonly stats: ShardStats = { messages: 0, deadLetters: 0, checkpoints: 0, lastCheckpointMs: 0, rebalances: 0, assigned: 0 };

  constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly cfg: KafkaConfig,
    private readonly detection: DetectionConfig,
    private readonly log: Logger,
    /** The consumer stopped for good (kafkajs gave up): the instance must be restarted. */
    private readonly onFatal: (reason: string) => void,
    private readonly onRejected?: (record: Sample | ContextEvent, reason: string) => void,
    /** The wall clock, for checkpoint intervals and idle detection only (detection runs on event time). */
    private readonly now: () => number = Date.now,
    /** limits.maxSeries, per partition's engine. */
    private readonly maxSeries = Number.POSITIVE_INFINITY,
  ) {
    this.stateRecords = new StateRecords(cfg.stateRecordChars);
    this.sendState = stateTopicSender(producer, cfg.topics.state);
    this.lastCheckpoint = this.now();
  }

  private get lateness(): number {
    return this.detection.eventTime.allowedLatenessSeconds * 1000;
  }

  async start(): Promise<void> {
    for (const [p, { low, high }] of await endOffsets(this.kafka, this.cfg.topics.events)) {
      this.eventsProgress.set(p, { time: -Infinity, caughtUp: high <= low });
      this.events.set(p, []);
    }
    // Every instance reads all context events: a throwaway group, nothing committed.
    this.eventsReader = this.kafka.consumer({
      groupId: `${this.cfg.groupId}.events.${randomUUID()}`,
      allowAutoTopicCreation: false,
      maxBytesPerPartition: this.cfg.maxBytesPerPartition,
    });
    this.eventsReader.on(this.eventsReader.events.CRASH, (e) => {
      if (!e.payload.restart) this.onFatal(`events reader: ${e.payload.error.message}`);
    });
    await this.eventsReader.connect();
    await this.eventsReader.subscribe({ topics: [this.cfg.topics.events], fromBeginning: true });
    await this.eventsReader.run({ eachBatch: (p) => this.serial.run(() => this.onEvents(p)) });

    ({ consumer: this.consumer, quiesce: this.quiesce } = await startSerialConsumer(this.kafka, this.cfg, this.log, {
      groupId: this.cfg.groupId,
      topic: this.cfg.topics.samples,
      serial: this.serial,
      name: 'shards',
      onJoin: (partitions, rejoined) => {
        this.stats.rebalances++;
        return this.onAssignment(partitions, rejoined);
      },
      onBatch: (p) => this.onSamples(p),
      onTick: () => this.onTimer(),
      onFatal: this.onFatal,
    }));
  }

  /** SIGTERM: finish the batch in hand, publish, checkpoint, commit, leave the group. */
  async stop(): Promise<void> {
    this.quiesce?.();
    await this.serial.run(async () => {
      for (const t of this.tasks.values()) await this.publish(t, true);
      await this.checkpoint();
    });
    await this.consumer?.disconnect();
    await this.eventsReader?.disconnect();
    this.consumer = undefined;
    this.eventsReader = undefined;
  }

  private async onAssignment(mine: number[], rejoined: boolean): Promise<void> {
    // A new member id means this instance was out of the group (evicted, consumer restarted):
    // others may have moved its partitions on since, so nothing in memory is trusted.
    if (rejoined) this.tasks.clear();
    for (const p of [...this.tasks.keys()]) if (!mine.includes(p)) this.tasks.delete(p);
    const fresh = mine.filter((p) => !this.tasks.has(p));
    if (fresh.length > 0) {
      const keys = new Map(fresh.map((p) => [this.stateKey(p), p]));
      const saved = await readLatest(this.kafka, this.cfg.topics.state, (k) => keys.has(stateKeyOf(k)));
      const ends = await endOffsets(this.kafka, this.cfg.topics.samples);
      for (const p of fresh) {
        const cp = this.stateRecords.readLines(this.stateKey(p), saved);
        const logStart = ends.get(p)?.low ?? 0n;
        const deps = {
          detection: this.detection,
          now: this.now(),
          maxSeries: this.maxSeries,
          ...(this.onRejected !== undefined ? { onRejected: this.onRejected } : {}),
        };
        const task = createShardTask(p, cp === undefined ? undefined : checkpointFromLines(cp), logStart, deps);
        if (task.nextOffset < logStart) {
          this.log.error(
            { partition: p, checkpoint: task.nextOffset.toString(), logStart: logStart.toString() },
            'kafka: retention deleted samples this partition had not processed yet; resuming at the log start',
          );
          task.nextOffset = logStart;
        }
        task.progress.caughtUp = task.nextOffset >= (ends.get(p)?.high ?? 0n);
        this.tasks.set(p, task);
        offerEvents(task, this.events);
        // Resume exactly where the checkpoint was, whatever offset the group had committed.
        try {
          this.consumer?.seek({ topic: this.cfg.topics.samples, partition: p, offset: task.nextOffset.toString() });
        } catch (err) {
          this.log.warn({ partition: p, err: (err as Error).message }, 'kafka: seek on assignment failed; offsets are checked per batch');
        }
        this.log.info({ partition: p, restored: cp !== undefined, offset: task.nextOffset.toString() }, 'kafka: samples partition assigned');
      }
    }
    this.stats.assigned = this.tasks.size;
  }

  private async onEvents({ batch, resolveOffset, heartbeat }: EachBatchPayload): Promise<void> {
    const list = this.events.get(batch.partition) ?? [];
    this.events.set(batch.partition, list);
    const progress = this.eventsProgress.get(batch.partition) ?? { time: -Infinity, caughtUp: false };
    this.eventsProgress.set(batch.partition, progress);
    const dead: { key: string | null; value: string }[] = [];
    for (const m of batch.messages) {
      const offset = BigInt(m.offset);
      const d = decodeMessage(m.value);
      if (!d.ok || d.samples.length > 0) {
        // Every instance reads the events topic: a dead letter from it may appear once per
        // instance; its topic/partition/offset identify the one bad message.
        const reason = d.ok ? 'samples belong on the samples topic, keyed service|metric' : d.reason;
        dead.push(deadLetterMessage(reason, batch, m));
      } else if (list.length === 0 || list[list.length - 1]!.offset < offset) {
        // (A message re-fetched after a broker hiccup is already in the list.)
        for (const event of d.events) {
          list.push({ offset, event });
          if (event.ts > progress.time) progress.time = event.ts;
        }
      }
      progress.caughtUp = offset + 1n >= BigInt(batch.highWatermark);
      resolveOffset(m.offset);
    }
    await this.deadLetters(dead);
    for (const task of this.tasks.values()) {
      offerEvents(task, this.events);
      await this.publish(task, false);
    }
    await heartbeat();
  }

  private async onSamples({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const task = this.tasks.get(batch.partition);
    if (task === undefined) return; // not (yet) ours: left unresolved, fetched again after the rebalance
    const dead: { key: string | null; value: string }[] = [];
    const first = batch.messages[0];
    if (first !== undefined && BigInt(first.offset) > task.nextOffset) {
      if (task.soughtTo !== task.nextOffset) {
        // The group's committed offset is past the checkpoint (it lagged behind a crash): go back.
        task.soughtTo = task.nextOffset;
        this.consumer?.seek({ topic: batch.topic, partition: batch.partition, offset: task.nextOffset.toString() });
        return;
      }
      // Still a gap after going back: the offsets are not there (transaction markers, retention).
      this.log.warn(
        { partition: batch.partition, expected: task.nextOffset.toString(), got: first.offset },
        'kafka: offsets missing from the samples partition; continuing after the gap',
      );
    }
    const p = task.progress;
    const hold = this.eventsHold();
    for (const m of batch.messages) {
      if (!isRunning() || isStale()) break;
      const offset = BigInt(m.offset);
      if (offset < task.nextOffset) {
        resolveOffset(m.offset);
        continue; // already in the restored state
      }
      this.stats.messages++;
      const d = decodeMessage(m.value);
      if (!d.ok || d.events.length > 0) {
        const reason = d.ok ? 'context events belong on the events topic (every shard needs them)' : d.reason;
        dead.push(deadLetterMessage(reason, batch, m));
      } else {
        for (const s of d.samples) {
          task.engine.offerSample(s);
          if (s.ts > p.time) p.time = s.ts;
        }
        if (d.watermark > task.floor) task.floor = d.watermark;
        // Per message, as replay does per line: whether a sample is late must not depend on
        // where fetches happened to split the partition.
        this.raiseWatermark(task, hold);
      }
      task.nextOffset = offset + 1n;
      p.caughtUp = task.nextOffset >= BigInt(batch.highWatermark);
      task.lastRecordAt = this.now();
      resolveOffset(m.offset);
    }
    await this.deadLetters(dead);
    await this.publish(task, false);
    await heartbeat();
    if (this.now() - this.lastCheckpoint >= this.cfg.checkpointIntervalMs) await this.checkpoint();
  }

  private async onTimer(): Promise<void> {
    if (this.log.isLevelEnabled('debug'))
      for (const t of this.tasks.values())
        this.log.debug(
          {
            partition: t.partition,
            next: t.nextOffset.toString(),
            time: t.progress.time,
            caughtUp: t.progress.caughtUp,
            floor: t.floor,
            watermark: t.engine.watermark,
            seq: t.seq,
          },
          'kafka: shard progress',
        );
    for (const task of this.tasks.values()) await this.publish(task, false);
    if (this.now() - this.lastCheckpoint >= this.cfg.checkpointIntervalMs) await this.checkpoint();
  }

  /**
   * Moves the task's watermark (the partition's newest sample, held back by the events topic
   * while it has unread data, minus the allowed lateness; never below a watermark record) and
   * publishes its output and the new watermark.
   */
  private async publish(task: Task, force: boolean): Promise<void> {
    const hold = this.eventsHold();
    this.raiseWatermark(task, hold);
    const watermark = task.engine.watermark;
    // Idle (Flink's term): caught up and quiet for a while, so it stops holding the merge back.
    const idle = task.progress.caughtUp && hold === Infinity && this.now() - task.lastRecordAt >= this.cfg.idleTimeoutMs;
    if (task.out.length === 0 && !force && watermark <= task.sent.watermark && idle === task.sent.idle) return;
    // Output leaves the task only once the broker has it: a failed send is retried with the
    // same numbers (the decider drops any part that did arrive), never skipped.
    const items = task.out.slice();
    const messages = outputMessages(task, items, watermark, idle);
    // The state codec keeps NaN and infinities: the decider must see exactly what replay sees.
    await sendChunked(
      this.producer,
      this.cfg.topics.detections,
      messages.map((m) => ({ key: task.shard, value: encodeState(m) })),
    );
    task.out.splice(0, items.length);
    task.sentSeq += items.length;
    task.sent = { watermark, idle };
  }

  /**
   * A task's watermark: its partition's newest sample, held back by the events topic while that
   * has unread data, minus the allowed lateness; never below a watermark record.
   */
  private raiseWatermark(task: Task, eventsHold: number): void {
    const w = Math.max(Math.min(task.progress.time, eventsHold) - this.lateness, task.floor);
    if (w > task.engine.watermark) task.engine.setWatermark(w);
  }

  /**
   * How far the events topic lets event time go: the oldest time among its partitions that still
   * have unread data (Infinity when all are read). Events hold the watermark back but never move
   * it: they are announced ahead (a rollout, a campaign), so their times say nothing of the samples'.
   */
  private eventsHold(): number {
    let hold = Infinity;
    for (const e of this.eventsProgress.values()) if (!e.caughtUp && e.time < hold) hold = e.time;
    return hold;
  }

  /** Output first (it is numbered), then every task's state, then the group's offsets. */
  private async checkpoint(): Promise<void> {
    if (this.consumer === undefined || this.tasks.size === 0) {
      this.lastCheckpoint = this.now();
      return;
    }
    const t = this.now();
    for (const task of this.tasks.values()) {
      await this.publish(task, false);
      await this.stateRecords.write(this.stateKey(task.partition), checkpointLines(task), this.sendState);
    }
    try {
      await this.consumer.commitOffsets(
        [...this.tasks.values()].map((task) => ({ topic: this.cfg.topics.samples, partition: task.partition, offset: task.nextOffset.toString() })),
      );
    } catch (err) {
      // A rebalance took a partition away mid-commit: its state record is written, and its new
      // owner resumes from the offset in that record, not from the group's.
      this.log.warn({ err: (err as Error).message }, 'kafka: offset commit refused (rebalance); state records stand');
    }
    this.lastCheckpoint = this.now();
    this.stats.checkpoints++;
    this.stats.lastCheckpointMs = this.now() - t;
  }

  private async deadLetters(dead: { key: string | null; value: string }[]): Promise<void> {
    if (dead.length === 0) return;
    this.stats.deadLetters += dead.length;
    await sendChunked(this.producer, this.cfg.topics.deadLetter, dead);
  }

  private stateKey(partition: number): string {
    return `${this.cfg.groupId}/shard/${partition}`;
  }
}

import type { Consumer, EachBatchPayload, Kafka, Producer } from 'kafkajs';
import type { Logger } from '../log/logger.js';
import type { LabelMapper } from '../mapping/label-mapper.js';
import { parseRemoteWrite, RemoteWriteError } from '../remote-write/write-request.js';
import { samplesOfWriteRequest } from '../remote-write/write-request-samples.js';
import type { KafkaConfig } from './config.js';
import { deadLetterMessage } from './message-codec.js';
import type { SampleBatcher } from './sample-batches.js';
import { sendChunked } from './topic-io.js';

export interface RemoteWriteIngressStats {
  messages: number;
  samples: number;
  /** Samples left out, by reason (unmapped, stale_marker, non_finite). */
  skipped: Record<string, number>;
  deadLetters: number;
}

/**
 * Prometheus remote-write payloads on Kafka (snappy-compressed `prometheus.WriteRequest`, the value
 * a remote-write-to-Kafka adapter writes) into the samples topic. A payload mixes series of every
 * service, so it cannot go to the samples topic as it is: a metric's stacks would be split over
 * engines. Each payload is decoded, mapped with the same label mapping as `/api/v1/write`, and
 * re-published one message per samples partition (SampleBatcher). Offsets are committed after the
 * samples are on the broker: at least once; a payload read twice repeats points the engines
 * already have, which they refuse as duplicates. A payload that cannot be read is dead-lettered
 * with the reason, and the rest keeps flowing.
 */
export class RemoteWriteIngress {
  private consumer: Consumer | undefined;
  readonly stats: RemoteWriteIngressStats = { messages: 0, samples: 0, skipped: {}, deadLetters: 0 };

  constructor(
    private readonly kafka: Kafka,
    private readonly producer: Producer,
    private readonly cfg: KafkaConfig & { topics: { remoteWrite: string } },
    private readonly batcher: SampleBatcher,
    private readonly mapper: LabelMapper,
    private readonly limits: { maxDecompressedBytes: number; maxSeries: number; maxSamples: number },
    private readonly log: Logger,
    private readonly onFatal: (reason: string) => void,
  ) {}

  async start(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: `${this.cfg.groupId}.remote-write`,
      sessionTimeout: this.cfg.sessionTimeoutMs,
      heartbeatInterval: Math.min(3000, this.cfg.sessionTimeoutMs / 3),
      maxBytesPerPartition: this.cfg.maxBytesPerPartition,
      allowAutoTopicCreation: false,
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (!e.payload.restart) this.onFatal(`remote-write ingress: ${e.payload.error.message}`);
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [this.cfg.topics.remoteWrite], fromBeginning: true });
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (p) => this.onBatch(p) });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const samples = [];
    const dead: { key: string | null; value: string }[] = [];
    let last: string | undefined;
    for (const m of batch.messages) {
      if (!isRunning() || isStale()) break;
      this.stats.messages++;
      try {
        if (m.value === null || m.value.length === 0) throw new RemoteWriteError('empty message value');
        const r = samplesOfWriteRequest(parseRemoteWrite(m.value, this.limits), this.mapper);
        for (const x of r.samples) samples.push(x);
        for (const [reason, n] of Object.entries(r.skipped)) this.stats.skipped[reason] = (this.stats.skipped[reason] ?? 0) + n;
      } catch (e) {
        if (!(e instanceof RemoteWriteError)) throw e;
        const reason = `invalid remote-write payload: ${e.message}`;
        this.log.warn({ topic: batch.topic, partition: batch.partition, offset: m.offset, reason }, 'kafka: remote-write payload dead-lettered');
        dead.push(deadLetterMessage(reason, batch, m));
      }
      last = m.offset;
    }
    if (last === undefined) return;
    // In requests the broker takes (a batch of payloads is many megabytes of samples).
    if (samples.length > 0) await sendChunked(this.producer, this.cfg.topics.samples, this.batcher.messages(samples));
    if (dead.length > 0) await sendChunked(this.producer, this.cfg.topics.deadLetter, dead);
    this.stats.samples += samples.length;
    this.stats.deadLetters += dead.length;
    resolveOffset(last);
    await this.consumer?.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
    await heartbeat();
  }
}

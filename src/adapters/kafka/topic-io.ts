import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type CompressionTypes, type Consumer, type EachBatchPayload, type KafkaMessage, type Message, type Producer } from 'kafkajs';
import type { KafkaConfig } from './config.js';
import type { Logger } from '../log/logger.js';

/** A kafkajs client that logs through pino: retried connection errors are warnings, not console noise. */
export function createKafka(cfg: Pick<KafkaConfig, 'clientId' | 'brokers'>, log: Logger): Kafka {
  const logCreator =
    () =>
    ({ level, log: entry }: { level: number; log: { message: string } & Record<string, unknown> }): void => {
      const { message, ...rest } = entry;
      if (level <= logLevel.WARN) log.warn({ kafkajs: rest }, message);
      else log.debug({ kafkajs: rest }, message);
    };
  return new Kafka({
    clientId: cfg.clientId,
    brokers: cfg.brokers,
    logLevel: logLevel.WARN,
    logCreator,
    retry: { initialRetryTime: 200, retries: 20, maxRetryTime: 5_000 },
  });
}

/** Log-end offsets per partition. */
export async function endOffsets(kafka: Kafka, topic: string): Promise<Map<number, { low: bigint; high: bigint }>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, { low: BigInt(p.low), high: BigInt(p.high) }]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads a topic from the given offsets (per partition; the log start where none is given) up to
 * the log end as it is now, then stops. A throwaway consumer group: nothing is committed.
 */
export async function readTopicRange(
  kafka: Kafka,
  topic: string,
  from: ReadonlyMap<number, bigint>,
  onMessage: (partition: number, m: KafkaMessage) => void,
  timeoutMs = 120_000,
): Promise<void> {
  const ends = await endOffsets(kafka, topic);
  const start = new Map<number, bigint>();
  for (const [p, { low, high }] of ends) {
    const s = from.get(p) ?? low;
    if (s < high) start.set(p, s > low ? s : low);
  }
  if (start.size === 0) return;
  const remaining = new Set(start.keys());
  const reader = kafka.consumer({ groupId: `harbinger-reader-${randomUUID()}`, allowAutoTopicCreation: false });
  await reader.connect();
  try {
    await reader.subscribe({ topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`reading ${topic} to its end took over ${timeoutMs} ms`)), timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      reader.on(reader.events.CRASH, (e) => {
        if (!e.payload.restart) {
          clearTimeout(timer);
          reject(e.payload.error);
        }
      });
      reader
        .run({
          eachMessage: async ({ partition, message }) => {
            const offset = BigInt(message.offset);
            const high = ends.get(partition)!.high;
            if (offset >= (start.get(partition) ?? high) && offset < high) onMessage(partition, message);
            if (offset + 1n >= high && remaining.delete(partition) && remaining.size === 0) done();
          },
        })
        .catch(reject);
      // Skip straight to the wanted offsets; only an optimisation, as earlier messages are
      // filtered above (kafkajs refuses a seek before its group exists).
      for (const [partition, offset] of start) {
        try {
          if (offset > ends.get(partition)!.low) reader.seek({ topic, partition, offset: offset.toString() });
        } catch {
          break;
        }
      }
    });
  } finally {
    await reader.disconnect();
  }
}

/** The newest value of each wanted key on a compacted topic. */
export async function readLatest(kafka: Kafka, topic: string, wanted: (key: string) => boolean): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  await readTopicRange(kafka, topic, new Map(), (_p, m) => {
    const key = m.key?.toString('utf8');
    if (key === undefined || !wanted(key)) return;
    if (m.value === null) out.delete(key);
    else out.set(key, m.value.toString('utf8'));
  });
  return out;
}

/** Runs tasks one at a time, in order: batches, timers and shutdown never interleave. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

/**
 * A consumer-group member whose every callback (rebalance, batch, timer tick) runs on one Serial:
 * offsets are committed by the owner (never automatically), after its state is checkpointed.
 */
export async function startSerialConsumer(
  kafka: Kafka,
  cfg: Pick<KafkaConfig, 'sessionTimeoutMs' | 'maxBytesPerPartition' | 'tickMs'>,
  log: Logger,
  opts: {
    groupId: string;
    topic: string;
    serial: Serial;
    name: string;
    onJoin(partitions: number[], rejoined: boolean): Promise<void>;
    onBatch(p: EachBatchPayload): Promise<void>;
    onTick(): Promise<void>;
    onFatal(reason: string): void;
  },
): Promise<{ consumer: Consumer; quiesce(): void }> {
  const consumer = kafka.consumer({
    groupId: opts.groupId,
    sessionTimeout: cfg.sessionTimeoutMs,
    heartbeatInterval: Math.min(3000, cfg.sessionTimeoutMs / 3),
    maxBytesPerPartition: cfg.maxBytesPerPartition,
    allowAutoTopicCreation: false,
  });
  consumer.on(consumer.events.CRASH, (e) => {
    // kafkajs restarts after retriable errors by itself; after any other it has stopped for good.
    if (!e.payload.restart) opts.onFatal(`${opts.name}: ${e.payload.error.message}`);
  });
  let memberId: string | undefined;
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const mine = e.payload.memberAssignment[opts.topic] ?? [];
    // A new member id: this consumer was out of the group in between (evicted, restarted).
    const rejoined = memberId !== undefined && e.payload.memberId !== memberId;
    memberId = e.payload.memberId;
    // Without its assignment taken up the member would refetch forever: better restarted.
    opts.serial.run(() => opts.onJoin(mine, rejoined)).catch((err: Error) => opts.onFatal(`${opts.name}: taking up the assignment failed: ${err.message}`));
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [opts.topic], fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (p) => opts.serial.run(() => opts.onBatch(p)) });
  let tickQueued = false;
  const timer = setInterval(() => {
    if (tickQueued) return; // never pile ticks up behind a long restore
    tickQueued = true;
    opts.serial
      .run(() => opts.onTick())
      .catch((err: Error) => log.warn({ err: err.message }, `kafka: ${opts.name}: tick failed`))
      .finally(() => (tickQueued = false));
  }, cfg.tickMs);
  timer.unref();
  // Shutdown's first step: no more ticks, no more fetches; the batch in hand still finishes.
  const quiesce = (): void => {
    clearInterval(timer);
    consumer.pause([{ topic: opts.topic }]);
  };
  return { consumer, quiesce };
}

/**
 * Sends in requests of at most `maxBytes` of values: a broker refuses a record batch larger than
 * the topic's max.message.bytes (1 MiB by default), and one backlog batch can emit more than that.
 */
export async function sendChunked(
  producer: Producer,
  topic: string,
  messages: Message[],
  opts: { maxBytes?: number; compression?: CompressionTypes } = {},
): Promise<void> {
  const limit = opts.maxBytes ?? 512 * 1024;
  let start = 0;
  let bytes = 0;
  for (let i = 0; i <= messages.length; i++) {
    const size = i < messages.length ? byteLength(messages[i]!) : 0;
    if (i === messages.length || (i > start && bytes + size > limit)) {
      if (i > start)
        await producer.send({ topic, messages: messages.slice(start, i), ...(opts.compression !== undefined ? { compression: opts.compression } : {}) });
      start = i;
      bytes = 0;
    }
    bytes += size;
  }
}

function byteLength(m: Message): number {
  const v = m.value;
  return (typeof v === 'string' ? Buffer.byteLength(v) : (v?.length ?? 0)) + (typeof m.key === 'string' ? m.key.length : (m.key?.length ?? 0)) + 64;
}

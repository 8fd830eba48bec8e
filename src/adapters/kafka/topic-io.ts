import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs';
import type { KafkaConfig } from '../../config/kafka.js';
import type { Logger } from '../log/logger.js';

/** A kafkajs client that logs through pino: retried connection errors are warnings, not console noise. */
export function createKafka(cfg: Pick<KafkaConfig, 'clientId' | 'brokers'>, log: Logger): Kafka {
  const logCreator = () => ({ level, log: entry }: { level: number; log: { message: string } & Record<string, unknown> }): void => {
    const { message, ...rest } = entry;
    if (level <= logLevel.WARN) log.warn({ kafkajs: rest }, message);
    else log.debug({ kafkajs: rest }, message);
  };
  return new Kafka({ clientId: cfg.clientId, brokers: cfg.brokers, logLevel: logLevel.WARN, logCreator, retry: { initialRetryTime: 200, retries: 20, maxRetryTime: 5_000 } });
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
export async function readTopicRange(kafka: Kafka, topic: string, from: ReadonlyMap<number, bigint>, onMessage: (partition: number, m: KafkaMessage) => void): Promise<void> {
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
      reader
        .run({
          eachMessage: async ({ partition, message }) => {
            const offset = BigInt(message.offset);
            const high = ends.get(partition)!.high;
            if (offset >= (start.get(partition) ?? high) && offset < high) onMessage(partition, message);
            if (offset + 1n >= high && remaining.delete(partition) && remaining.size === 0) resolve();
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

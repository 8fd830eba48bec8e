/**
 * Real single-node Kafka (KRaft, jars from Maven Central) driven with kafkajs 2.2.4.
 *
 * Timeouts: the FIRST run on a machine downloads ~46 MB of jars with Maven (about 10-15 s with a
 * cold ~/.m2 here; CI should prefetch, see test/support/kafka/broker.ts `prefetchCommand`), so
 * beforeAll gets 5 minutes. With the jars cached the whole file takes ~12-15 s.
 *
 * kafkajs quirks handled here (kafkajs is in maintenance mode):
 *  - "The group is rebalancing, so a rejoin is needed" crash loops (kafkajs #1527, #1720): only one
 *    consumer per group is ever alive at a time, each one is disconnected (LeaveGroup) before the
 *    broker restarts or the next one joins, and the broker runs group.initial.rebalance.delay.ms=0.
 *  - autoCommit is off; offsets are committed explicitly from eachBatch after the messages were
 *    processed, so "committed" means exactly what the test asserts on.
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Kafka, logLevel, Partitioners, type Consumer, type Producer } from 'kafkajs';
import { sleep, waitFor } from './support/process.js';
import { defaultKafkaCacheDir, ensureKafkaJars, JARS_MARKER, startKafka, type KafkaBroker } from './support/kafka/broker.js';
import { missing } from './support/requires.js';

const TOPIC = 'harbinger.test.events';
const GROUP = 'harbinger-test-group';
const KEYS = Array.from({ length: 10 }, (_, i) => `stack-${i}`);

interface Received {
  partition: number;
  offset: string;
  key: string;
  value: { seq: number; key: string; perKey: number };
}

const timings: Record<string, number | boolean> = {};
let broker: KafkaBroker | undefined;
const openClients: { disconnect(): Promise<void> }[] = [];

function client(b: KafkaBroker): Kafka {
  return new Kafka({
    clientId: 'harbinger-kafka-broker-test',
    brokers: b.brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 10 },
  });
}

async function newProducer(b: KafkaBroker): Promise<Producer> {
  const producer = client(b).producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  openClients.push(producer);
  return producer;
}

/** Starts a consumer in GROUP with eachBatch + explicit commits; resolves once it joined the group. */
async function startConsumer(b: KafkaBroker): Promise<{ consumer: Consumer; received: Received[]; joinMs: number; crashes: unknown[] }> {
  const consumer = client(b).consumer({
    groupId: GROUP,
    sessionTimeout: 6000, // the broker's group.min.session.timeout.ms
    rebalanceTimeout: 10_000,
    heartbeatInterval: 500,
    maxWaitTimeInMs: 100,
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 10 },
  });
  openClients.push(consumer);
  const received: Received[] = [];
  const crashes: unknown[] = [];
  consumer.on(consumer.events.CRASH, (e) => crashes.push(e.payload.error));
  const t0 = Date.now();
  const joined = new Promise<number>((resolve) => {
    consumer.on(consumer.events.GROUP_JOIN, () => resolve(Date.now() - t0));
  });
  await consumer.connect();
  await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
      let last: string | undefined;
      for (const m of batch.messages) {
        if (!isRunning() || isStale()) break;
        received.push({
          partition: batch.partition,
          offset: m.offset,
          key: m.key?.toString() ?? '',
          value: JSON.parse(m.value?.toString() ?? 'null') as Received['value'],
        });
        resolveOffset(m.offset);
        last = m.offset;
      }
      if (last !== undefined) {
        await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
      }
      await heartbeat();
    },
  });
  const joinMs = await Promise.race([
    joined,
    sleep(30_000).then(() => {
      throw new Error(`consumer did not join ${GROUP} within 30 s; crashes: ${String(crashes)}\n${b.logs()}`);
    }),
  ]);
  return { consumer, received, joinMs, crashes };
}

/** committed offset and high watermark per partition. */
async function offsets(b: KafkaBroker): Promise<{ committed: number[]; high: number[] }> {
  const admin = client(b).admin();
  await admin.connect();
  try {
    const [group] = await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] });
    const committed = [...(group?.partitions ?? [])].sort((a, c) => a.partition - c.partition).map((p) => Number(p.offset));
    const high = (await admin.fetchTopicOffsets(TOPIC)).sort((a, c) => a.partition - c.partition).map((p) => Number(p.high));
    return { committed, high };
  } finally {
    await admin.disconnect();
  }
}

describe.skipIf(missing('java', 'mvn'))('kafka broker harness (kafka_2.13 from Maven Central, KRaft) with kafkajs', () => {
  beforeAll(async () => {
    timings.jarsCached = existsSync(join(defaultKafkaCacheDir(), JARS_MARKER));
    let t = Date.now();
    await ensureKafkaJars();
    timings.jarsMs = Date.now() - t;
    t = Date.now();
    broker = await startKafka();
    timings.startMs = Date.now() - t;
  }, 300_000);

  afterAll(async () => {
    for (const c of openClients.splice(0)) await c.disconnect().catch(() => undefined);
    await broker?.cleanup();
    console.info(`[kafka-broker.test] timings ${JSON.stringify(timings)}`);
  });

  it('round-trips 100 keyed JSON messages through a 3-partition topic and a consumer group', async () => {
    const b = broker!;
    expect(b.brokers).toEqual([`127.0.0.1:${b.port}`]);
    await b.createTopics([{ topic: TOPIC, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] }]);

    const producer = await newProducer(b);
    const perKey = new Map<string, number>();
    const messages = Array.from({ length: 100 }, (_, seq) => {
      const key = KEYS[seq % KEYS.length]!;
      const n = perKey.get(key) ?? 0;
      perKey.set(key, n + 1);
      return { key, value: JSON.stringify({ seq, key, perKey: n }) };
    });
    for (let i = 0; i < messages.length; i += 25) {
      await producer.send({ topic: TOPIC, messages: messages.slice(i, i + 25) });
    }

    const { consumer, received, joinMs, crashes } = await startConsumer(b);
    timings.groupJoinMs = joinMs;
    const t = Date.now();
    await waitFor(() => received.length >= 100, 30_000, { description: '100 messages consumed', context: () => b.logs() });
    timings.consume100Ms = Date.now() - t;

    expect(crashes).toEqual([]);
    expect(received).toHaveLength(100);
    expect(received.map((r) => r.value.seq).sort((a, c) => a - c)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // Keys preserved, each key pinned to one partition, per-key order preserved.
    const partitionOfKey = new Map<string, Set<number>>();
    const seenPerKey = new Map<string, number[]>();
    for (const r of received) {
      expect(r.key).toBe(r.value.key);
      partitionOfKey.set(r.key, (partitionOfKey.get(r.key) ?? new Set()).add(r.partition));
      seenPerKey.set(r.key, [...(seenPerKey.get(r.key) ?? []), r.value.perKey]);
    }
    for (const key of KEYS) {
      expect(partitionOfKey.get(key)?.size, key).toBe(1);
      expect(seenPerKey.get(key), key).toEqual(Array.from({ length: 10 }, (_, i) => i));
    }
    expect(new Set(received.map((r) => r.partition))).toEqual(new Set([0, 1, 2]));
    for (const p of [0, 1, 2]) {
      const offs = received.filter((r) => r.partition === p).map((r) => Number(r.offset));
      expect(offs).toEqual(Array.from({ length: offs.length }, (_, i) => i));
    }

    // Commits land on the broker (commitOffsets is awaited inside eachBatch).
    const o = await waitFor(
      async () => {
        const cur = await offsets(b);
        return cur.committed.join() === cur.high.join() ? cur : undefined;
      },
      10_000,
      { description: 'committed offsets == high watermarks' },
    );
    expect(o.high.reduce((a, c) => a + c, 0)).toBe(100);

    // One member per group at a time (kafkajs #1527/#1720): leave the group before the restart.
    await consumer.disconnect();
    await producer.disconnect();
  });

  it('restart() keeps topics and committed offsets: no re-delivery, new messages flow', async () => {
    const b = broker!;
    const dataDir = b.dataDir;
    const t = Date.now();
    await b.restart();
    timings.restartMs = Date.now() - t;
    expect(b.dataDir).toBe(dataDir);

    const admin = client(b).admin();
    await admin.connect();
    const md = await admin.fetchTopicMetadata({ topics: [TOPIC] });
    await admin.disconnect();
    expect(md.topics[0]?.partitions).toHaveLength(3);
    const before = await offsets(b);
    expect(before.committed).toEqual(before.high);

    const { received, joinMs, crashes } = await startConsumer(b); // fromBeginning: true, same group
    timings.groupRejoinAfterRestartMs = joinMs;
    const producer = await newProducer(b);
    await producer.send({ topic: TOPIC, messages: [{ key: 'after-restart', value: JSON.stringify({ seq: 100, key: 'after-restart', perKey: 0 }) }] });

    await waitFor(() => received.length >= 1, 30_000, { description: 'post-restart message consumed', context: () => b.logs() });
    await sleep(1000); // give any (wrong) re-delivery from other partitions time to show up
    expect(crashes).toEqual([]);
    expect(received.map((r) => r.value.seq)).toEqual([100]);
    expect(received[0]?.key).toBe('after-restart');
    await waitFor(
      async () => {
        const cur = await offsets(b);
        return cur.committed.join() === cur.high.join();
      },
      10_000,
      { description: 'post-restart commit' },
    );
    expect((await offsets(b)).high.reduce((a, c) => a + c, 0)).toBe(101);
    for (const c of openClients.splice(0)) await c.disconnect();
  });

  it('kill() ends the broker at once and cleanup() removes its data dir', async () => {
    const b = broker!;
    const t = Date.now();
    await b.kill();
    timings.killMs = Date.now() - t;
    const refused = await new Promise<boolean>((resolve) => {
      const sock = connect(b.port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(false);
      });
      sock.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
    await b.cleanup();
    expect(existsSync(b.dataDir)).toBe(false);
  });
});

/**
 * Harbinger on a real Kafka broker (single-node KRaft from Maven Central jars; see
 * test/support/kafka/broker.ts): the same recommendations as `harbinger replay`, dead letters for
 * bad messages, and a broker restart in the middle of the stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { startKafka, type KafkaBroker } from './support/kafka/broker.js';
import { createHarbingerTopics, type HarbingerTopics } from './support/kafka/topics.js';
import { waitFor } from './support/process.js';
import { HarbingerService } from '../src/app/service.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { replayFile } from '../src/app/replay.js';
import { sampleKey } from '../src/adapters/kafka/message-codec.js';
import type { Recommendation } from '../src/domain/decision.js';

const FIXTURE = 'fixtures/scenarios/bad-deploy.jsonl';
let broker: KafkaBroker;
let kafka: Kafka;

beforeAll(async () => {
  broker = await startKafka();
  kafka = new Kafka({ clientId: 'test', brokers: broker.brokers, logLevel: logLevel.NOTHING });
}, 300_000);
afterAll(async () => {
  await broker?.cleanup();
});

function topics(prefix: string): Promise<HarbingerTopics> {
  return createHarbingerTopics(broker, prefix, 3);
}

/** Messages as a producer would send them: events alone, samples batched per key and minute. */
function messagesOf(lines: string[]): { topic: 'samples' | 'events'; key: string | null; value: string }[] {
  const out: { topic: 'samples' | 'events'; key: string | null; value: string }[] = [];
  let batch: { key: string; items: unknown[]; ts: string } | undefined;
  const flush = (): void => {
    if (batch !== undefined) out.push({ topic: 'samples', key: batch.key, value: JSON.stringify(batch.items.length === 1 ? batch.items[0] : batch.items) });
    batch = undefined;
  };
  for (const l of lines) {
    const o = JSON.parse(l) as { type: string; ts: string; service: string; metric: string };
    if (o.type === 'event') {
      flush();
      out.push({ topic: 'events', key: null, value: l });
      continue;
    }
    const key = sampleKey(o);
    if (batch === undefined || batch.key !== key || batch.ts !== o.ts) {
      flush();
      batch = { key, items: [], ts: o.ts };
    }
    batch.items.push(o);
  }
  flush();
  return out;
}

async function produce(producer: Producer, t: HarbingerTopics, msgs: ReturnType<typeof messagesOf>): Promise<void> {
  for (let i = 0; i < msgs.length; i += 2000) {
    const chunk = msgs.slice(i, i + 2000);
    const events = chunk.filter((m) => m.topic === 'events');
    const samples = chunk.filter((m) => m.topic === 'samples');
    if (events.length > 0) await producer.send({ topic: t.events, messages: events.map(({ key, value }) => ({ key, value })) });
    if (samples.length > 0) await producer.send({ topic: t.samples, messages: samples.map(({ key, value }) => ({ key, value })) });
  }
}

async function readAll(topic: string, expectAtLeast: number): Promise<{ key: string | null; value: string; offset: string }[]> {
  const out: { key: string | null; value: string; offset: string }[] = [];
  const c = kafka.consumer({ groupId: `reader-${Math.random()}` });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({ eachMessage: async ({ message }) => void out.push({ key: message.key?.toString() ?? null, value: message.value!.toString(), offset: message.offset }) });
  await waitFor(() => out.length >= expectAtLeast, 30_000, { description: `${expectAtLeast} messages on ${topic}` });
  await new Promise((r) => setTimeout(r, 500));
  await c.disconnect();
  return out;
}

async function startHarbinger(t: HarbingerTopics) {
  const config = parseConfig({ server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-kafka-')), wallClockWatermark: false }, kafka: { brokers: broker.brokers, groupId: `g-${t.samples}`, topics: t, checkpointIntervalMs: 500, sessionTimeoutMs: 6000 } });
  const service = new HarbingerService({ config, log: createLogger('silent'), apiToken: undefined });
  await service.start();
  return service;
}

const key = (r: Recommendation): string => `${r.id} ${r.action} ${r.status} ${r.ts} ${r.percent} ${r.targets.join(',')}`;

describe('Harbinger on a real Kafka broker', () => {
  const lines = readFileSync(FIXTURE, 'utf8').trim().split('\n');
  const msgs = messagesOf(lines);

  it('emits the same recommendations as harbinger replay, and dead-letters garbage without stopping', async () => {
    const expected: Recommendation[] = [];
    await replayFile(FIXTURE, { config: parseConfig({}), onEvent: (e) => e.type === 'recommendation' && expected.push(e) });
    const t = await topics('eq');
    const producer = kafka.producer();
    await producer.connect();
    await produce(producer, t, msgs.slice(0, 5000));
    // Garbage, truncated JSON and a wrong type in the middle of the stream.
    await producer.send({ topic: t.samples, messages: [{ key: 'bad', value: 'garbage' }, { key: 'bad', value: '{"type":"sample","ts":' }, { key: 'bad', value: '{"type":"sample","ts":"2026-03-01T01:00:00Z","signal":"latency","metric":"m","stack":"a","service":"s","value":"high"}' }] });
    await produce(producer, t, msgs.slice(5000));
    await producer.disconnect();

    const service = await startHarbinger(t);
    try {
      await waitFor(() => (service.kafkaStats()?.messages ?? 0) >= msgs.length + 3, 120_000, { description: 'all messages consumed', context: () => JSON.stringify(service.kafkaStats()) });
      await service.drainKafka();
      const recs = (await readAll(t.recommendations, expected.length)).map((m) => JSON.parse(m.value) as Recommendation);
      // The topic is partitioned by incident: order holds within an incident, not across them.
      expect(recs.map(key).sort()).toEqual(expected.map(key).sort());
      expect(recs.some((r) => r.action === 'rollback' && r.status === 'executed')).toBe(true);
      for (const inc of new Set(expected.map((r) => r.incidentId))) {
        expect(recs.filter((r) => r.incidentId === inc).map((r) => r.id)).toEqual(expected.filter((r) => r.incidentId === inc).map((r) => r.id));
      }
      // Keyed by incident id.
      const raw = await readAll(t.recommendations, expected.length);
      for (const m of raw) expect(m.key).toBe((JSON.parse(m.value) as Recommendation).incidentId);
      const dead = (await readAll(t.deadLetter, 3)).map((m) => JSON.parse(m.value));
      expect(dead.map((d) => d.reason)).toEqual([expect.stringContaining('invalid JSON'), expect.stringContaining('invalid JSON'), 'value: expected a finite number, got "high"']);
      expect(Buffer.from(dead[0].valueBase64, 'base64').toString()).toBe('garbage');
      expect(dead[0]).toMatchObject({ topic: t.samples, key: 'bad' });
      // Lag and rebalances on /metrics once the checkpoint committed everything.
      const lags = await (service as unknown as { kafka: { lag(): Promise<{ lag: number }[]> } }).kafka.lag();
      expect(lags.reduce((a, l) => a + l.lag, 0)).toBe(0);
      expect(service.kafkaStats()!.rebalances).toBeGreaterThanOrEqual(1);
    } finally {
      await service.stop();
    }
  }, 240_000);

  it('keeps going through a broker restart in the middle of the stream, with the same result', async () => {
    const expected: Recommendation[] = [];
    await replayFile(FIXTURE, { config: parseConfig({}), onEvent: (e) => e.type === 'recommendation' && expected.push(e) });
    const t = await topics('rs');
    const producer = kafka.producer();
    await producer.connect();
    await produce(producer, t, msgs.slice(0, Math.floor(msgs.length / 2)));
    const service = await startHarbinger(t);
    try {
      await waitFor(() => (service.kafkaStats()?.messages ?? 0) >= 2000, 60_000, { description: 'consumption under way' });
      await broker.restart();
      await produce(producer, t, msgs.slice(Math.floor(msgs.length / 2)));
      await producer.disconnect();
      await waitFor(() => (service.kafkaStats()?.messages ?? 0) >= msgs.length, 120_000, { description: 'all messages consumed after the restart', context: () => JSON.stringify(service.kafkaStats()) });
      await service.drainKafka();
      const recs = (await readAll(t.recommendations, expected.length)).map((m) => JSON.parse(m.value) as Recommendation);
      // At-least-once publishing: a batch re-sent after the restart may repeat, never differ.
      const byId = new Map<string, string>();
      for (const r of recs) {
        if (byId.has(r.id)) expect(key(r)).toBe(byId.get(r.id));
        byId.set(r.id, key(r));
      }
      expect([...byId.values()].sort()).toEqual(expected.map(key).sort());
    } finally {
      await service.stop();
    }
  }, 240_000);
});

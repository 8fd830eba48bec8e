/**
 * Harbinger on a real Kafka broker (single-node KRaft from Maven Central jars; see
 * test/support/kafka/broker.ts): the same recommendations as `harbinger replay`, dead letters for
 * bad messages, a broker restart in the middle of the stream, and two instances sharing the
 * partitions, one of them SIGKILLed mid-stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { startKafka, type KafkaBroker } from './support/kafka/broker.js';
import { createHarbingerTopics, type HarbingerTopics } from './support/kafka/topics.js';
import { sleep, spawnListening, trackTempDir, waitFor, type ManagedProcess } from './support/process.js';
import type { KafkaRuntime } from '../src/app/runtime/kafka-runtime.js';
import { HarbingerService } from '../src/app/service.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { replayFile } from '../src/app/replay.js';
import { sampleKey } from '../src/adapters/kafka/message-codec.js';
import { snappyCompress } from '../src/adapters/remote-write/snappy.js';
import { encodeWriteRequest, type WriteRequest } from '../src/adapters/remote-write/write-request.js';
import type { Recommendation } from '../src/domain/decision.js';
import { missing } from './support/requires.js';
import { stateKeyOf } from '../src/adapters/kafka/state-records.js';

const FIXTURE = 'fixtures/scenarios/bad-deploy.jsonl';
let broker: KafkaBroker;
let kafka: Kafka;

const noKafka = missing('java', 'mvn');

beforeAll(async () => {
  if (noKafka) return;
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

/** End of input: a watermark record on every samples partition (what `harbinger replay` does at end of file). */
async function endOfInput(producer: Producer, t: HarbingerTopics, lines: string[]): Promise<void> {
  const last = Date.parse((JSON.parse(lines[lines.length - 1]!) as { ts: string }).ts);
  const value = JSON.stringify({ type: 'watermark', ts: last + 3_600_000 });
  await producer.send({ topic: t.samples, messages: [0, 1, 2].map((partition) => ({ partition, key: 'end', value })) });
}

async function readAll(topic: string, expectAtLeast: number): Promise<{ key: string | null; value: string; offset: string }[]> {
  const out: { key: string | null; value: string; offset: string }[] = [];
  const c = kafka.consumer({ groupId: `reader-${Math.random()}` });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await c.run({
    eachMessage: async ({ message }) => void out.push({ key: message.key?.toString() ?? null, value: message.value!.toString(), offset: message.offset }),
  });
  await waitFor(() => out.length >= expectAtLeast, 30_000, { description: `${expectAtLeast} messages on ${topic}` });
  await new Promise((r) => setTimeout(r, 500));
  await c.disconnect();
  return out;
}

async function startHarbinger(t: HarbingerTopics) {
  const config = parseConfig(serveConfig(t));
  const service = new HarbingerService({ config, log: createLogger('silent'), apiToken: undefined });
  await service.start();
  return service;
}

/** Approval `auto`, like the replay each run is compared with (serve alone would wait for a human). */
function serveConfig(t: HarbingerTopics): Record<string, unknown> {
  return {
    decision: { execution: { approval: 'auto' } },
    server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-kafka-')), wallClockWatermark: false, tickSeconds: 1 },
    // Checkpoints in records of 8 KB: every restart and take-over below restores from parts (see StateRecords).
    kafka: { brokers: broker.brokers, groupId: `g-${t.samples}`, topics: t, checkpointIntervalMs: 500, sessionTimeoutMs: 6000, stateRecordChars: 8192 },
  };
}

async function totalLag(service: HarbingerService): Promise<number> {
  return (await (service.runtime as KafkaRuntime).lag()).reduce((a, l) => a + l.lag, 0);
}

/** What `harbinger replay` recommends on the fixture: every run below is compared with it (replayed once). */
let replayed: Promise<Recommendation[]> | undefined;
function replayRecommendations(): Promise<Recommendation[]> {
  replayed ??= (async () => {
    const out: Recommendation[] = [];
    await replayFile(FIXTURE, { config: parseConfig({}), onEvent: (e) => e.type === 'recommendation' && out.push(e) });
    return out;
  })();
  return replayed;
}

const key = (r: Recommendation): string => `${r.id} ${r.action} ${r.status} ${r.ts} ${r.percent} ${r.targets.join(',')}`;

describe.skipIf(noKafka)('Harbinger on a real Kafka broker', () => {
  const lines = readFileSync(FIXTURE, 'utf8').trim().split('\n');
  const msgs = messagesOf(lines);
  /** What the shards count: samples-topic messages (context events go to every instance separately). */
  const sampleMessages = msgs.filter((m) => m.topic === 'samples').length;
  /**
   * For the tests that produce while Harbinger runs: context events first, as a backfill must
   * send them. Live, an event is produced when its change happens, before the samples it
   * explains; produced in bulk after them, it could be read after samples far newer (two
   * consumers, no shared order) and be late.
   */
  const eventsFirst = [...msgs.filter((m) => m.topic === 'events'), ...msgs.filter((m) => m.topic === 'samples')];

  it('emits the same recommendations as harbinger replay, and dead-letters garbage without stopping', async () => {
    const expected = await replayRecommendations();
    const t = await topics('eq');
    const producer = kafka.producer();
    await producer.connect();
    await produce(producer, t, msgs.slice(0, 5000));
    // Garbage, truncated JSON and a wrong type in the middle of the stream.
    await producer.send({
      topic: t.samples,
      messages: [
        { key: 'bad', value: 'garbage' },
        { key: 'bad', value: '{"type":"sample","ts":' },
        { key: 'bad', value: '{"type":"sample","ts":"2026-03-01T01:00:00Z","signal":"latency","metric":"m","stack":"a","service":"s","value":"high"}' },
      ],
    });
    await produce(producer, t, msgs.slice(5000));
    await endOfInput(producer, t, lines);
    await producer.disconnect();

    const service = await startHarbinger(t);
    try {
      await waitFor(() => (service.kafkaStats()?.messages ?? 0) >= sampleMessages + 3 + 3, 120_000, {
        description: 'all messages consumed',
        context: () => JSON.stringify(service.kafkaStats()),
      });
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
      expect(dead.map((d) => d.reason)).toEqual([
        expect.stringContaining('invalid JSON'),
        expect.stringContaining('invalid JSON'),
        'value: expected a finite number, got "high"',
      ]);
      expect(Buffer.from(dead[0].valueBase64, 'base64').toString()).toBe('garbage');
      expect(dead[0]).toMatchObject({ topic: t.samples, key: 'bad' });
      // Lag (samples and detections topics) drains to zero once the checkpoints commit everything.
      await waitFor(async () => (await totalLag(service)) === 0, 20_000, { description: 'consumer lag 0' });
      expect(service.kafkaStats()!.rebalances).toBeGreaterThanOrEqual(1);
      expect(service.kafkaStats()).toMatchObject({ deciderActive: true, assignedPartitions: 3, duplicates: 0, outOfOrder: 0 });
      // harbinger_series counts the shards' series (the fixture has 2 stacks x 6 metrics), not an idle in-process pipeline's.
      const seriesGauge = async (): Promise<number> => (await service.metrics.series.get()).values[0]?.value ?? 0;
      await waitFor(async () => (await seriesGauge()) > 0, 5_000, { description: 'the series gauge set by a tick' });
      expect(await seriesGauge()).toBe([...service.runtime.series()].length);
      expect(await seriesGauge()).toBeGreaterThanOrEqual(12);
    } finally {
      await service.stop();
    }
  }, 240_000);

  it('keeps going through a broker restart in the middle of the stream, with the same result', async () => {
    const expected = await replayRecommendations();
    const t = await topics('rs');
    const producer = kafka.producer();
    await producer.connect();
    await produce(producer, t, eventsFirst.slice(0, Math.floor(msgs.length / 2)));
    const service = await startHarbinger(t);
    try {
      await waitFor(() => (service.kafkaStats()?.messages ?? 0) >= 2000, 60_000, { description: 'consumption under way' });
      await broker.restart();
      await produce(producer, t, eventsFirst.slice(Math.floor(msgs.length / 2)));
      await endOfInput(producer, t, lines);
      await producer.disconnect();
      await waitFor(() => (service.kafkaStats()?.messages ?? 0) >= sampleMessages + 3, 120_000, {
        description: 'all messages consumed after the restart',
        context: () => JSON.stringify(service.kafkaStats()),
      });
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
  it('forwards what is posted over HTTP one message per partition, and decides as replay does', async () => {
    const expected = await replayRecommendations();
    const t = await topics('http');
    const service = new HarbingerService({ config: parseConfig(serveConfig(t)), log: createLogger('silent'), apiToken: undefined });
    const { port } = await service.start();
    try {
      // Events first (see eventsFirst), then the samples in requests of 2,000 lines, as an agent would post them.
      const eventLines = lines.filter((l) => l.includes('"type":"event"'));
      const sampleLines = lines.filter((l) => !l.includes('"type":"event"'));
      const post = async (body: string[]): Promise<void> => {
        const r = await fetch(`http://127.0.0.1:${port}/v1/ingest`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body: body.join('\n'),
        });
        expect(r.status).toBe(200);
      };
      await post(eventLines);
      const requests = Math.ceil(sampleLines.length / 2000);
      for (let i = 0; i < sampleLines.length; i += 2000) await post(sampleLines.slice(i, i + 2000));
      const producer = kafka.producer();
      await producer.connect();
      await endOfInput(producer, t, lines);
      await producer.disconnect();
      const recs = (await readAll(t.recommendations, expected.length)).map((m) => JSON.parse(m.value) as Recommendation);
      expect(recs.map(key).sort()).toEqual(expected.map(key).sort());
      // At most one record per partition and request (3 partitions), not one per sample; plus the 3 end-of-input records.
      const records = await readAll(t.samples, requests + 3);
      expect(records.length).toBeLessThanOrEqual(3 * requests + 3);
      expect(sampleLines.length).toBeGreaterThan(20 * records.length);
    } finally {
      await service.stop();
    }
  }, 240_000);

  it('reads Prometheus remote-write payloads from a Kafka topic, re-keys them, dead-letters a bad one, and decides as replay does', async () => {
    const expected = await replayRecommendations();
    const t = await topics('rw');
    const ingress = `${t.samples}.remote-write`;
    await broker.createTopics([{ topic: ingress, numPartitions: 2 }]);
    // One payload per minute with every series, as a remote-write-to-Kafka adapter writes them.
    const payloads = new Map<string, WriteRequest>();
    let samples = 0;
    for (const l of lines) {
      const o = JSON.parse(l) as { type: string; ts: string; signal: string; metric: string; stack: string; service: string; value: number };
      if (o.type !== 'sample') continue;
      samples++;
      let w = payloads.get(o.ts);
      if (w === undefined) payloads.set(o.ts, (w = { timeseries: [] }));
      const labels = [
        { name: '__name__', value: o.metric },
        { name: 'service', value: o.service },
        { name: 'signal', value: o.signal },
        { name: 'stack', value: o.stack },
      ];
      w.timeseries.push({ labels, samples: [{ value: o.value, timestamp: Date.parse(o.ts) }] });
    }
    const producer = kafka.producer();
    await producer.connect();
    await produce(
      producer,
      t,
      msgs.filter((m) => m.topic === 'events'),
    );
    const values = [...payloads.values()].map((w) => ({ key: null, value: Buffer.from(snappyCompress(encodeWriteRequest(w))) }));
    await producer.send({ topic: ingress, messages: [{ key: null, value: Buffer.from('not snappy at all') }] });
    // One partition of the ingress topic, so the payloads stay in time order (an adapter keys by something stable).
    for (let i = 0; i < values.length; i += 500)
      await producer.send({ topic: ingress, messages: values.slice(i, i + 500).map((v) => ({ ...v, partition: 0 })) });
    await producer.disconnect();
    const service = new HarbingerService({
      config: parseConfig({ ...serveConfig(t), kafka: { ...(serveConfig(t).kafka as object), topics: { ...t, remoteWrite: ingress } } }),
      log: createLogger('silent'),
      apiToken: undefined,
    });
    await service.start();
    try {
      await waitFor(() => (service.kafkaStats()?.remoteWrite?.samples ?? 0) >= samples, 120_000, {
        description: 'every remote-write sample re-published',
        context: () => JSON.stringify(service.kafkaStats()?.remoteWrite),
      });
      const p2 = kafka.producer();
      await p2.connect();
      await endOfInput(p2, t, lines);
      await p2.disconnect();
      const recs = (await readAll(t.recommendations, expected.length)).map((m) => JSON.parse(m.value) as Recommendation);
      expect(recs.map(key).sort()).toEqual(expected.map(key).sort());
      expect(service.kafkaStats()?.remoteWrite).toMatchObject({ messages: payloads.size + 1, samples, deadLetters: 1 });
      const dead = (await readAll(t.deadLetter, 1)).map((m) => JSON.parse(m.value) as { reason: string; topic: string });
      expect(dead).toEqual([expect.objectContaining({ topic: ingress, reason: expect.stringContaining('invalid remote-write payload') })]);
    } finally {
      await service.stop();
    }
  }, 240_000);

  it('scales out: two instances share the partitions, one is SIGKILLed mid-stream, and the result equals replay with nothing lost or doubled', async () => {
    const expected = await replayRecommendations();
    const t = await topics('so');
    const dir = mkdtempSync(join(tmpdir(), 'hb-scale-'));
    const cleanup = trackTempDir(dir);
    const cfgFile = join(dir, 'harbinger.json');
    writeFileSync(cfgFile, JSON.stringify(serveConfig(t)));
    const producer = kafka.producer();
    await producer.connect();
    const cut1 = Math.floor(msgs.length * 0.4);
    const cut2 = Math.floor(msgs.length * 0.7);
    await produce(producer, t, eventsFirst.slice(0, cut1));

    const spawnInstance = (name: string) =>
      spawnListening(
        name,
        (port) => ({
          command: process.execPath,
          args: ['dist/src/cli/main.js', 'serve', '--port', String(port), '--config', cfgFile, '--data-dir', join(dir, name)],
        }),
        (port) => `http://127.0.0.1:${port}/healthz`,
        60_000,
      );
    const metric = async (port: number, name: string): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
      return m === null ? 0 : Number(m[1]);
    };
    const instances: { name: string; proc: ManagedProcess; port: number }[] = [];
    try {
      for (const name of ['a', 'b']) instances.push({ name, ...(await spawnInstance(name)) });
      // Both in the group, one of them deciding.
      await waitFor(
        async () => {
          const assigned = await Promise.all(instances.map((i) => metric(i.port, 'harbinger_kafka_assigned_partitions')));
          const deciders = await Promise.all(instances.map((i) => metric(i.port, 'harbinger_kafka_decider_active')));
          return assigned.every((n) => n >= 1) && assigned.reduce((a, n) => a + n, 0) === 3 && deciders.reduce((a, n) => a + n, 0) === 1;
        },
        60_000,
        { description: 'two members sharing 3 partitions, one decider', context: () => instances.map((i) => i.proc.logs().slice(-1500)).join('\n---\n') },
      );
      await waitFor(
        async () => (await Promise.all(instances.map((i) => metric(i.port, 'harbinger_kafka_messages_total')))).reduce((a, n) => a + n, 0) >= cut1 * 0.8,
        60_000,
        { description: 'first part consumed' },
      );

      // More data, and while it is being consumed, SIGKILL the instance that decides.
      const victim = (await metric(instances[0]!.port, 'harbinger_kafka_decider_active')) === 1 ? instances[0]! : instances[1]!;
      const survivor = victim === instances[0] ? instances[1]! : instances[0]!;
      await produce(producer, t, eventsFirst.slice(cut1, cut2));
      await sleep(150);
      process.kill(victim.proc.pid!, 'SIGKILL');
      await victim.proc.exited;
      await produce(producer, t, eventsFirst.slice(cut2));
      await endOfInput(producer, t, lines);

      // The survivor takes over every partition and the decider after the session timeout.
      await waitFor(
        async () =>
          (await metric(survivor.port, 'harbinger_kafka_assigned_partitions')) === 3 && (await metric(survivor.port, 'harbinger_kafka_decider_active')) === 1,
        60_000,
        { description: 'survivor owns everything', context: () => survivor.proc.logs().slice(-3000) },
      );
      const end = Date.parse((JSON.parse(lines[lines.length - 1]!) as { ts: string }).ts) + 3_600_000;
      await waitFor(async () => (await metric(survivor.port, 'harbinger_kafka_decider_watermark_seconds')) * 1000 >= end, 60_000, {
        description: 'the decider decided up to the end of input',
        context: () => survivor.proc.logs().slice(-3000),
      });
      const raw = await readAll(t.recommendations, 1);
      await sleep(3000); // anything duplicated would arrive now
      const recs = (await readAll(t.recommendations, raw.length)).map((m) => JSON.parse(m.value) as Recommendation);
      // Exactly the single-instance result: nothing lost, nothing published twice.
      expect(recs.map(key).sort()).toEqual(expected.map(key).sort());
      expect(recs.length).toBe(expected.length);
      for (const inc of new Set(expected.map((r) => r.incidentId))) {
        expect(recs.filter((r) => r.incidentId === inc).map((r) => `${r.id} ${r.status}`)).toEqual(
          expected.filter((r) => r.incidentId === inc).map((r) => `${r.id} ${r.status}`),
        );
      }
      // The survivor took the decider over from a checkpoint written in parts (and the shards' larger
      // checkpoints were parted too; a partition with few series fits in one 8 KB record).
      const state = await readAll(t.state, 1);
      const parted = new Set(state.flatMap((m) => (m.key !== null && m.key !== stateKeyOf(m.key) ? [stateKeyOf(m.key)] : [])));
      expect(parted.has(`g-${t.samples}/decide`)).toBe(true);
      expect([...parted].filter((k) => k.startsWith(`g-${t.samples}/shard/`)).length).toBeGreaterThanOrEqual(2);
      // The survivor read every partition to its end and committed it.
      const admin = kafka.admin();
      await admin.connect();
      try {
        await waitFor(
          async () => {
            const ends = await admin.fetchTopicOffsets(t.samples);
            const committed = (await admin.fetchOffsets({ groupId: `g-${t.samples}`, topics: [t.samples] }))[0]!.partitions;
            return ends.every((e) => committed.find((c) => c.partition === e.partition)?.offset === e.high);
          },
          30_000,
          { description: 'samples offsets committed to the log end' },
        );
        // SIGTERM: the survivor finishes, checkpoints, commits and leaves both groups.
        await survivor.proc.stop(20_000);
        expect(survivor.proc.exitInfo()).toEqual({ code: 0, signal: null });
        const groups = (await admin.describeGroups([`g-${t.samples}`, `g-${t.samples}.decide`])).groups;
        expect(groups.map((g) => [g.groupId, g.members.length])).toEqual([
          [`g-${t.samples}`, 0],
          [`g-${t.samples}.decide`, 0],
        ]);
      } finally {
        await admin.disconnect();
      }
    } finally {
      await producer.disconnect();
      for (const i of instances) await i.proc.stop();
      await cleanup();
    }
  }, 300_000);
});

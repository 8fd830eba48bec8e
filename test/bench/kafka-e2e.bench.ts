/**
 * `npm run bench:kafka`: samples/s through a real broker to recommendations, and consumer lag
 * under a sustained load, beside the in-process figure. Runs with vitest (for the broker harness
 * in test/support) but is a benchmark: it prints figures and asserts only that the run completed.
 */
import { describe, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import { startKafka } from '../support/kafka/broker.js';
import { spawnListening, type ManagedProcess } from '../support/process.js';
import { createHarbingerTopics } from '../support/kafka/topics.js';
import { HarbingerService } from '../../src/app/service.js';
import type { KafkaRuntime } from '../../src/app/runtime/kafka-runtime.js';
import { parseConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/adapters/log/logger.js';
import { Pipeline } from '../../src/pipeline/pipeline.js';
import { syntheticSamples } from '../../src/bench/synthetic.js';
import { sampleKey } from '../../src/adapters/kafka/message-codec.js';
import { SampleBatcher } from '../../src/adapters/kafka/sample-batches.js';
import type { Sample } from '../../src/domain/types.js';

const SERIES = 50;
const MINUTES = 7 * 1440;
/** The batched run: more series per service (as real services have), one message per partition per minute. */
const BATCH_SERIES = 1000;
const BATCH_MINUTES = 1440;
const PARTITIONS = 6;

/**
 * Samples as a batching producer sends them (a remote-write-to-Kafka adapter, an agent flushing a
 * scrape): per minute, one message per partition holding every sample whose key hashes there, so
 * all stacks of a metric still meet in one partition (kafkajs' default partitioner on the key).
 */
function batchedMessages(samples: readonly Sample[]): { partition: number; key: string; value: string }[] {
  // What Harbinger's own HTTP forwarding sends (SampleBatcher), one minute at a time.
  const batcher = new SampleBatcher('samples', PARTITIONS);
  const out: { partition: number; key: string; value: string }[] = [];
  for (let i = 0; i < samples.length; ) {
    let j = i;
    while (j < samples.length && samples[j]!.ts === samples[i]!.ts) j++;
    out.push(...batcher.messages(samples.slice(i, j)));
    i = j;
  }
  return out;
}

/** The batched backlog onto `topic`, then an end-of-input watermark on every partition. */
async function produceBacklog(producer: Producer, topic: string, messages: { partition: number; key: string; value: string }[], end: number): Promise<void> {
  await producer.connect();
  for (let i = 0; i < messages.length; i += 200) await producer.send({ topic, messages: messages.slice(i, i + 200) });
  const value = JSON.stringify({ type: 'watermark', ts: end });
  await producer.send({ topic, messages: Array.from({ length: PARTITIONS }, (_, partition) => ({ partition, key: 'end', value })) });
  await producer.disconnect();
}

/** A bare kafkajs consumer reading `topic` from the start: messages/s and values parsed/s, the ceiling beside Harbinger. */
async function rawConsumeRate(kafka: Kafka, topic: string, total: number, parse: boolean): Promise<number> {
  const consumer = kafka.consumer({ groupId: `raw-${topic}-${parse}`, sessionTimeout: 6000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let items = 0;
  let t0 = 0;
  const done = new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        if (t0 === 0) t0 = performance.now();
        for (const m of batch.messages) {
          if (parse && m.value !== null) {
            const v = JSON.parse(m.value.toString('utf8')) as unknown;
            items += Array.isArray(v) ? v.length : 1;
          }
          seen++;
        }
        if (seen >= total) resolve();
      },
    });
  });
  await done;
  const secs = (performance.now() - t0) / 1000;
  await consumer.disconnect();
  return (parse ? items : seen) / secs;
}

describe('Kafka end to end', () => {
  it('prints throughput and lag', async () => {
    const broker = await startKafka();
    try {
      const kafka = new Kafka({ clientId: 'bench', brokers: broker.brokers, logLevel: logLevel.NOTHING });
      const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');
      const figures: Record<string, unknown> = {};
      const t = await createHarbingerTopics(broker, 'b', 6);
      const samples = syntheticSamples(SERIES, MINUTES);

      // In-process reference on the same data.
      const inProc = new Pipeline(parseConfig({}), { output: () => {} });
      let t0 = performance.now();
      for (const s of samples) inProc.offerSample(s);
      inProc.flush();
      const inProcRate = samples.length / ((performance.now() - t0) / 1000);

      // Produce everything first (one message per key and minute, as a batching producer would).
      const producer = kafka.producer();
      await producer.connect();
      const messages = samples.map((s) => ({ key: sampleKey(s), value: JSON.stringify({ type: 'sample', ...s }) }));
      t0 = performance.now();
      for (let i = 0; i < messages.length; i += 5000) await producer.send({ topic: t.samples, messages: messages.slice(i, i + 5000) });
      const produceRate = messages.length / ((performance.now() - t0) / 1000);
      // End of input on every partition, so the last minutes are decided too.
      const end = samples[samples.length - 1]!.ts + 3_600_000;
      await producer.send({
        topic: t.samples,
        messages: [0, 1, 2, 3, 4, 5].map((partition) => ({ partition, key: 'end', value: JSON.stringify({ type: 'watermark', ts: end }) })),
      });
      await producer.disconnect();

      // Then let Harbinger drain the backlog, sampling its consumer lag as it goes.
      const config = parseConfig({
        server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-bench-')), wallClockWatermark: false },
        kafka: { brokers: broker.brokers, groupId: 'bench', topics: t, checkpointIntervalMs: 1000, sessionTimeoutMs: 6000 },
      });
      const service = new HarbingerService({ config, log: createLogger(process.env['BENCH_LOG'] ?? 'silent'), apiToken: undefined });
      t0 = performance.now();
      await service.start();
      const lags: number[] = [];
      for (;;) {
        const consumed = service.kafkaStats()?.messages ?? 0;
        const lag = (await (service.runtime as KafkaRuntime).lag()).reduce((a, l) => a + l.lag, 0);
        lags.push(lag);
        if (consumed >= messages.length && (service.kafkaStats()?.deciderWatermark ?? -Infinity) >= end) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const secs = (performance.now() - t0) / 1000;
      await new Promise((r) => setTimeout(r, 1500)); // one more checkpoint commits the tail
      const finalLag = (await (service.runtime as KafkaRuntime).lag()).reduce((a, l) => a + l.lag, 0);
      const stats = service.kafkaStats()!;
      await service.stop();
      console.log(
        [
          '',
          `Kafka end to end: ${SERIES} series × ${MINUTES / 1440} days = ${fmt(messages.length)} samples, 6 partitions (6 detection engines), one instance deciding`,
          `  producer                                  ${fmt(produceRate).padStart(10)} msgs/s`,
          `  broker → shards → decider → recommendations ${fmt(messages.length / secs).padStart(8)} samples/s  (${secs.toFixed(1)} s until the decider's watermark passed the end, incl. group joins; ${stats.checkpoints} checkpoints, last ${stats.lastCheckpointMs} ms)`,
          `  in-process pipeline, same data            ${fmt(inProcRate).padStart(10)} samples/s`,
          `  consumer lag (committed offsets, every 0.5 s while draining): ${lags.map(fmt).join(' → ')}; after the final checkpoint ${fmt(finalLag)}`,
        ].join('\n'),
      );

      figures.backlog = {
        series: SERIES,
        samples: messages.length,
        samplesPerSec: messages.length / secs,
        producerMsgsPerSec: produceRate,
        inProcessSamplesPerSec: inProcRate,
      };

      // The same path with batched messages and more series per service.
      const bigSamples = syntheticSamples(BATCH_SERIES, BATCH_MINUTES, 7, 50);
      const tb = await createHarbingerTopics(broker, 'c', PARTITIONS);
      const batched = batchedMessages(bigSamples);
      const endB = bigSamples[bigSamples.length - 1]!.ts + 3_600_000;
      await produceBacklog(kafka.producer(), tb.samples, batched, endB);
      const rawMsgs = await rawConsumeRate(kafka, tb.samples, batched.length, false);
      const rawParsed = await rawConsumeRate(kafka, tb.samples, batched.length, true);
      const inProcB = new Pipeline(parseConfig({}), { output: () => {} });
      t0 = performance.now();
      for (const x of bigSamples) inProcB.offerSample(x);
      inProcB.flush();
      const inProcRateB = bigSamples.length / ((performance.now() - t0) / 1000);
      const configB = parseConfig({
        server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-bench-')), wallClockWatermark: false },
        kafka: { brokers: broker.brokers, groupId: 'bench-batched', topics: tb, checkpointIntervalMs: 1000, sessionTimeoutMs: 6000 },
      });
      const serviceB = new HarbingerService({ config: configB, log: createLogger(process.env['BENCH_LOG'] ?? 'silent'), apiToken: undefined });
      t0 = performance.now();
      await serviceB.start();
      for (;;) {
        if ((serviceB.kafkaStats()?.messages ?? 0) >= batched.length && (serviceB.kafkaStats()?.deciderWatermark ?? -Infinity) >= endB) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      const secsB = (performance.now() - t0) / 1000;
      await serviceB.stop();
      const batchedRate = bigSamples.length / secsB;
      console.log(
        [
          `Batched: ${BATCH_SERIES} series (10 services) × ${BATCH_MINUTES / 1440} day = ${fmt(bigSamples.length)} samples in ${fmt(batched.length)} messages (one per partition per minute), ${PARTITIONS} partitions, one instance`,
          `  broker → shards → decider → recommendations ${fmt(batchedRate).padStart(8)} samples/s  (${secsB.toFixed(1)} s, incl. group joins)`,
          `  bare kafkajs consumer, same topic         ${fmt(rawMsgs).padStart(10)} msgs/s; with JSON.parse of each value ${fmt(rawParsed)} samples/s (the ceiling)`,
          `  in-process pipeline, same data            ${fmt(inProcRateB).padStart(10)} samples/s`,
          `  Harbinger on Kafka at ${((100 * batchedRate) / rawParsed).toFixed(0)} % of the parse ceiling, ${((100 * batchedRate) / inProcRateB).toFixed(0)} % of in-process`,
        ].join('\n'),
      );
      figures.batched = {
        series: BATCH_SERIES,
        samples: bigSamples.length,
        messages: batched.length,
        samplesPerSec: batchedRate,
        rawConsumeMsgsPerSec: rawMsgs,
        rawConsumeParseSamplesPerSec: rawParsed,
        inProcessSamplesPerSec: inProcRateB,
      };

      // Scale-out: the same batched backlog for 1, 2 and 3 instances, each a separate `harbinger serve`
      // process of one consumer group (group joins and rebalances included: that is what adding an
      // instance costs). On this machine they share 2 cores with the broker.
      const scale: { instances: number; seconds: number; samplesPerSec: number }[] = [];
      for (const n of [1, 2, 3]) {
        const tn = await createHarbingerTopics(broker, `x${n}`, PARTITIONS);
        await produceBacklog(kafka.producer(), tn.samples, batched, endB);
        const dir = mkdtempSync(join(tmpdir(), 'hb-bench-scale-'));
        const cfgFile = join(dir, 'harbinger.json');
        writeFileSync(
          cfgFile,
          JSON.stringify({
            server: { wallClockWatermark: false, tickSeconds: 0.2 },
            kafka: { brokers: broker.brokers, groupId: `scale-${n}`, topics: tn, checkpointIntervalMs: 1000, sessionTimeoutMs: 6000 },
          }),
        );
        const metric = async (port: number, name: string): Promise<number> => {
          const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
          return m === null ? 0 : Number(m[1]);
        };
        const procs: { proc: ManagedProcess; port: number }[] = [];
        const started = performance.now();
        try {
          procs.push(
            ...(await Promise.all(
              Array.from({ length: n }, (_, k) =>
                spawnListening(
                  `scale-${n}-${k}`,
                  (port) => ({
                    command: process.execPath,
                    args: ['dist/src/cli/main.js', 'serve', '--port', String(port), '--config', cfgFile, '--data-dir', join(dir, String(k))],
                  }),
                  (port) => `http://127.0.0.1:${port}/healthz`,
                  60_000,
                ),
              ),
            )),
          );
          for (;;) {
            const consumed = (await Promise.all(procs.map((x) => metric(x.port, 'harbinger_kafka_messages_total')))).reduce((a, v) => a + v, 0);
            const wm = Math.max(...(await Promise.all(procs.map((x) => metric(x.port, 'harbinger_kafka_decider_watermark_seconds')))));
            if (consumed >= batched.length && wm * 1000 >= endB) break;
            if (performance.now() - started > 300_000) throw new Error(`scale-out with ${n} instances did not finish in 300 s`);
            await new Promise((r) => setTimeout(r, 200));
          }
        } finally {
          await Promise.all(procs.map((x) => x.proc.stop()));
        }
        const seconds = (performance.now() - started) / 1000;
        scale.push({ instances: n, seconds, samplesPerSec: bigSamples.length / seconds });
      }
      console.log(
        [
          `Scale-out, the batched backlog again, each instance a separate process (process start, group joins and rebalances included):`,
          ...scale.map(
            (x) =>
              `  ${x.instances} instance${x.instances > 1 ? 's' : ' '}                               ${fmt(x.samplesPerSec).padStart(10)} samples/s  (${x.seconds.toFixed(1)} s)`,
          ),
        ].join('\n'),
      );
      figures.scaleOut = scale;

      // Sustained load: a producer at a fixed rate while Harbinger consumes; lag sampled every second.
      const RATE = 20_000;
      const SECONDS = 20;
      const t2 = await createHarbingerTopics(broker, 's', 6);
      const live = syntheticSamples(SERIES, Math.ceil((RATE * SECONDS) / SERIES));
      const config2 = parseConfig({
        server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-bench-')), wallClockWatermark: false },
        kafka: { brokers: broker.brokers, groupId: 'bench-live', topics: t2, checkpointIntervalMs: 1000, sessionTimeoutMs: 6000 },
      });
      const service2 = new HarbingerService({ config: config2, log: createLogger(process.env['BENCH_LOG'] ?? 'silent'), apiToken: undefined });
      await service2.start();
      const producer2 = kafka.producer();
      await producer2.connect();
      const liveLags: number[] = [];
      const started = performance.now();
      let sent = 0;
      let nextSample = performance.now() + 1000;
      while (sent < live.length) {
        const due = Math.min(live.length, Math.floor(((performance.now() - started) / 1000) * RATE));
        if (due > sent) {
          const batch = live.slice(sent, due);
          await producer2.send({ topic: t2.samples, messages: batch.map((x) => ({ key: sampleKey(x), value: JSON.stringify({ type: 'sample', ...x }) })) });
          sent = due;
        }
        if (performance.now() >= nextSample) {
          nextSample += 1000;
          liveLags.push((await (service2.runtime as KafkaRuntime).lag()).filter((l) => l.topic === t2.samples).reduce((a, l) => a + l.lag, 0));
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      const achieved = sent / ((performance.now() - started) / 1000);
      await producer2.disconnect();
      await new Promise((r) => setTimeout(r, 2500));
      const settledLag = (await (service2.runtime as KafkaRuntime).lag()).filter((l) => l.topic === t2.samples).reduce((a, l) => a + l.lag, 0);
      await service2.stop();
      const sorted = [...liveLags].sort((x, y) => x - y);
      console.log(
        [
          `Sustained load: ${fmt(achieved)} samples/s offered for ${SECONDS} s (one sample per message), one instance, 6 partitions`,
          `  consumer lag on the samples topic, once a second (committed offsets, checkpoint every 1 s): median ${fmt(sorted[Math.floor(sorted.length / 2)] ?? 0)}, max ${fmt(sorted[sorted.length - 1] ?? 0)}; 2.5 s after the producer stopped: ${fmt(settledLag)}`,
          `  lag series: ${liveLags.map(fmt).join(' ')}`,
        ].join('\n'),
      );
      figures.sustained = {
        offeredSamplesPerSec: achieved,
        medianLag: sorted[Math.floor(sorted.length / 2)] ?? 0,
        maxLag: sorted[sorted.length - 1] ?? 0,
        settledLag,
      };
      // The last line: every figure as JSON (field names in the README's performance section).
      console.log(JSON.stringify({ kafka: figures }));
    } finally {
      await broker.cleanup();
    }
  }, 600_000);
});

import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { SAMPLES_PER_MESSAGE, SampleBatcher } from '../src/adapters/kafka/sample-batches.js';
import { decodeMessage, sampleKey } from '../src/adapters/kafka/message-codec.js';
import type { Sample } from '../src/domain/types.js';

const sample = (i: number, metric: string, stack: string): Sample => ({
  ts: Date.UTC(2026, 2, 1) + i * 60_000,
  service: `svc-${i % 7}`,
  metric,
  stack,
  signal: 'latency',
  value: 100 + i,
});

describe('samples forwarded to Kafka in one message per partition', () => {
  it('puts each sample in the partition a keyed send would, keeps arrival order there, and splits big groups', () => {
    const b = new SampleBatcher('harbinger.samples', 6);
    const keyed = Partitioners.DefaultPartitioner();
    const metadata = Array.from({ length: 6 }, (_, i) => ({ partitionErrorCode: 0, partitionId: i, leader: 0, replicas: [0], isr: [0] }));
    const samples: Sample[] = [];
    for (let i = 0; i < 15_000; i++) samples.push(sample(i, `m${i % 13}`, i % 2 === 0 ? 'eu' : 'us'));
    const messages = b.messages(samples);
    const seen: Sample[] = [];
    for (const m of messages) {
      const d = decodeMessage(Buffer.from(m.value));
      if (!d.ok) throw new Error(d.reason);
      expect(d.samples.length).toBeLessThanOrEqual(SAMPLES_PER_MESSAGE);
      for (const s of d.samples) {
        expect(keyed({ topic: 'harbinger.samples', partitionMetadata: metadata, message: { key: sampleKey(s), value: null } })).toBe(m.partition);
        seen.push(s);
      }
    }
    // Nothing lost or added; within a partition the samples keep the order they came in.
    expect(seen).toHaveLength(samples.length);
    for (let p = 0; p < 6; p++) {
      const inPartition = messages.filter((m) => m.partition === p).flatMap((m) => (decodeMessage(Buffer.from(m.value)) as { samples: Sample[] }).samples);
      const expected = samples.filter((s) => b.partitionOf(sampleKey(s)) === p);
      expect(inPartition).toEqual(expected);
    }
    // 15,000 samples over at most 6 partitions: far fewer records than samples, and at least one group was split.
    expect(messages.length).toBeLessThan(20);
    expect(messages.length).toBeGreaterThan(new Set(messages.map((m) => m.partition)).size);
  });
});

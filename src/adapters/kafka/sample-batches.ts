import { Partitioners } from 'kafkajs';
import type { Sample } from '../../domain/types.js';
import { sampleKey } from './message-codec.js';

/** Samples per message at most: ~150 bytes each as JSON, so well under the broker's 1 MiB default per record. */
export const SAMPLES_PER_MESSAGE = 2000;

/**
 * Samples as messages for the samples topic: one message per partition (up to SAMPLES_PER_MESSAGE
 * samples, a JSON array), each holding the samples whose key (`service|metric`) kafkajs' default
 * partitioner sends to that partition. Every stack of a metric still meets in one engine, and what
 * crosses the broker is a record per partition and request, not per sample. Arrival order is kept
 * within a partition.
 */
export class SampleBatcher {
  private readonly partitioner = Partitioners.DefaultPartitioner();
  private readonly metadata: { partitionErrorCode: number; partitionId: number; leader: number; replicas: number[]; isr: number[] }[];
  private readonly byKey = new Map<string, number>();

  constructor(
    private readonly topic: string,
    readonly partitions: number,
  ) {
    this.metadata = Array.from({ length: partitions }, (_, i) => ({ partitionErrorCode: 0, partitionId: i, leader: 0, replicas: [0], isr: [0] }));
  }

  /** The partition a key's messages go to: the same as a keyed send through kafkajs. */
  partitionOf(key: string): number {
    let p = this.byKey.get(key);
    if (p === undefined) {
      p = this.partitioner({ topic: this.topic, partitionMetadata: this.metadata, message: { key, value: null } });
      if (this.byKey.size < 100_000) this.byKey.set(key, p);
    }
    return p;
  }

  messages(samples: readonly Sample[]): { partition: number; key: string; value: string }[] {
    const groups = new Map<number, Sample[]>();
    for (const s of samples) {
      const p = this.partitionOf(sampleKey(s));
      let list = groups.get(p);
      if (list === undefined) groups.set(p, (list = []));
      list.push(s);
    }
    const out: { partition: number; key: string; value: string }[] = [];
    for (const [partition, list] of groups)
      for (let i = 0; i < list.length; i += SAMPLES_PER_MESSAGE)
        out.push({
          partition,
          key: `batch-${partition}`,
          value: JSON.stringify(list.slice(i, i + SAMPLES_PER_MESSAGE).map((s) => ({ type: 'sample', ...s }))),
        });
    return out;
  }
}

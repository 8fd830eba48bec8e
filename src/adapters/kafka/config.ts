import { z } from 'zod';

/** Kafka: where samples and context events come from, where decisions and state go. */
export const kafkaConfigSchema = z.strictObject({
  brokers: z.array(z.string().min(1)).min(1),
  clientId: z.string().default('harbinger'),
  groupId: z.string().default('harbinger'),
  topics: z
    .strictObject({
      /** Samples, keyed `service|metric` so every stack of a metric lands in one partition. */
      samples: z.string().default('harbinger.samples'),
      events: z.string().default('harbinger.events'),
      /**
       * Internal, exactly one partition: every shard's detections and watermarks, read by the one
       * decider of the group (one change in flight across all instances).
       */
      detections: z.string().default('harbinger.detections'),
      recommendations: z.string().default('harbinger.recommendations'),
      deadLetter: z.string().default('harbinger.dlq'),
      /** Compacted: one checkpoint per samples partition and one for the decider, so work resumes exactly where it moved. */
      state: z.string().default('harbinger.state'),
      /**
       * Optional: Prometheus remote-write payloads (snappy protobuf, as a remote-write-to-Kafka
       * adapter writes them), mapped with the `mapping` section and re-published to `samples`
       * one message per partition (see RemoteWriteIngress). Absent: not read.
       */
      remoteWrite: z.string().min(1).optional(),
    })
    .prefault({}),
  /** State is checkpointed and offsets committed this often (and on shutdown). */
  checkpointIntervalMs: z.number().int().positive().default(10_000),
  /**
   * Characters of checkpoint text per record of the state topic (before compression). A larger
   * checkpoint is split across records (see StateRecords), so none passes the topic's
   * max.message.bytes: the default fits even the broker's default of 1 MiB.
   */
  stateRecordChars: z.number().int().min(1024).default(1_000_000),
  /** Bytes fetched per partition per request: the unit of backpressure. */
  maxBytesPerPartition: z.number().int().positive().default(1_048_576),
  sessionTimeoutMs: z.number().int().positive().default(30_000),
  /**
   * A samples partition read to its end with no new message for this long stops holding back
   * the merged watermark (an empty or abandoned partition would otherwise stall every decision).
   */
  idleTimeoutMs: z.number().int().positive().default(30_000),
  /** How often shards publish their watermark when no data moves it (and idleness is checked). */
  tickMs: z.number().int().positive().default(500),
});

export type KafkaConfig = z.infer<typeof kafkaConfigSchema>;

import { Counter, Gauge, type Registry } from 'prom-client';

/** The Kafka runtime's families (harbinger_kafka_*). */
export function kafkaMetrics(registry: Registry) {
  return {
    lag: new Gauge({
      name: 'harbinger_kafka_consumer_lag_messages',
      help: 'Messages not yet committed by the consumer group, per input partition.',
      labelNames: ['topic', 'partition'],
      registers: [registry],
    }),
    rebalances: new Counter({
      name: 'harbinger_kafka_rebalances_total',
      help: 'Consumer group joins (rebalances) seen by this instance.',
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'harbinger_kafka_dead_letters_total',
      help: 'Messages sent to the dead-letter topic.',
      registers: [registry],
    }),
    messages: new Counter({
      name: 'harbinger_kafka_messages_total',
      help: 'Samples-topic messages processed by this instance.',
      registers: [registry],
    }),
    assigned: new Gauge({
      name: 'harbinger_kafka_assigned_partitions',
      help: 'Samples partitions this instance owns (one detection engine each).',
      registers: [registry],
    }),
    decider: new Gauge({
      name: 'harbinger_kafka_decider_active',
      help: '1 while this instance runs the decision workflow (owns the detections partition).',
      registers: [registry],
    }),
    deciderWatermark: new Gauge({
      name: 'harbinger_kafka_decider_watermark_seconds',
      help: "Event time up to which every partition's detections have been decided on (decider only; unix seconds).",
      registers: [registry],
    }),
    suppressed: new Counter({
      name: 'harbinger_kafka_recommendations_suppressed_total',
      help: 'Recommendations re-made after a decider take-over and found already published.',
      registers: [registry],
    }),
  };
}

export type KafkaMetrics = ReturnType<typeof kafkaMetrics>;

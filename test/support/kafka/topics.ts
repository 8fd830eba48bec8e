import type { KafkaBroker } from './broker.js';

/** Harbinger's topic set under one prefix, created the way an operator would (compacted state). */
export interface HarbingerTopics {
  samples: string;
  events: string;
  detections: string;
  recommendations: string;
  deadLetter: string;
  state: string;
}

export async function createHarbingerTopics(broker: KafkaBroker, prefix: string, samplesPartitions: number): Promise<HarbingerTopics> {
  const t: HarbingerTopics = {
    samples: `${prefix}.samples`,
    events: `${prefix}.events`,
    detections: `${prefix}.detections`,
    recommendations: `${prefix}.recs`,
    deadLetter: `${prefix}.dlq`,
    state: `${prefix}.state`,
  };
  await broker.createTopics([
    { topic: t.samples, numPartitions: samplesPartitions },
    { topic: t.events, numPartitions: 1 },
    { topic: t.detections, numPartitions: 1 },
    { topic: t.recommendations, numPartitions: 3 },
    { topic: t.deadLetter, numPartitions: 1 },
    {
      topic: t.state,
      numPartitions: 1,
      configEntries: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'max.message.bytes', value: '20971520' },
      ],
    },
  ]);
  return t;
}

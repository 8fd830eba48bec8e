import { parseRecord } from '../../ingest/record-parser.js';
import type { ContextEvent, Sample } from '../../domain/types.js';

/**
 * A Kafka message value: one record (sample or event, JSON) or a JSON array of records. Anything
 * else is a dead letter, with its reason. Never throws.
 */
export type DecodedMessage = { ok: true; samples: Sample[]; events: ContextEvent[] } | { ok: false; reason: string };

export function decodeMessage(value: Buffer | null): DecodedMessage {
  if (value === null || value.length === 0) return { ok: false, reason: 'empty message value' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (e) {
    return { ok: false, reason: `invalid JSON: ${(e as Error).message}` };
  }
  const items = Array.isArray(parsed) ? parsed : [parsed];
  if (items.length === 0) return { ok: false, reason: 'empty array' };
  const samples: Sample[] = [];
  const events: ContextEvent[] = [];
  for (let i = 0; i < items.length; i++) {
    const r = parseRecord(items[i]);
    // One bad record spoils the message: the whole original goes to the dead-letter topic, so
    // nothing is half-applied and the producer can resend it fixed.
    if (!r.ok) return { ok: false, reason: items.length > 1 ? `record ${i + 1}: ${r.reason}` : r.reason };
    if (r.kind === 'sample') samples.push(r.sample);
    else events.push(r.event);
  }
  return { ok: true, samples, events };
}

/** What the dead-letter topic receives: the reason, where it came from, and the original bytes. */
export interface DeadLetter {
  reason: string;
  topic: string;
  partition: number;
  offset: string;
  key: string | null;
  /** The original value, base64 (it may not be text). */
  valueBase64: string;
  timestamp: string;
}

export function deadLetter(reason: string, topic: string, partition: number, offset: string, key: Buffer | null, value: Buffer | null, timestamp: string): DeadLetter {
  return { reason, topic, partition, offset, key: key === null ? null : key.toString('utf8'), valueBase64: value === null ? '' : value.toString('base64'), timestamp };
}

/** The partitioning key for samples: every stack of one metric of one service together. */
export function sampleKey(s: Pick<Sample, 'service' | 'metric'>): string {
  return `${s.service}|${s.metric}`;
}

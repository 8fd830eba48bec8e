import { parseRecord, parseTimestamp } from '../../ingest/record-parser.js';
import type { ContextEvent, Sample } from '../../domain/types.js';
import type { ShardOutput } from '../../core/merge/detection-merge.js';
import { decodeState } from '../../core/state/json-codec.js';

/**
 * A Kafka message value: one record (sample or event, JSON) or a JSON array of records. Anything
 * else is a dead letter, with its reason. Never throws.
 *
 * A record `{"type":"watermark","ts":…}` on a samples partition says the producer will send
 * nothing older on that partition (the end of a backfill, or a test's end of input): event time
 * on the partition moves there at once instead of waiting for newer data.
 */
export type DecodedMessage = { ok: true; samples: Sample[]; events: ContextEvent[]; watermark: number } | { ok: false; reason: string };

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
  let watermark = -Infinity;
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as { type?: unknown; ts?: unknown } | null;
    if (item !== null && typeof item === 'object' && item.type === 'watermark') {
      const ts = parseTimestamp(item.ts);
      if (typeof ts === 'string') return { ok: false, reason: `${items.length > 1 ? `record ${i + 1}: ` : ''}ts: ${ts}` };
      if (ts > watermark) watermark = ts;
      continue;
    }
    const r = parseRecord(items[i]);
    // One bad record spoils the message: the whole original goes to the dead-letter topic, so
    // nothing is half-applied and the producer can resend it fixed.
    if (!r.ok) return { ok: false, reason: items.length > 1 ? `record ${i + 1}: ${r.reason}` : r.reason };
    if (r.kind === 'sample') samples.push(r.sample);
    else events.push(r.event);
  }
  return { ok: true, samples, events, watermark };
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

export function deadLetter(
  reason: string,
  topic: string,
  partition: number,
  offset: string,
  key: Buffer | null,
  value: Buffer | null,
  timestamp: string,
): DeadLetter {
  return {
    reason,
    topic,
    partition,
    offset,
    key: key === null ? null : key.toString('utf8'),
    valueBase64: value === null ? '' : value.toString('base64'),
    timestamp,
  };
}

/** The dead-letter topic's message for a consumed message that could not be used. */
export function deadLetterMessage(
  reason: string,
  batch: { topic: string; partition: number },
  m: { offset: string; key: Buffer | null; value: Buffer | null; timestamp: string },
): { key: string | null; value: string } {
  return {
    key: m.key?.toString('utf8') ?? null,
    value: JSON.stringify(deadLetter(reason, batch.topic, batch.partition, m.offset, m.key, m.value, m.timestamp)),
  };
}

/** The partitioning key for samples: every stack of one metric of one service together. */
export function sampleKey(s: Pick<Sample, 'service' | 'metric'>): string {
  return `${s.service}|${s.metric}`;
}

/**
 * The internal detections topic (one partition) carries, per publish of a shard, its numbered
 * output (`items[i]` has number `seq + i`) and its watermark after it, in the state codec (NaN and
 * infinities survive); the decider merges them. One message per publish, not per item: the
 * topic's traffic is then per batch, not per minute and stack. Written and read only by Harbinger.
 */
export interface ShardMessage {
  shard: string;
  seq: number;
  items: ShardOutput[];
  watermark: number;
  idle: boolean;
}

export function decodeShardMessage(value: Buffer | null): ShardMessage | string {
  if (value === null) return 'empty message value';
  let m: unknown;
  try {
    m = decodeState(value.toString('utf8'));
  } catch (e) {
    return `invalid JSON: ${(e as Error).message}`;
  }
  if (m === null || typeof m !== 'object') return 'not an object';
  const o = m as Record<string, unknown>;
  if (typeof o['shard'] !== 'string') return 'shard: expected a string';
  if (typeof o['seq'] !== 'number' || !Number.isInteger(o['seq'])) return 'seq: expected an integer';
  if (!Array.isArray(o['items']) || !o['items'].every((x: unknown) => x !== null && typeof x === 'object' && typeof (x as { ts?: unknown }).ts === 'number'))
    return 'items: expected an array of events with a numeric ts';
  if (typeof o['watermark'] !== 'number' || typeof o['idle'] !== 'boolean') return 'watermark/idle: expected a number and a boolean';
  return m as ShardMessage;
}

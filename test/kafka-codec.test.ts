import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeMessage, decodeShardMessage, type ShardMessage } from '../src/adapters/kafka/message-codec.js';
import { encodeState } from '../src/core/state/json-codec.js';

const sample = { type: 'sample', ts: '2026-03-01T00:01:00Z', signal: 'latency', metric: 'p99', stack: 'a', service: 's', value: 120 };

describe('samples/events message values', () => {
  it('reads one record, a batch, and watermark records', () => {
    const one = decodeMessage(Buffer.from(JSON.stringify(sample)));
    expect(one).toMatchObject({ ok: true, samples: [{ ts: Date.parse(sample.ts), value: 120 }], events: [], watermark: -Infinity });
    const batch = decodeMessage(Buffer.from(JSON.stringify([sample, { ...sample, stack: 'b' }, { type: 'watermark', ts: '2026-03-01T00:05:00Z' }])));
    expect(batch.ok && batch.samples.map((s) => s.stack)).toEqual(['a', 'b']);
    expect(batch.ok && batch.watermark).toBe(Date.parse('2026-03-01T00:05:00Z'));
  });

  it('names what is wrong, with the record number in a batch', () => {
    expect(decodeMessage(null)).toEqual({ ok: false, reason: 'empty message value' });
    expect(decodeMessage(Buffer.from('[]'))).toEqual({ ok: false, reason: 'empty array' });
    expect(decodeMessage(Buffer.from(JSON.stringify([sample, { ...sample, value: 'x' }])))).toEqual({
      ok: false,
      reason: 'record 2: value: expected a finite number, got "x"',
    });
    expect(decodeMessage(Buffer.from(JSON.stringify({ type: 'watermark', ts: 12 })))).toEqual({
      ok: false,
      reason: 'ts: 12 looks like epoch seconds; send epoch milliseconds',
    });
  });

  it('property: any bytes decode to records or to a reason, never an exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.json().map((j) => new TextEncoder().encode(j)),
          fc.jsonValue().map((v) => new TextEncoder().encode(JSON.stringify([sample, v]))),
        ),
        (bytes) => {
          const d = decodeMessage(Buffer.from(bytes));
          if (d.ok) expect(d.samples.length + d.events.length + (d.watermark > -Infinity ? 1 : 0)).toBeGreaterThan(0);
          else expect(d.reason.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('detections topic messages', () => {
  it('round-trip shard output and watermarks exactly, infinities included', () => {
    const msgs: ShardMessage[] = [
      {
        shard: '2',
        seq: 7,
        items: [{ type: 'health', ts: 59_999, service: 's', stack: 'a', scores: { latency: 1.5 }, saturation: null, inEpisode: [], reporting: 1, known: 2 }],
        watermark: 60_000,
        idle: false,
      },
      { shard: '0', seq: 1, items: [], watermark: -Infinity, idle: true },
    ];
    for (const m of msgs) expect(decodeShardMessage(Buffer.from(encodeState(m)))).toEqual(m);
  });

  it('property: anything else is a reason, never an exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.json().map((j) => new TextEncoder().encode(j)),
        ),
        (bytes) => {
          const d = decodeShardMessage(Buffer.from(bytes));
          if (typeof d !== 'string') expect(typeof d.shard).toBe('string');
        },
      ),
      { numRuns: 2000 },
    );
    expect(decodeShardMessage(Buffer.from('{"shard":1}'))).toBe('shard: expected a string');
    expect(decodeShardMessage(Buffer.from('{"shard":"1","seq":1}'))).toBe('items: expected an array of events with a numeric ts');
    expect(decodeShardMessage(Buffer.from('{"shard":"1","seq":1,"items":[],"watermark":"x","idle":true}'))).toBe(
      'watermark/idle: expected a number and a boolean',
    );
  });
});

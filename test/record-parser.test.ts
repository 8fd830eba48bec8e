import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseLine, parseRecord, parseTimestamp } from '../src/ingest/record-parser.js';

describe('record parser', () => {
  it('parses the documented sample, with ISO or epoch-millisecond timestamps', () => {
    const line =
      '{"type":"sample","ts":"2026-03-01T12:00:00Z","signal":"latency","metric":"http_p99_ms","stack":"us-east-1","service":"checkout","value":412.5,"extra":"kept but ignored"}';
    const r = parseLine(line);
    expect(r).toEqual({
      ok: true,
      kind: 'sample',
      sample: { ts: Date.UTC(2026, 2, 1, 12), signal: 'latency', metric: 'http_p99_ms', stack: 'us-east-1', service: 'checkout', value: 412.5 },
    });
    const epoch = parseLine(line.replace('"2026-03-01T12:00:00Z"', String(Date.UTC(2026, 2, 1, 12))));
    expect(epoch.ok && epoch.kind === 'sample' && epoch.sample.ts).toBe(Date.UTC(2026, 2, 1, 12));
  });

  it('refuses a value nested 100,000 levels deep with a short reason, and bounds event attributes in depth, count and size', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const sample = parseLine(`{"type":"sample","ts":"2026-03-01T12:00:00Z","signal":"latency","metric":"m","stack":"s","service":"x","value":${deep}}`);
    expect(sample).toEqual({ ok: false, reason: 'value: expected a finite number, got an array of 1 item' });
    const event = (attributes: string) => parseLine(`{"type":"event","ts":"2026-03-01T12:00:00Z","kind":"deployment","id":"d1","attributes":${attributes}}`);
    expect(event(`{"a":${deep}}`)).toEqual({ ok: false, reason: 'attributes: nested deeper than 8 levels (at attributes.a.0.0.0.0.0.0.0)' });
    expect(event(`{"tags":[${Array.from({ length: 600 }, (_, i) => i).join(',')}]}`)).toEqual({ ok: false, reason: 'attributes: more than 512 values' });
    expect(event(`{"note":"${'x'.repeat(3000)}"}`)).toEqual({ ok: false, reason: 'attributes.note: a string longer than 2048 characters' });
    // Each string within 2048 characters, but 9 of them are 18 KiB: one event would weigh on every checkpoint.
    const notes = Array.from({ length: 9 }, (_, i) => `"n${i}":"${'x'.repeat(2000)}"`).join(',');
    expect(event(`{${notes}}`)).toEqual({ ok: false, reason: 'attributes: more than 16384 characters of keys and strings in all' });
    // Within the limits: a realistic deployment event.
    const ok = event('{"version":"v2.14.0","previousVersion":"v2.13.9","git":{"sha":"abc123","pr":[4711,4712]},"strategy":"canary"}');
    expect(ok.ok).toBe(true);
    // A long string in a refusal is cut, not copied.
    const long = parseLine(`{"type":"${'y'.repeat(10_000)}","ts":"2026-03-01T12:00:00Z"}`);
    expect(!long.ok && long.reason.length).toBeLessThan(120);
  });

  it('parses context events, global ones without stack, and traffic shifts', () => {
    const r = parseLine('{"type":"event","ts":"2026-03-01T12:00:00Z","kind":"campaign","id":"spring-sale","endTs":"2026-03-01T14:00:00Z"}');
    expect(r).toEqual({
      ok: true,
      kind: 'event',
      event: { ts: Date.UTC(2026, 2, 1, 12), kind: 'campaign', id: 'spring-sale', endTs: Date.UTC(2026, 2, 1, 14), attributes: {} },
    });
    const shift = parseLine('{"type":"event","ts":"2026-03-01T12:00:00Z","kind":"traffic_shift","id":"s1","attributes":{"weights":{"a":20,"b":80}}}');
    expect(shift.ok).toBe(true);
  });

  it.each([
    ['not json', 'invalid JSON'],
    ['[1,2]', 'record must be a JSON object'],
    ['{"type":"sample","ts":"yesterday","signal":"latency","metric":"m","stack":"s","service":"x","value":1}', 'ts: expected ISO-8601'],
    ['{"type":"sample","ts":1772366400,"signal":"latency","metric":"m","stack":"s","service":"x","value":1}', 'ts: 1772366400 looks like epoch seconds'],
    ['{"type":"sample","ts":"2026-03-01T12:00:00Z","signal":"context","metric":"m","stack":"s","service":"x","value":1}', 'signal: expected one of'],
    [
      '{"type":"sample","ts":"2026-03-01T12:00:00Z","signal":"latency","metric":"m","stack":"s","service":"x","value":"12"}',
      'value: expected a finite number, got "12"',
    ],
    ['{"type":"sample","ts":"2026-03-01T12:00:00Z","signal":"latency","metric":"m","service":"x","value":1}', 'stack: required'],
    ['{"type":"event","ts":"2026-03-01T12:00:00Z","kind":"party","id":"x"}', 'kind: expected one of'],
    ['{"type":"event","ts":"2026-03-01T12:00:00Z","kind":"traffic_shift","id":"x","attributes":{"weights":{"a":-5}}}', 'attributes.weights.a'],
    ['{"type":"event","ts":"2026-03-01T12:00:00Z","kind":"deployment","id":"d","endTs":"2026-03-01T11:00:00Z"}', 'endTs: before ts'],
    ['{"type":"metric","ts":"2026-03-01T12:00:00Z"}', 'type: expected "sample" or "event"'],
  ])('rejects %s with a reason naming the problem', (line, reason) => {
    const r = parseLine(line);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain(reason);
  });

  it('reads naive timestamps as UTC', () => {
    expect(parseTimestamp('2014-04-01 00:00:00')).toBe(Date.UTC(2014, 3, 1));
    expect(parseTimestamp('2014-04-01T00:00:00+02:00')).toBe(Date.UTC(2014, 2, 31, 22));
  });

  it('never throws on arbitrary text and always gives a reason when it refuses (fuzz)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const r = parseLine(s);
        if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
      }),
      { numRuns: 3000 },
    );
  });

  it('never throws on arbitrary JSON values, and accepted samples are well-formed (fuzz)', () => {
    const record = fc.record(
      {
        type: fc.constantFrom('sample', 'event', 'other'),
        ts: fc.oneof(fc.integer({ min: -1e13, max: 1e13 }), fc.string(), fc.constant('2026-03-01T00:00:00Z'), fc.double()),
        signal: fc.oneof(fc.constantFrom('latency', 'business', 'capacity', 'reliability'), fc.string()),
        metric: fc.oneof(fc.string(), fc.integer()),
        stack: fc.oneof(fc.string(), fc.constant(null)),
        service: fc.string(),
        value: fc.oneof(fc.double(), fc.string(), fc.constant(null)),
        kind: fc.string(),
        id: fc.string(),
        attributes: fc.anything(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(record, fc.anything()), (obj) => {
        const r = parseRecord(obj);
        if (r.ok && r.kind === 'sample') {
          expect(Number.isFinite(r.sample.value)).toBe(true);
          expect(Number.isFinite(r.sample.ts)).toBe(true);
          expect(r.sample.stack.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('parses each timestamp text once per run of equal texts, and never caches a refusal', () => {
    expect(parseTimestamp('2026-03-01T12:00:00Z')).toBe(Date.UTC(2026, 2, 1, 12));
    expect(parseTimestamp('2026-03-01T12:00:00Z')).toBe(Date.UTC(2026, 2, 1, 12));
    expect(parseTimestamp('2026-03-01 12:01')).toBe(Date.UTC(2026, 2, 1, 12, 1));
    expect(parseTimestamp('yesterday')).toMatch(/^expected ISO-8601/);
    expect(parseTimestamp('yesterday')).toMatch(/^expected ISO-8601/);
    expect(parseTimestamp('2026-03-01T12:00:00Z')).toBe(Date.UTC(2026, 2, 1, 12));
  });

  it('reads a scheduled event: announced at ts, beginning at startTs, with its expected traffic multiplier', () => {
    const line =
      '{"type":"event","ts":"2026-03-12T05:00:00Z","kind":"campaign","id":"summer-sale","startTs":"2026-03-12T09:00:00Z","endTs":"2026-03-12T11:00:00Z","attributes":{"expectedTrafficMultiplier":2.1}}';
    const r = parseLine(line);
    expect(r).toMatchObject({
      ok: true,
      kind: 'event',
      event: {
        ts: Date.UTC(2026, 2, 12, 5),
        startTs: Date.UTC(2026, 2, 12, 9),
        endTs: Date.UTC(2026, 2, 12, 11),
        attributes: { expectedTrafficMultiplier: 2.1 },
      },
    });
    expect(parseLine(line.replace('"endTs":"2026-03-12T11:00:00Z"', '"endTs":"2026-03-12T08:00:00Z"'))).toEqual({ ok: false, reason: 'endTs: before startTs' });
    expect(parseLine(line.replace('2.1}', '"lots"}'))).toEqual({
      ok: false,
      reason: 'attributes.expectedTrafficMultiplier: expected a number > 0, got "lots"',
    });
    expect(parseLine(line.replace('2.1}', '0}'))).toMatchObject({ ok: false, reason: expect.stringContaining('expectedTrafficMultiplier') });
    expect(parseLine(line.replace('"startTs":"2026-03-12T09:00:00Z"', '"startTs":"soon"'))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^startTs: /),
    });
  });
});

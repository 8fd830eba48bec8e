import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { RemoteWriteError, snappyCompress, snappyDecodedLength, snappyUncompress } from '../src/adapters/remote-write/snappy.js';
import {
  RemoteWriteError as ReexportedError,
  STALE_NAN,
  decodeWriteRequest,
  encodeWriteRequest,
  isStaleMarker,
  parseRemoteWrite,
  type WriteRequest,
} from '../src/adapters/remote-write/write-request.js';

const MB = 1 << 20;
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

function f64Bits(v: number): string {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v);
  return dv.getBigUint64(0).toString(16);
}

function expectRWError(fn: () => unknown, msg?: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(RemoteWriteError);
  if (msg) expect((caught as Error).message).toMatch(msg);
}

describe('snappy block decoder: golden bytes', () => {
  it('decodes a literal-only block', () => {
    // preamble 9, literal tag (9-1)<<2 = 0x20, "Wikipedia"
    const block = bytes(0x09, 0x20, ...ascii('Wikipedia'));
    expect(text(snappyUncompress(block, 1024))).toBe('Wikipedia');
  });

  it('decodes a literal with a 1-byte extended length (60 tag)', () => {
    const payload = `${'x'.repeat(61)}yz`; // 63 bytes => len-1 = 62 >= 60
    const block = bytes(63, 60 << 2, 62, ...ascii(payload));
    expect(text(snappyUncompress(block, 1024))).toBe(payload);
  });

  it('decodes a 1-byte-offset copy', () => {
    // "abcd" literal, then copy len 8 offset 4: tag 0b000_100_01 = 0x11, offset byte 0x04
    const block = bytes(0x0c, 0x0c, ...ascii('abcd'), 0x11, 0x04);
    expect(text(snappyUncompress(block, 1024))).toBe('abcdabcdabcd');
  });

  it('decodes overlapping 2-byte and 4-byte offset copies (run-length)', () => {
    // "a" then copy2 len 63 offset 1 (tag (62<<2)|2 = 0xfa), then copy4 len 2 offset 64
    const block = bytes(66, 0x00, 0x61, 0xfa, 0x01, 0x00, (1 << 2) | 3, 64, 0, 0, 0);
    expect(text(snappyUncompress(block, 1024))).toBe('a'.repeat(66));
  });

  it('decodes the empty block', () => {
    expect(snappyUncompress(bytes(0x00), 10)).toEqual(new Uint8Array(0));
  });

  it('snappyCompress emits the same literal-only golden for short input', () => {
    expect(snappyCompress(Uint8Array.from(ascii('Wikipedia')))).toEqual(bytes(0x09, 0x20, ...ascii('Wikipedia')));
  });
});

describe('snappy block decoder: errors', () => {
  it('refuses a 1 GB zip bomb before allocating, naming the limit', () => {
    // preamble varint 2^30 = 80 80 80 80 04, followed by a tiny copy loop
    const bomb = bytes(0x80, 0x80, 0x80, 0x80, 0x04, 0x00, 0x61, 0xfe, 0x01, 0x00);
    expect(snappyDecodedLength(bomb)).toBe(2 ** 30);
    expectRWError(() => snappyUncompress(bomb, 32 * MB), /limit of 33554432 bytes/);
    // even with a generous limit the declared size is impossible for 10 input bytes
    expectRWError(() => snappyUncompress(bomb, 2 ** 31), /impossible/);
  });

  it('rejects truncated input', () => {
    expectRWError(() => snappyUncompress(bytes(), 10), /truncated length preamble/);
    expectRWError(() => snappyUncompress(bytes(0x80), 10), /truncated/);
    expectRWError(() => snappyUncompress(bytes(0x05, 0x10, 0x61, 0x62), 10), /truncated literal data/);
    expectRWError(() => snappyUncompress(bytes(0x05, 0xf0), 10), /truncated literal length/);
    expectRWError(() => snappyUncompress(bytes(0x05, 0x00, 0x61, 0x01), 10), /truncated copy/);
    expectRWError(() => snappyUncompress(bytes(0x05, 0x00, 0x61, 0x02, 0x01), 10), /truncated copy/);
    expectRWError(() => snappyUncompress(bytes(0x05, 0x00, 0x61, 0x03, 0x01, 0, 0), 10), /truncated copy/);
  });

  it('rejects offset 0 and offsets beyond the output', () => {
    expectRWError(() => snappyUncompress(bytes(0x05, 0x00, 0x61, 0x01, 0x00), 10), /offset 0/);
    expectRWError(() => snappyUncompress(bytes(0x05, 0x00, 0x61, 0x01, 0x02), 10), /offset 2 beyond/);
    expectRWError(() => snappyUncompress(bytes(0x05, 0x01, 0x00), 10), /offset 0/);
  });

  it('rejects output length mismatches in both directions', () => {
    expectRWError(() => snappyUncompress(bytes(0x03, 0x00, 0x61), 10), /length mismatch: declared 3, decoded 1/);
    expectRWError(() => snappyUncompress(bytes(0x01, 0x04, 0x61, 0x62), 10), /overflows declared length/);
    expectRWError(() => snappyUncompress(bytes(0x02, 0x00, 0x61, 0x01, 0x01), 10), /overflows declared length/);
  });

  it('rejects preambles beyond 32 bits', () => {
    expectRWError(() => snappyUncompress(bytes(0xff, 0xff, 0xff, 0xff, 0x7f), 10), /32 bits/);
    expectRWError(() => snappyUncompress(bytes(0xff, 0xff, 0xff, 0xff, 0xff, 0x01), 10), /too long/);
  });
});

describe('snappy round trips', () => {
  it('compress -> uncompress is the identity for arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (input) => {
        const c = snappyCompress(input);
        expect(snappyUncompress(c, input.length)).toEqual(input);
      }),
      { numRuns: 500 },
    );
  });

  it('compress -> uncompress for repetitive inputs (exercises all copy forms)', () => {
    const repetitive = fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 400 })).map(([chunk, reps]) => {
      const out = new Uint8Array(chunk.length * reps);
      for (let i = 0; i < reps; i++) out.set(chunk, i * chunk.length);
      return out;
    });
    fc.assert(
      fc.property(repetitive, (input) => {
        const c = snappyCompress(input);
        expect(Buffer.compare(snappyUncompress(c, input.length), input)).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('compresses large repetitive and large incompressible inputs', () => {
    const big = new Uint8Array(300_000);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7) % 251 < 100 ? i % 13 : 65;
    const c = snappyCompress(big);
    expect(c.length).toBeLessThan(big.length / 4);
    expect(Buffer.compare(snappyUncompress(c, big.length), big)).toBe(0);

    let x = 12345;
    const rnd = new Uint8Array(200_000).map(() => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x >>> 24;
    });
    const rc = snappyCompress(rnd);
    expect(rc.length).toBeLessThanOrEqual(32 + rnd.length + rnd.length / 6);
    expect(Buffer.compare(snappyUncompress(rc, rnd.length), rnd)).toBe(0);
  });
});

// ---------------------------------------------------------------------------
// WriteRequest protobuf
// ---------------------------------------------------------------------------

// up{job="x"} 1 @ 1700000000000, hand-encoded.
const LABEL_NAME = [0x0a, 0x0e, 0x0a, 0x08, ...ascii('__name__'), 0x12, 0x02, ...ascii('up')];
const LABEL_JOB = [0x0a, 0x08, 0x0a, 0x03, ...ascii('job'), 0x12, 0x01, ...ascii('x')];
// Sample: 0x09 + float64 1.0 LE, 0x10 + varint(1700000000000) = 80 d0 95 ff bc 31
const SAMPLE = [0x12, 0x10, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x80, 0xd0, 0x95, 0xff, 0xbc, 0x31];
const TS = [...LABEL_NAME, ...LABEL_JOB, ...SAMPLE]; // 16 + 10 + 18 = 44 bytes
const WRITE_REQUEST = bytes(0x0a, TS.length, ...TS);
const UP_EXPECTED: WriteRequest = {
  timeseries: [
    {
      labels: [
        { name: '__name__', value: 'up' },
        { name: 'job', value: 'x' },
      ],
      samples: [{ value: 1, timestamp: 1_700_000_000_000 }],
    },
  ],
};

describe('WriteRequest decoding', () => {
  it('decodes a hand-built remote-write body (snappy literal block) exactly', () => {
    expect(TS.length).toBe(44);
    // snappy block: preamble 46, literal tag (46-1)<<2 = 0xb4
    const body = bytes(WRITE_REQUEST.length, (WRITE_REQUEST.length - 1) << 2, ...WRITE_REQUEST);
    expect(parseRemoteWrite(body, { maxDecompressedBytes: 1024 })).toEqual(UP_EXPECTED);
    // our encoder produces exactly the same bytes
    expect(encodeWriteRequest(UP_EXPECTED)).toEqual(WRITE_REQUEST);
    expect(parseRemoteWrite(snappyCompress(WRITE_REQUEST), { maxDecompressedBytes: 1024 })).toEqual(UP_EXPECTED);
  });

  it('parseRemoteWrite enforces maxDecompressedBytes', () => {
    const body = snappyCompress(WRITE_REQUEST);
    expectRWError(() => parseRemoteWrite(body, { maxDecompressedBytes: 10 }), /limit of 10 bytes/);
  });

  it('skips metadata, exemplars, histograms and unknown fields of every wire type', () => {
    const unknowns = [
      0x78,
      0x96,
      0x01, // field 15 varint 150
      0x79,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8, // field 15 fixed64
      0x7d,
      1,
      2,
      3,
      4, // field 15 fixed32
      0x7a,
      0x02,
      0xaa,
      0xbb, // field 15 len-delimited
    ];
    const exemplar = [0x1a, 0x04, 0x11, 0, 0, 0]; // field 3 (bytes are opaque to us)
    const histogram = [0x22, 0x02, 0x08, 0x01]; // field 4
    const label = [0x0a, 0x08 + unknowns.length, ...unknowns, 0x0a, 0x03, ...ascii('job'), 0x12, 0x01, ...ascii('x')];
    const sampleBody = [0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, ...unknowns, 0x10, 0x05];
    const sample = [0x12, sampleBody.length, ...sampleBody];
    const ts = [...unknowns, ...exemplar, ...label, ...histogram, ...sample];
    const metadata = [0x1a, 0x05, 0x08, 0x01, 0x12, 0x01, 0x61];
    const req = bytes(...metadata, 0x0a, ts.length, ...ts, ...unknowns);
    expect(decodeWriteRequest(req)).toEqual({
      timeseries: [{ labels: [{ name: 'job', value: 'x' }], samples: [{ value: 1, timestamp: 5 }] }],
    });
  });

  it('label interning is transparent (slot collisions, reused buffers, invalid bytes never cached)', () => {
    const req: WriteRequest = {
      timeseries: Array.from({ length: 3000 }, (_, i) => ({
        labels: [
          { name: 'job', value: `v${i}` },
          { name: 'k', value: i % 2 ? 'é'.repeat(i % 40) : 'x'.repeat(i % 70) },
        ],
        samples: [],
      })),
    };
    const raw = encodeWriteRequest(req);
    expect(decodeWriteRequest(raw)).toEqual(req);
    expect(decodeWriteRequest(raw)).toEqual(req); // second pass hits the cache
    // same-length bytes that differ must not return a cached neighbour
    const one = (v: string): string =>
      decodeWriteRequest(encodeWriteRequest({ timeseries: [{ labels: [{ name: 'n', value: v }], samples: [] }] })).timeseries[0]!.labels[0]!.value;
    for (let i = 0; i < 2000; i++) expect(one(`ab${i.toString(36).padStart(4, '0')}`)).toBe(`ab${i.toString(36).padStart(4, '0')}`);
    // invalid UTF-8 is rejected every time, even right after a valid string of the same length
    const bad = bytes(0x0a, 0x07, 0x0a, 0x05, 0x0a, 0x00, 0x12, 0x01, 0xff);
    expect(one('a')).toBe('a');
    expectRWError(() => decodeWriteRequest(bad), /invalid UTF-8/);
    expectRWError(() => decodeWriteRequest(bad), /invalid UTF-8/);
  });

  it('keeps a leading U+FEFF in label values (no BOM stripping)', () => {
    const req: WriteRequest = { timeseries: [{ labels: [{ name: '\ufeffa', value: '\ufeff' }], samples: [] }] };
    expect(decodeWriteRequest(encodeWriteRequest(req))).toEqual(req);
  });

  it('defaults missing fields and decodes negative timestamps', () => {
    // Sample with only timestamp = -1 (10-byte varint)
    const s = [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    const ts = [0x0a, 0x00, 0x12, s.length, ...s];
    expect(decodeWriteRequest(bytes(0x0a, ts.length, ...ts))).toEqual({
      timeseries: [{ labels: [{ name: '', value: '' }], samples: [{ value: 0, timestamp: -1 }] }],
    });
    expect(decodeWriteRequest(new Uint8Array(0))).toEqual({ timeseries: [] });
  });

  it('rejects groups, invalid wire types, bad varints, overlong lengths and bad UTF-8', () => {
    expectRWError(() => decodeWriteRequest(bytes(0x0b)), /groups are not supported \(WriteRequest field 1\)/);
    expectRWError(() => decodeWriteRequest(bytes(0x7c)), /groups/);
    expectRWError(() => decodeWriteRequest(bytes(0x7e)), /invalid wire type 6/);
    expectRWError(() => decodeWriteRequest(bytes(0x7f)), /invalid wire type 7/);
    expectRWError(() => decodeWriteRequest(bytes(0x0f)), /invalid wire type 7 \(WriteRequest field 1\)/);
    expectRWError(() => decodeWriteRequest(bytes(0x08, 0x01)), /WriteRequest field 1 has wrong wire type 0/);
    expectRWError(() => decodeWriteRequest(bytes(0x00)), /field number 0/);
    expectRWError(() => decodeWriteRequest(bytes(0x0a)), /truncated varint \(TimeSeries length\)/);
    expectRWError(() => decodeWriteRequest(bytes(0x0a, 0x05, 0x00)), /TimeSeries length 5 runs past end/);
    expectRWError(() => decodeWriteRequest(bytes(0x78, 0x80)), /truncated varint/);
    expectRWError(() => decodeWriteRequest(bytes(0x78, ...new Array<number>(10).fill(0x80), 0)), /longer than 10 bytes/);
    expectRWError(() => decodeWriteRequest(bytes(0x79, 1, 2, 3)), /truncated fixed64/);
    expectRWError(() => decodeWriteRequest(bytes(0x7d, 1, 2, 3)), /truncated fixed32/);
    // label length runs past the end of its TimeSeries (but not of the buffer)
    expectRWError(() => decodeWriteRequest(bytes(0x0a, 0x02, 0x0a, 0x05, 0, 0, 0, 0, 0)), /Label length 5 runs past/);
    // truncated sample double
    expectRWError(() => decodeWriteRequest(bytes(0x0a, 0x05, 0x12, 0x03, 0x09, 0, 0)), /truncated fixed64 \(Sample.value\)/);
    // invalid UTF-8 in a label value (lone continuation byte; overlong encoding)
    expectRWError(() => decodeWriteRequest(bytes(0x0a, 0x07, 0x0a, 0x05, 0x0a, 0x00, 0x12, 0x01, 0x80)), /invalid UTF-8 in Label.value/);
    expectRWError(() => decodeWriteRequest(bytes(0x0a, 0x06, 0x0a, 0x04, 0x0a, 0x02, 0xc0, 0xaf)), /invalid UTF-8 in Label.name/);
  });
});

describe('stale markers', () => {
  it('recognises only the exact 0x7ff0000000000002 bit pattern', () => {
    expect(f64Bits(STALE_NAN)).toBe('7ff0000000000002');
    expect(isStaleMarker(STALE_NAN)).toBe(true);
    expect(isStaleMarker(NaN)).toBe(false);
    expect(isStaleMarker(0)).toBe(false);
    expect(isStaleMarker(Infinity)).toBe(false);
    const dv = new DataView(new ArrayBuffer(8));
    dv.setBigUint64(0, 0x7ff0000000000001n);
    expect(isStaleMarker(dv.getFloat64(0))).toBe(false);
  });

  it('survives the wire: a stale sample decodes to a stale marker', () => {
    const s = [0x09, 0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f, 0x10, 0x01]; // LE bytes of 0x7ff0000000000002
    const ts = [0x12, s.length, ...s];
    const req = decodeWriteRequest(bytes(0x0a, ts.length, ...ts));
    const v = req.timeseries[0]!.samples[0]!.value;
    expect(Number.isNaN(v)).toBe(true);
    expect(isStaleMarker(v)).toBe(true);
  });
});

describe('WriteRequest round trips', () => {
  const labelArb = fc.record({ name: fc.string({ unit: 'grapheme', maxLength: 20 }), value: fc.string({ unit: 'binary', maxLength: 80 }) });
  const valueArb = fc.oneof(fc.double(), fc.constantFrom(-0, 0, Infinity, -Infinity, NaN, STALE_NAN, Number.MIN_VALUE, Number.MAX_VALUE));
  const tsArb = fc.oneof(
    fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
    fc.constantFrom(0, -1, 1_700_000_000_000, 2 ** 31, 2 ** 32, -(2 ** 32), 2 ** 35 - 1, 2 ** 35),
  );
  const reqArb: fc.Arbitrary<WriteRequest> = fc.record({
    timeseries: fc.array(
      fc.record({
        labels: fc.array(labelArb, { maxLength: 6 }),
        samples: fc.array(fc.record({ value: valueArb, timestamp: tsArb }), { maxLength: 6 }),
      }),
      { maxLength: 8 },
    ),
  });

  it('encode -> snappyCompress -> parseRemoteWrite is the identity', () => {
    fc.assert(
      fc.property(reqArb, (req) => {
        const body = snappyCompress(encodeWriteRequest(req));
        const out = parseRemoteWrite(body, { maxDecompressedBytes: 4 * MB });
        expect(out.timeseries.length).toBe(req.timeseries.length);
        req.timeseries.forEach((ts, i) => {
          const got = out.timeseries[i]!;
          expect(got.labels).toEqual(ts.labels);
          expect(got.samples.length).toBe(ts.samples.length);
          ts.samples.forEach((s, j) => {
            const g = got.samples[j]!;
            expect(Object.is(g.timestamp, s.timestamp === 0 ? 0 : s.timestamp)).toBe(true);
            expect(Object.is(g.value, s.value)).toBe(true); // distinguishes -0, keeps NaN
            expect(isStaleMarker(g.value)).toBe(isStaleMarker(s.value));
          });
        });
      }),
      { numRuns: 500 },
    );
  });
});

describe('fuzz: arbitrary input only ever throws RemoteWriteError', () => {
  const onlyRWE = (fn: () => unknown): void => {
    try {
      fn();
    } catch (e) {
      if (!(e instanceof RemoteWriteError)) throw e;
    }
  };

  it('re-exports the same error class', () => {
    expect(ReexportedError).toBe(RemoteWriteError);
  });

  it('snappyUncompress on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (input) => onlyRWE(() => snappyUncompress(input, MB))),
      { numRuns: 3000 },
    );
  });

  it('snappyUncompress on mutated valid blocks', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 400 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (input, edits, cut) => {
          const c = snappyCompress(input);
          for (const [at, b] of edits) c[at % c.length] = b;
          onlyRWE(() => snappyUncompress(c.subarray(0, c.length - (cut % 3)), MB));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('decodeWriteRequest on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (input) => onlyRWE(() => decodeWriteRequest(input))),
      { numRuns: 3000 },
    );
  });

  it('decodeWriteRequest on mutated valid requests', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }), fc.nat(), (edits, cut) => {
        const b = encodeWriteRequest(UP_EXPECTED);
        for (const [at, v] of edits) b[at % b.length] = v;
        onlyRWE(() => decodeWriteRequest(b.subarray(0, b.length - (cut % 5))));
      }),
      { numRuns: 2000 },
    );
  });
});

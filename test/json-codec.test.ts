import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeState, encodeState } from '../src/core/state/json-codec.js';

/** The bits of a float32 array, to compare exactly (NaN payloads, -0 and all). */
const bitsOf = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** A season of buckets as a baseline learns it: a daily curve plus a little noise. */
function season(n: number, seed = 0x2545f491): Float32Array {
  const a = new Float32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    a[i] = 200 + (seed % 97) + 60 * Math.sin((2 * Math.PI * i) / n) + ((x >>> 0) / 2 ** 32 - 0.5) * 4;
  }
  return a;
}

describe('checkpoint JSON codec', () => {
  it('writes float32 arrays XOR-delta coded and byte-shuffled, and reads them back bit for bit', () => {
    const odd = new Float32Array([0, -0, Number.NaN, Infinity, -Infinity, 1e-45, 3.4e38, -1.5, 1.5]);
    const raw = new Uint32Array([0x7fc00001, 0xffffffff, 0x80000000, 0x00000001]);
    for (const a of [odd, new Float32Array(raw.buffer), season(264), new Float32Array(0)]) {
      const text = encodeState({ values: a });
      expect(text).toContain('"$f32x"');
      const back = decodeState<{ values: Float32Array }>(text).values;
      expect(back).toBeInstanceOf(Float32Array);
      expect(bitsOf(back)).toEqual(bitsOf(a));
    }
    // A view into a larger buffer is written as its own elements only.
    const whole = season(300);
    const view = whole.subarray(96, 264);
    expect(bitsOf(decodeState<{ v: Float32Array }>(encodeState({ v: view })).v)).toEqual(bitsOf(view));
  });

  it('still reads the plain little-endian $f32 of checkpoints written before', () => {
    const a = season(96);
    const plain = Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
    expect(bitsOf(decodeState<{ v: Float32Array }>(`{"v":{"$f32":"${plain}"}}`).v)).toEqual(bitsOf(a));
  });

  it('makes seasonal buckets compress: gzip of the shuffled form is at least a fifth smaller', () => {
    const arrays = Array.from({ length: 200 }, (_, i) => season(264, 7919 * (i + 1)));
    const shuffled = Buffer.from(arrays.map((a) => encodeState({ v: a })).join('\n'));
    const plain = Buffer.from(arrays.map((a) => `{"v":{"$f32":"${Buffer.from(a.buffer).toString('base64')}"}}`).join('\n'));
    expect(shuffled.length).toBe(plain.length + 200); // the tag is one character longer, the payload the same size
    expect(gzipSync(shuffled).length).toBeLessThan(0.8 * gzipSync(plain).length);
  });

  it('refuses a float32 payload that is no whole number of values, naming the problem', () => {
    expect(() => decodeState('{"v":{"$f32x":"AAAA"}}')).toThrow(/no multiple of 4/);
    expect(() => decodeState('{"v":{"$f32":"AAAA"}}')).toThrow(/no multiple of 4/);
  });
});

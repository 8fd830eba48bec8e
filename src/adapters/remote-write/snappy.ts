/**
 * Snappy *block* format (not the framing/stream format), as used by the
 * Prometheus remote-write 1.0 protocol (`Content-Encoding: snappy`).
 *
 * Format (https://github.com/google/snappy/blob/main/format_description.txt):
 *   preamble: uncompressed length as a little-endian base-128 varint (uint32)
 *   then a sequence of elements, each starting with a tag byte whose low 2 bits are:
 *     00 literal: upper 6 bits = len-1 when < 60; 60..63 => len-1 in the next 1..4 bytes (LE)
 *     01 copy, 1-byte offset: len = 4 + bits 2..4, offset = (bits 5..7 << 8) | next byte
 *     10 copy, 2-byte offset: len = 1 + upper 6 bits, offset = next 2 bytes (LE)
 *     11 copy, 4-byte offset: len = 1 + upper 6 bits, offset = next 4 bytes (LE)
 *   Copies may overlap their own output (offset < len), producing repeats.
 */

/** Any malformed/oversized remote-write payload. Callers should map it to HTTP 400. */
export class RemoteWriteError extends Error {
  override readonly name = 'RemoteWriteError';
  constructor(message: string) {
    super(message);
  }
}

/**
 * Decoded output can never exceed 64 bytes per 3 input bytes (a 2-byte-offset copy), so a
 * declared length above this bound is corrupt; checked before allocating anything.
 */
function maxDecodedLen(inputLen: number): number {
  return Math.ceil((inputLen * 64) / 3);
}

/** Reads the preamble. Returns [declaredLength, bytesConsumed]. */
function readPreamble(input: Uint8Array): [number, number] {
  let result = 0;
  let shift = 0;
  for (let i = 0; i < 5; i++) {
    if (i >= input.length) throw new RemoteWriteError('snappy: truncated length preamble');
    const b = input[i]!;
    result += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      if (result > 0xffffffff) throw new RemoteWriteError('snappy: length preamble exceeds 32 bits');
      return [result, i + 1];
    }
    shift += 7;
  }
  throw new RemoteWriteError('snappy: length preamble varint too long');
}

/** The uncompressed length declared by a snappy block's preamble (no decompression). */
export function snappyDecodedLength(input: Uint8Array): number {
  return readPreamble(input)[0];
}

/**
 * Decompresses a snappy block. Refuses (before allocating) any block whose declared
 * length exceeds `maxOutputBytes`. Throws {@link RemoteWriteError} on any corruption.
 */
export function snappyUncompress(input: Uint8Array, maxOutputBytes: number): Uint8Array {
  const [declared, start] = readPreamble(input);
  if (declared > maxOutputBytes) {
    throw new RemoteWriteError(`snappy: declared uncompressed length ${declared} bytes exceeds limit of ${maxOutputBytes} bytes`);
  }
  if (declared > maxDecodedLen(input.length)) {
    throw new RemoteWriteError(`snappy: declared uncompressed length ${declared} is impossible for ${input.length} input bytes`);
  }
  const out = new Uint8Array(declared);
  const n = input.length;
  let s = start;
  let d = 0;

  while (s < n) {
    const tag = input[s]!;
    const type = tag & 3;
    if (type === 0) {
      // literal
      let len = tag >>> 2;
      if (len < 60) {
        s += 1;
      } else {
        const extra = len - 59; // 1..4 bytes
        if (s + 1 + extra > n) throw new RemoteWriteError('snappy: truncated literal length');
        len = input[s + 1]!;
        if (extra > 1) len |= input[s + 2]! << 8;
        if (extra > 2) len |= input[s + 3]! << 16;
        if (extra > 3) len = (len | (input[s + 4]! << 24)) >>> 0;
        s += 1 + extra;
      }
      len += 1;
      if (len > n - s) throw new RemoteWriteError('snappy: truncated literal data');
      if (len > declared - d) {
        throw new RemoteWriteError(`snappy: literal overflows declared length ${declared}`);
      }
      if (len < 16) {
        for (let i = 0; i < len; i++) out[d + i] = input[s + i]!;
      } else {
        out.set(input.subarray(s, s + len), d);
      }
      s += len;
      d += len;
      continue;
    }

    let len: number;
    let offset: number;
    if (type === 1) {
      if (s + 2 > n) throw new RemoteWriteError('snappy: truncated copy (1-byte offset)');
      len = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | input[s + 1]!;
      s += 2;
    } else if (type === 2) {
      if (s + 3 > n) throw new RemoteWriteError('snappy: truncated copy (2-byte offset)');
      len = 1 + (tag >>> 2);
      offset = input[s + 1]! | (input[s + 2]! << 8);
      s += 3;
    } else {
      if (s + 5 > n) throw new RemoteWriteError('snappy: truncated copy (4-byte offset)');
      len = 1 + (tag >>> 2);
      offset = (input[s + 1]! | (input[s + 2]! << 8) | (input[s + 3]! << 16) | (input[s + 4]! << 24)) >>> 0;
      s += 5;
    }
    if (offset === 0) throw new RemoteWriteError('snappy: copy with offset 0');
    if (offset > d) {
      throw new RemoteWriteError(`snappy: copy offset ${offset} beyond output position ${d}`);
    }
    if (len > declared - d) {
      throw new RemoteWriteError(`snappy: copy overflows declared length ${declared}`);
    }
    let from = d - offset;
    if (offset >= len && len > 16) {
      out.copyWithin(d, from, from + len);
      d += len;
    } else {
      // byte-wise: correct for overlapping copies (run-length style repeats)
      const end = d + len;
      while (d < end) out[d++] = out[from++]!;
    }
  }

  if (d !== declared) {
    throw new RemoteWriteError(`snappy: output length mismatch: declared ${declared}, decoded ${d}`);
  }
  return out;
}

// ---------------------------------------------------------------------------
// Compressor (simple greedy, single hash table; valid but not maximally tight).
// ---------------------------------------------------------------------------

const HASH_BITS = 14;
const MAX_OFFSET = 65535; // only 1- and 2-byte-offset copies are emitted

function load32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

function hash32(x: number): number {
  return Math.imul(x, 0x1e35a7bd) >>> (32 - HASH_BITS);
}

function emitLiteral(out: Uint8Array, o: number, src: Uint8Array, from: number, to: number): number {
  const len = to - from;
  if (len === 0) return o;
  const n = len - 1;
  if (n < 60) {
    out[o++] = n << 2;
  } else if (n < 0x100) {
    out[o++] = 60 << 2;
    out[o++] = n;
  } else if (n < 0x10000) {
    out[o++] = 61 << 2;
    out[o++] = n & 0xff;
    out[o++] = n >>> 8;
  } else if (n < 0x1000000) {
    out[o++] = 62 << 2;
    out[o++] = n & 0xff;
    out[o++] = (n >>> 8) & 0xff;
    out[o++] = n >>> 16;
  } else {
    out[o++] = 63 << 2;
    out[o++] = n & 0xff;
    out[o++] = (n >>> 8) & 0xff;
    out[o++] = (n >>> 16) & 0xff;
    out[o++] = n >>> 24;
  }
  out.set(src.subarray(from, to), o);
  return o + len;
}

function emitCopy(out: Uint8Array, o: number, offset: number, len: number): number {
  // Same chunking as the reference encoder: keep every remainder >= 4.
  while (len >= 68) {
    out[o++] = ((64 - 1) << 2) | 2;
    out[o++] = offset & 0xff;
    out[o++] = offset >>> 8;
    len -= 64;
  }
  if (len > 64) {
    out[o++] = ((60 - 1) << 2) | 2;
    out[o++] = offset & 0xff;
    out[o++] = offset >>> 8;
    len -= 60;
  }
  if (len >= 12 || offset >= 2048) {
    out[o++] = ((len - 1) << 2) | 2;
    out[o++] = offset & 0xff;
    out[o++] = offset >>> 8;
  } else {
    out[o++] = ((offset >>> 8) << 5) | ((len - 4) << 2) | 1;
    out[o++] = offset & 0xff;
  }
  return o;
}

/** Compresses `input` into a snappy block (used by tests and to build remote-write requests). */
export function snappyCompress(input: Uint8Array): Uint8Array {
  const n = input.length;
  if (n > 0xffffffff) throw new RangeError('snappy: input too large');
  // Worst case: 5-byte preamble + literals with <=5-byte headers per 2^32 bytes; allow slack.
  const out = new Uint8Array(32 + n + Math.ceil(n / 6));
  let o = 0;
  let v = n;
  while (v >= 0x80) {
    out[o++] = (v & 0x7f) | 0x80;
    v = Math.floor(v / 128);
  }
  out[o++] = v;

  const table = new Int32Array(1 << HASH_BITS).fill(-1);
  let litStart = 0;
  let i = 0;
  let skip = 32;
  const limit = n - 4; // last index where a 4-byte load is valid
  while (i <= limit) {
    const cur = load32(input, i);
    const h = hash32(cur);
    const cand = table[h]!;
    table[h] = i;
    if (cand >= 0 && i - cand <= MAX_OFFSET && load32(input, cand) === cur) {
      o = emitLiteral(out, o, input, litStart, i);
      let m = 4;
      while (i + m < n && input[cand + m] === input[i + m]) m++;
      o = emitCopy(out, o, i - cand, m);
      i += m;
      litStart = i;
      skip = 32;
      if (i - 1 <= limit) table[hash32(load32(input, i - 1))] = i - 1;
    } else {
      // accelerate through incompressible data
      i += skip >>> 5;
      skip++;
    }
  }
  o = emitLiteral(out, o, input, litStart, n);
  return out.slice(0, o);
}

/** The remote-write request encoder (tests and integration clients): always emits both Sample fields. */
import type { WriteRequest } from './write-request.js';
import { WT_I64, WT_LEN, WT_VARINT } from './protobuf-reader.js';

// ---------------------------------------------------------------------------
// Encoder (tests / integration clients). Always emits both Sample fields.
// ---------------------------------------------------------------------------

const utf8enc = new TextEncoder();

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/** Two's-complement int64 varint bytes as [lo, hi] uint32 words. */
function int64Words(v: number): [number, number] {
  if (!Number.isInteger(v)) throw new RangeError(`timestamp must be an integer, got ${v}`);
  const big = BigInt.asUintN(64, BigInt(v));
  return [Number(big & 0xffffffffn), Number(big >> 32n)];
}

function int64VarintSize(lo: number, hi: number): number {
  if (hi === 0) return varintSize(lo);
  let n = 5; // first 35 bits
  let h = hi >>> 3;
  while (h !== 0) {
    h >>>= 7;
    n++;
  }
  return n;
}

class Writer {
  pos = 0;
  readonly view: DataView;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  varint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  int64(lo: number, hi: number): void {
    while (hi !== 0 || lo >= 0x80) {
      this.buf[this.pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    this.buf[this.pos++] = lo;
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  double(v: number): void {
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
}

/** Encodes a `prometheus.WriteRequest` (uncompressed protobuf). */
export function encodeWriteRequest(req: WriteRequest): Uint8Array {
  // Pass 1: encode strings and compute nested sizes.
  interface SeriesPlan {
    labels: { name: Uint8Array; value: Uint8Array; size: number }[];
    samples: { value: number; lo: number; hi: number; size: number }[];
    size: number;
  }
  const plans: SeriesPlan[] = [];
  let total = 0;
  for (const ts of req.timeseries) {
    let size = 0;
    const labels = ts.labels.map((l) => {
      const name = utf8enc.encode(l.name);
      const value = utf8enc.encode(l.value);
      const lsize = 1 + varintSize(name.length) + name.length + 1 + varintSize(value.length) + value.length;
      size += 1 + varintSize(lsize) + lsize;
      return { name, value, size: lsize };
    });
    const samples = ts.samples.map((s) => {
      const [lo, hi] = int64Words(s.timestamp);
      const ssize = 1 + 8 + 1 + int64VarintSize(lo, hi);
      size += 1 + varintSize(ssize) + ssize;
      return { value: s.value, lo, hi, size: ssize };
    });
    plans.push({ labels, samples, size });
    total += 1 + varintSize(size) + size;
  }
  // Pass 2: write.
  const w = new Writer(new Uint8Array(total));
  for (const p of plans) {
    w.varint((1 << 3) | WT_LEN);
    w.varint(p.size);
    for (const l of p.labels) {
      w.varint((1 << 3) | WT_LEN);
      w.varint(l.size);
      w.varint((1 << 3) | WT_LEN);
      w.varint(l.name.length);
      w.bytes(l.name);
      w.varint((2 << 3) | WT_LEN);
      w.varint(l.value.length);
      w.bytes(l.value);
    }
    for (const s of p.samples) {
      w.varint((2 << 3) | WT_LEN);
      w.varint(s.size);
      w.varint((1 << 3) | WT_I64);
      w.double(s.value);
      w.varint((2 << 3) | WT_VARINT);
      w.int64(s.lo, s.hi);
    }
  }
  if (w.pos !== total) throw new Error(`encodeWriteRequest: size mismatch ${w.pos} != ${total}`);
  return w.buf;
}

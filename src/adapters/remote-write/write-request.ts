/**
 * Minimal protobuf codec for Prometheus remote-write 1.0 `prometheus.WriteRequest`
 * (prometheus/prompb remote.proto + types.proto):
 *
 *   WriteRequest { repeated TimeSeries timeseries = 1; reserved 2; repeated MetricMetadata metadata = 3; }
 *   TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2;
 *                  repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
 *   Label        { string name = 1; string value = 2; }
 *   Sample       { double value = 1; int64 timestamp = 2; }   // timestamp in ms
 *
 * Metadata, exemplars, histograms and any unknown fields are skipped. Groups, invalid
 * wire types, truncated data and invalid UTF-8 are rejected with {@link RemoteWriteError}.
 */
import { RemoteWriteError, snappyUncompress } from './snappy.js';

export { RemoteWriteError } from './snappy.js';

export interface Label {
  name: string;
  value: string;
}
export interface Sample {
  value: number;
  /** Milliseconds since epoch (int64 on the wire; exact within ±2^53). */
  timestamp: number;
}
export interface TimeSeries {
  labels: Label[];
  samples: Sample[];
}
export interface WriteRequest {
  timeseries: TimeSeries[];
}

const WT_VARINT = 0;
const WT_I64 = 1;
const WT_LEN = 2;
const WT_SGROUP = 3;
const WT_EGROUP = 4;
const WT_I32 = 5;

// ignoreBOM: a leading U+FEFF is label content, not a byte-order mark to strip.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const TWO_32 = 4294967296;

const INTERN_SIZE = 4096; // power of two
const INTERN_MAX_LEN = 64;
const internStr: (string | undefined)[] = new Array<string | undefined>(INTERN_SIZE).fill(undefined);
const internLen = new Int32Array(INTERN_SIZE);
const internBytes = new Uint8Array(INTERN_SIZE * INTERN_MAX_LEN);

function decodeUtf8(b: Uint8Array, start: number, end: number, what: string): string {
  try {
    return utf8.decode(b.subarray(start, end));
  } catch {
    throw new RemoteWriteError(`protobuf: invalid UTF-8 in ${what}`);
  }
}

function describe(what: string, field: number): string {
  return field >= 0 ? `${what} field ${field}` : what;
}

/** Cursor over a protobuf buffer; all reads are bounds-checked against `end`. */
class Reader {
  pos: number;
  /** Current message bound; narrowed while decoding an embedded message. */
  end: number;
  private readonly view: DataView;
  constructor(
    readonly buf: Uint8Array,
    pos: number,
    end: number,
  ) {
    this.pos = pos;
    this.end = end;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  /**
   * Unsigned varint that must fit in 32 bits (tags, lengths). `what`/`detail` only name the
   * value in error messages; they are concatenated lazily to keep the hot path allocation-free.
   */
  uint32(what: string, detail: string, field = -1): number {
    const b = this.buf;
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      if (this.pos >= this.end) {
        throw new RemoteWriteError(`protobuf: truncated varint (${describe(what, field)}${detail})`);
      }
      const byte = b[this.pos++]!;
      result += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) {
        if (result > 0xffffffff) {
          throw new RemoteWriteError(`protobuf: varint overflows uint32 (${describe(what, field)}${detail})`);
        }
        return result;
      }
      shift += 7;
    }
    throw new RemoteWriteError(`protobuf: varint too long for uint32 (${describe(what, field)}${detail})`);
  }

  /** int64 varint as a JS number (two's complement; exact within the safe-integer range). */
  int64(what: string): number {
    const b = this.buf;
    let lo = 0;
    let hi = 0;
    let i = 0;
    for (; i < 10; i++) {
      if (this.pos >= this.end) throw new RemoteWriteError(`protobuf: truncated varint (${what})`);
      const byte = b[this.pos++]!;
      const bits = byte & 0x7f;
      if (i < 4) {
        lo |= bits << (7 * i);
      } else if (i === 4) {
        lo |= bits << 28; // low 4 bits land in lo, high 3 bits in hi
        hi |= bits >>> 4;
      } else {
        hi |= bits << (7 * i - 32);
      }
      if (byte < 0x80) break;
    }
    if (i === 10) throw new RemoteWriteError(`protobuf: varint longer than 10 bytes (${what})`);
    lo >>>= 0;
    if (hi & 0x80000000) {
      // negative: -(~x + 1)
      const nlo = ~lo >>> 0;
      const nhi = ~hi >>> 0;
      return -(nhi * TWO_32 + nlo + 1);
    }
    return (hi >>> 0) * TWO_32 + lo;
  }

  double(what: string): number {
    if (this.end - this.pos < 8) throw new RemoteWriteError(`protobuf: truncated fixed64 (${what})`);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /**
   * Reads a length prefix and returns the end offset of the delimited payload (bounded by the
   * enclosing message). `field` >= 0 names an unknown/skipped field in error messages.
   */
  delimitedEnd(what: string, field = -1): number {
    const len = this.uint32(what, ' length', field);
    if (len > this.end - this.pos) {
      throw new RemoteWriteError(`protobuf: ${describe(what, field)} length ${len} runs past end of buffer ` + `(${this.end - this.pos} bytes left)`);
    }
    return this.pos + len;
  }

  string(what: string): string {
    const end = this.delimitedEnd(what);
    const start = this.pos;
    this.pos = end;
    const b = this.buf;
    const len = end - start;
    if (len === 0) return '';
    if (len > INTERN_MAX_LEN) return decodeUtf8(b, start, end, what);
    // Label names/values repeat heavily across series and requests: look the bytes up in a
    // small direct-mapped intern table so the hot path allocates nothing.
    let h = 0x811c9dc5 ^ len;
    for (let i = start; i < end; i++) h = Math.imul(h ^ b[i]!, 0x01000193);
    const slot = (h >>> 0) & (INTERN_SIZE - 1);
    const cached = internStr[slot];
    if (cached !== undefined && internLen[slot] === len) {
      const base = slot * INTERN_MAX_LEN;
      let same = true;
      for (let i = 0; i < len; i++) {
        if (internBytes[base + i] !== b[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return cached;
    }
    const str = decodeUtf8(b, start, end, what); // only valid UTF-8 is ever cached
    internBytes.set(b.subarray(start, end), slot * INTERN_MAX_LEN);
    internLen[slot] = len;
    internStr[slot] = str;
    return str;
  }

  /** Skips a field of the given wire type. */
  skip(wireType: number, field: number, msg: string): void {
    switch (wireType) {
      case WT_VARINT: {
        const b = this.buf;
        for (let i = 0; i < 10; i++) {
          if (this.pos >= this.end) {
            throw new RemoteWriteError(`protobuf: truncated varint (${msg} field ${field})`);
          }
          if (b[this.pos++]! < 0x80) return;
        }
        throw new RemoteWriteError(`protobuf: varint longer than 10 bytes (${msg} field ${field})`);
      }
      case WT_I64:
        if (this.end - this.pos < 8) {
          throw new RemoteWriteError(`protobuf: truncated fixed64 (${msg} field ${field})`);
        }
        this.pos += 8;
        return;
      case WT_LEN:
        this.pos = this.delimitedEnd(msg, field);
        return;
      case WT_I32:
        if (this.end - this.pos < 4) {
          throw new RemoteWriteError(`protobuf: truncated fixed32 (${msg} field ${field})`);
        }
        this.pos += 4;
        return;
      case WT_SGROUP:
      case WT_EGROUP:
        throw new RemoteWriteError(`protobuf: groups are not supported (${msg} field ${field})`);
      default:
        throw new RemoteWriteError(`protobuf: invalid wire type ${wireType} (${msg} field ${field})`);
    }
  }

  /** Reads a tag; returns field number * 8 + wire type after validating the field number. */
  tag(msg: string): number {
    const t = this.uint32(msg, ' tag');
    if (t >>> 3 === 0) throw new RemoteWriteError(`protobuf: field number 0 in ${msg}`);
    return t;
  }
}

function wrongType(msg: string, field: number, wireType: number): RemoteWriteError {
  if (wireType === WT_SGROUP || wireType === WT_EGROUP) {
    return new RemoteWriteError(`protobuf: groups are not supported (${msg} field ${field})`);
  }
  if (wireType > WT_I32) {
    return new RemoteWriteError(`protobuf: invalid wire type ${wireType} (${msg} field ${field})`);
  }
  return new RemoteWriteError(`protobuf: ${msg} field ${field} has wrong wire type ${wireType}`);
}

function decodeLabel(r: Reader): Label {
  let name = '';
  let value = '';
  while (r.pos < r.end) {
    const t = r.tag('Label');
    const field = t >>> 3;
    const wt = t & 7;
    if (field === 1) {
      if (wt !== WT_LEN) throw wrongType('Label', field, wt);
      name = r.string('Label.name');
    } else if (field === 2) {
      if (wt !== WT_LEN) throw wrongType('Label', field, wt);
      value = r.string('Label.value');
    } else {
      r.skip(wt, field, 'Label');
    }
  }
  return { name, value };
}

function decodeSample(r: Reader): Sample {
  let value = 0;
  let timestamp = 0;
  while (r.pos < r.end) {
    const t = r.tag('Sample');
    const field = t >>> 3;
    const wt = t & 7;
    if (field === 1) {
      if (wt !== WT_I64) throw wrongType('Sample', field, wt);
      value = r.double('Sample.value');
    } else if (field === 2) {
      if (wt !== WT_VARINT) throw wrongType('Sample', field, wt);
      timestamp = r.int64('Sample.timestamp');
    } else {
      r.skip(wt, field, 'Sample');
    }
  }
  return { value, timestamp };
}

function decodeTimeSeries(r: Reader): TimeSeries {
  const labels: Label[] = [];
  const samples: Sample[] = [];
  while (r.pos < r.end) {
    const t = r.tag('TimeSeries');
    const field = t >>> 3;
    const wt = t & 7;
    if (field === 1 || field === 2) {
      if (wt !== WT_LEN) throw wrongType('TimeSeries', field, wt);
      const subEnd = r.delimitedEnd(field === 1 ? 'Label' : 'Sample');
      const outerEnd = r.end;
      r.end = subEnd; // bound reads to the embedded message (no per-message allocation)
      if (field === 1) labels.push(decodeLabel(r));
      else samples.push(decodeSample(r));
      r.end = outerEnd;
    } else {
      r.skip(wt, field, 'TimeSeries'); // exemplars (3), histograms (4), unknown
    }
  }
  return { labels, samples };
}

/** What one request may decode to: a small body of empty series must not become millions of objects. */
export interface DecodeLimits {
  maxSeries: number;
  maxSamples: number;
}

const UNLIMITED: DecodeLimits = { maxSeries: Number.POSITIVE_INFINITY, maxSamples: Number.POSITIVE_INFINITY };

/** Decodes a (decompressed) protobuf `prometheus.WriteRequest`, refusing one past `limits` as it goes. */
export function decodeWriteRequest(buf: Uint8Array, limits: DecodeLimits = UNLIMITED): WriteRequest {
  const r = new Reader(buf, 0, buf.length);
  const timeseries: TimeSeries[] = [];
  let samples = 0;
  while (r.pos < r.end) {
    if (timeseries.length >= limits.maxSeries)
      throw new RemoteWriteError(`more than ${limits.maxSeries} series in one request (limits.remoteWriteMaxSeries): lower max_samples_per_send`);
    const t = r.tag('WriteRequest');
    const field = t >>> 3;
    const wt = t & 7;
    if (field === 1) {
      if (wt !== WT_LEN) throw wrongType('WriteRequest', field, wt);
      const subEnd = r.delimitedEnd('TimeSeries');
      r.end = subEnd;
      const ts = decodeTimeSeries(r);
      samples += ts.samples.length;
      if (samples > limits.maxSamples)
        throw new RemoteWriteError(`more than ${limits.maxSamples} samples in one request (limits.remoteWriteMaxSamples): lower max_samples_per_send`);
      timeseries.push(ts);
      r.end = buf.length;
    } else {
      r.skip(wt, field, 'WriteRequest'); // metadata (3), unknown
    }
  }
  return { timeseries };
}

/** Snappy-block-decompresses then decodes a remote-write 1.0 request body. */
export function parseRemoteWrite(body: Uint8Array, opts: { maxDecompressedBytes: number } & Partial<DecodeLimits>): WriteRequest {
  return decodeWriteRequest(snappyUncompress(body, opts.maxDecompressedBytes), { ...UNLIMITED, ...opts });
}

// ---------------------------------------------------------------------------
// Stale markers
// ---------------------------------------------------------------------------

const staleScratch = new DataView(new ArrayBuffer(8));

/** Prometheus' staleness marker: the NaN with bit pattern 0x7ff0000000000002. */
export const STALE_NAN: number = (() => {
  staleScratch.setUint32(0, 0x7ff00000);
  staleScratch.setUint32(4, 0x00000002);
  return staleScratch.getFloat64(0);
})();

/** True only for the exact stale-NaN bit pattern (ordinary NaN is not a stale marker). */
export function isStaleMarker(value: number): boolean {
  if (value === value) return false; // fast path: not NaN
  staleScratch.setFloat64(0, value);
  return staleScratch.getUint32(0) === 0x7ff00000 && staleScratch.getUint32(4) === 0x00000002;
}

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

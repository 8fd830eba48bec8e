/** A bounds-checked protobuf wire-format reader (the decoding half of the remote-write codec). */
import { RemoteWriteError } from './snappy.js';

export const WT_VARINT = 0;
export const WT_I64 = 1;
export const WT_LEN = 2;
const WT_SGROUP = 3;
const WT_EGROUP = 4;
export const WT_I32 = 5;

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
export class Reader {
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

export function wrongType(msg: string, field: number, wireType: number): RemoteWriteError {
  if (wireType === WT_SGROUP || wireType === WT_EGROUP) {
    return new RemoteWriteError(`protobuf: groups are not supported (${msg} field ${field})`);
  }
  if (wireType > WT_I32) {
    return new RemoteWriteError(`protobuf: invalid wire type ${wireType} (${msg} field ${field})`);
  }
  return new RemoteWriteError(`protobuf: ${msg} field ${field} has wrong wire type ${wireType}`);
}

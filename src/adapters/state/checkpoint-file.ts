import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { fsyncDir } from '../file/durable-file.js';
import { linesSync } from '../file/line-reader.js';
import { dirname } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { gunzipSync, gzipSync } from 'node:zlib';
import { PIECES_PER_TAKE } from '../../core/detection/snapshot-stream.js';

/** How a streamed checkpoint went: its size and the longest time it held the event loop. */
export interface CheckpointWrite {
  bytes: number;
  slices: number;
  /** The longest stretch spent writing without yielding (what ingest waited at most). */
  maxSliceMs: number;
}

/**
 * The first bytes of a compressed checkpoint. What follows is frames: a 4-byte big-endian length,
 * then a gzip member holding whole lines. A plain checkpoint begins with its JSON head line ('{').
 */
const GZIP_MAGIC = Buffer.from('HBCKGZ1\n');
/** A frame longer than this is no frame of ours: the file is damaged, not a checkpoint to trust. */
const MAX_FRAME_BYTES = 1 << 30;

/**
 * A checkpoint as JSON lines: a head line, then one line per piece the state hands out (a metric
 * group). Written in slices that yield to the event loop, so a million series never hold ingest
 * for seconds inside one `JSON.stringify` (nor hit the engine's maximum string length); read back
 * line by line in chunks. Written to a temporary file, fsynced and renamed: a crash mid-write
 * leaves the previous checkpoint intact.
 *
 * With a gzip level (1-9; 0 writes plain JSON lines), each slice's lines are one gzip member of
 * a framed file. The float32 buckets are written byte-shuffled (see json-codec.ts), so a
 * checkpoint of series with daily and weekly seasons shrinks about 3.5 times (`npm run bench`).
 * Either form is read, whichever the file holds.
 */
export class CheckpointFile {
  constructor(
    private readonly path: string,
    private readonly gzipLevel = 1,
  ) {
    mkdirSync(dirname(path), { recursive: true });
  }

  async write(head: string, next: (max: number) => string[] | null, sliceMs = 20): Promise<CheckpointWrite> {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    let bytes = 0;
    let slices = 1;
    let maxSliceMs = 0;
    const level = this.gzipLevel;
    const put = (text: string): number => {
      if (level === 0) return writeSync(fd, text);
      const member = gzipSync(text, { level });
      const frame = Buffer.allocUnsafe(4);
      frame.writeUInt32BE(member.length);
      return writeSync(fd, frame) + writeSync(fd, member);
    };
    try {
      if (level > 0) bytes += writeSync(fd, GZIP_MAGIC);
      bytes += put(`${head}\n`);
      let sliceStart = performance.now();
      for (let lines = next(PIECES_PER_TAKE); lines !== null; lines = next(PIECES_PER_TAKE)) {
        if (lines.length > 0) bytes += put(`${lines.join('\n')}\n`);
        const spent = performance.now() - sliceStart;
        if (spent >= sliceMs) {
          if (spent > maxSliceMs) maxSliceMs = spent;
          await yieldToEventLoop();
          slices++;
          sliceStart = performance.now();
        }
      }
      const last = performance.now() - sliceStart;
      if (last > maxSliceMs) maxSliceMs = last;
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    fsyncDir(dirname(this.path));
    return { bytes, slices, maxSliceMs };
  }

  /** The checkpoint's lines, head first; nothing when there is no checkpoint. Either form, by its first bytes. */
  *lines(): Generator<string> {
    if (!existsSync(this.path)) return;
    const fd = openSync(this.path, 'r');
    try {
      const magic = Buffer.alloc(GZIP_MAGIC.length);
      if (readSync(fd, magic, 0, magic.length, 0) !== magic.length || !magic.equals(GZIP_MAGIC)) {
        for (const { line } of linesSync(this.path)) if (line.length > 0) yield line;
        return;
      }
      let pos = magic.length;
      const len = Buffer.alloc(4);
      for (let got = readSync(fd, len, 0, 4, pos); got > 0; got = readSync(fd, len, 0, 4, pos)) {
        const size = got === 4 ? len.readUInt32BE(0) : Number.NaN;
        if (!(size <= MAX_FRAME_BYTES)) throw new Error(`checkpoint ${this.path}: damaged frame header at byte ${pos}`);
        const member = Buffer.allocUnsafe(size);
        if (readSync(fd, member, 0, size, pos + 4) !== size) throw new Error(`checkpoint ${this.path}: frame at byte ${pos} is cut short`);
        pos += 4 + size;
        const text = gunzipSync(member).toString('utf8');
        let start = 0;
        for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
          if (nl > start) yield text.slice(start, nl);
          start = nl + 1;
        }
      }
    } finally {
      closeSync(fd);
    }
  }
}

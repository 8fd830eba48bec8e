import { closeSync, createReadStream, existsSync, openSync, readSync, statSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';

/** A run of consecutive lines of a file, as one chunk of the file delivered them. */
export interface LineBatch {
  lines: string[];
  /** 1-based number of `lines[0]`. */
  firstLineNo: number;
  bytesRead: number;
  totalBytes: number;
}

/**
 * The lines of a text file (optionally .gz), a chunk at a time (1 MiB of the file). One `await` per
 * chunk rather than per line: readline's per-line async iteration cost more than parsing the JSON.
 * A trailing '\r' is dropped, as readline did.
 */
export async function* readLineBatches(path: string): AsyncGenerator<LineBatch> {
  const totalBytes = statSync(path).size;
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const input = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let lineNo = 1;
  for await (const chunk of input) {
    const text = carry + decoder.write(chunk as Buffer);
    const lines: string[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n', start); nl >= 0; nl = text.indexOf('\n', start)) {
      lines.push(text.charCodeAt(nl - 1) === 13 ? text.slice(start, nl - 1) : text.slice(start, nl));
      start = nl + 1;
    }
    carry = text.slice(start);
    if (lines.length > 0) {
      yield { lines, firstLineNo: lineNo, bytesRead: file.bytesRead, totalBytes };
      lineNo += lines.length;
    }
  }
  const last = carry + decoder.end();
  if (last.length > 0) yield { lines: [last.endsWith('\r') ? last.slice(0, -1) : last], firstLineNo: lineNo, bytesRead: file.bytesRead, totalBytes };
}

/** Lines of a text file (optionally .gz), with 1-based line numbers and bytes read for progress. */
export async function* readLines(path: string): AsyncGenerator<{ line: string; lineNo: number; bytesRead: number; totalBytes: number }> {
  for await (const b of readLineBatches(path)) {
    for (let i = 0; i < b.lines.length; i++) yield { line: b.lines[i]!, lineNo: b.firstLineNo + i, bytesRead: b.bytesRead, totalBytes: b.totalBytes };
  }
}

const SYNC_CHUNK = 4 << 20;

/**
 * The lines of a file, read synchronously 4 MiB at a time (for start-up: a checkpoint, the
 * write-ahead log): never the whole file as one string, which Node caps at 512 MiB. Each line comes
 * with its size in bytes including the newline; `complete` is false for a last line without one
 * (a torn append). Nothing when the file does not exist.
 */
export function* linesSync(path: string): Generator<{ line: string; bytes: number; complete: boolean }> {
  if (!existsSync(path)) return;
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(SYNC_CHUNK);
    let carry: Buffer = Buffer.alloc(0);
    for (let n = readSync(fd, chunk, 0, SYNC_CHUNK, null); n > 0; n = readSync(fd, chunk, 0, SYNC_CHUNK, null)) {
      const buf = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let start = 0;
      for (let nl = buf.indexOf(10, start); nl >= 0; nl = buf.indexOf(10, start)) {
        yield { line: buf.toString('utf8', start, nl), bytes: nl + 1 - start, complete: true };
        start = nl + 1;
      }
      carry = Buffer.from(buf.subarray(start));
    }
    if (carry.length > 0) yield { line: carry.toString('utf8'), bytes: carry.length, complete: false };
  } finally {
    closeSync(fd);
  }
}

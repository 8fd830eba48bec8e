import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { fsyncDir } from '../file/durable-file.js';
import { linesSync } from '../file/line-reader.js';
import { dirname } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/** How a streamed checkpoint went: its size and the longest time it held the event loop. */
export interface CheckpointWrite {
  bytes: number;
  slices: number;
  /** The longest stretch spent writing without yielding (what ingest waited at most). */
  maxSliceMs: number;
}

/** Encoded groups per call to `next`: small enough that a call costs well under a slice. */
const LINES_PER_TAKE = 64;

/**
 * A checkpoint as JSON lines: a head line, then one line per piece the state hands out (a metric
 * group). Written in slices that yield to the event loop, so a million series never hold ingest
 * for seconds inside one `JSON.stringify` (nor hit the engine's maximum string length); read back
 * line by line in chunks. Written to a temporary file, fsynced and renamed: a crash mid-write
 * leaves the previous checkpoint intact.
 */
export class CheckpointFile {
  constructor(private readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  async write(head: string, next: (max: number) => string[] | null, sliceMs = 20): Promise<CheckpointWrite> {
    const tmp = `${this.path}.tmp`;
    const fd = openSync(tmp, 'w');
    let bytes = 0;
    let slices = 1;
    let maxSliceMs = 0;
    try {
      bytes += writeSync(fd, `${head}\n`);
      let sliceStart = performance.now();
      for (let lines = next(LINES_PER_TAKE); lines !== null; lines = next(LINES_PER_TAKE)) {
        if (lines.length > 0) bytes += writeSync(fd, `${lines.join('\n')}\n`);
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

  /** The checkpoint's lines, head first; nothing when there is no checkpoint. */
  *lines(): Generator<string> {
    for (const { line } of linesSync(this.path)) if (line.length > 0) yield line;
  }
}

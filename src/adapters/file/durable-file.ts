import { closeSync, fsyncSync, openSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Replaces `path` with `data` so that a crash or a power loss leaves either the old content or the
 * new, never an empty or half-written file: written to a temporary file, fsynced, renamed over
 * `path`, then the directory fsynced so the rename itself is on disk. Without the first fsync a
 * journaled file system may commit the rename before the data (the new name on an empty file).
 */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/**
 * Makes a rename, create or unlink in `dir` durable. Some platforms (Windows) cannot open a
 * directory for fsync; there the rename's own guarantees are all there is, so failure is ignored.
 */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // not supported here (see above)
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeState, encodeState } from '../../core/state/json-codec.js';

/**
 * Small state on local disk (the audit head): written to a temporary file, fsynced and renamed, so a
 * crash mid-write leaves the previous one intact.
 */
export class FileStateStore<T> {
  constructor(private readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  load(): T | undefined {
    if (!existsSync(this.path)) return undefined;
    return decodeState<T>(readFileSync(this.path, 'utf8'));
  }

  save(state: T): number {
    const text = encodeState(state);
    const tmp = `${this.path}.tmp`;
    // fsync before the rename: otherwise a power loss can leave the new name on an empty file.
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    return text.length;
  }
}

import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeState, encodeState } from '../../core/state/json-codec.js';

/**
 * Checkpoints on local disk: written to a temporary file and renamed, so a crash mid-write leaves
 * the previous checkpoint intact.
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
    writeFileSync(tmp, text);
    renameSync(tmp, this.path);
    return text.length;
  }
}

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { decodeState, encodeState } from '../../core/state/json-codec.js';
import { writeFileAtomic } from '../file/durable-file.js';

/**
 * Small state on local disk (the audit head), replaced atomically and durably (see writeFileAtomic):
 * a crash mid-write leaves the previous one intact.
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
    writeFileAtomic(this.path, text);
    return text.length;
  }
}

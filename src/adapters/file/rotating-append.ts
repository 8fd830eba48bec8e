import { appendFileSync, existsSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { fsyncDir } from './durable-file.js';
import { beyondKeep, isFull, type RotationPolicy, rotate } from './rotated-files.js';

/**
 * Appends one line to a plain JSON-lines file (the recommendations feed, the training log),
 * rotating it first when the line would take it past `maxFileBytes`, then deleting rotated files
 * beyond `keepFiles`. Synchronous, and the size is read from the file each time: these files get
 * a line per decision, not per sample, and a second writer (a restarted process) is then no
 * problem. A crash leaves at worst a torn last line, as before rotation; the rotation itself is one
 * atomic rename.
 */
export function appendRotating(path: string, line: string, policy: RotationPolicy | undefined): void {
  const text = `${line}\n`;
  const size = existsSync(path) ? statSync(path).size : 0;
  if (size === 0) mkdirSync(dirname(path), { recursive: true });
  if (isFull(policy, size, Buffer.byteLength(text))) {
    rotate(path);
    const doomed = beyondKeep(path, policy!.keepFiles);
    for (const f of doomed) unlinkSync(f.path);
    if (doomed.length > 0) fsyncDir(dirname(path));
  }
  appendFileSync(path, text);
}

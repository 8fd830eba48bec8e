import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fsyncDir } from './durable-file.js';

/**
 * Size-based rotation of an append-only file, the one naming scheme for every log Harbinger writes:
 * `audit.jsonl` is the live file; when it is full it is renamed to `audit.jsonl.000001`, then
 * `.000002`, and so on: the number grows, higher is newer, and a rotated file is never renamed
 * again. So a rotation is one atomic rename (a crash leaves the file under its old name or its new
 * one, nothing in between), `ls` lists the files in order, and a file once verified or shipped
 * keeps its name. Deleting old ones is the caller's choice (`keepFiles`).
 */

export interface RotationPolicy {
  /** Rotate when the next line would take the live file past this size; 0 never rotates. */
  maxFileBytes: number;
  /** Rotated files kept beside the live one; 'all' deletes none. */
  keepFiles: number | 'all';
}

export interface RotatedFile {
  path: string;
  /** Its number: higher is newer. */
  index: number;
}

const DIGITS = 6;

/** The rotated files of `path`, oldest first. */
export function rotatedFiles(path: string): RotatedFile[] {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  if (!existsSync(dir)) return [];
  const out: RotatedFile[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    const suffix = name.slice(prefix.length);
    if (/^\d+$/.test(suffix)) out.push({ path: join(dir, name), index: Number(suffix) });
  }
  return out.sort((a, b) => a.index - b.index);
}

/** Every file of the log in the order it was written: the rotated ones, oldest first, then the live one if any. */
export function logFiles(path: string): string[] {
  return [...rotatedFiles(path).map((f) => f.path), ...(existsSync(path) ? [path] : [])];
}

/**
 * Renames the live file to the next rotated name and returns that name. Its content is fsynced
 * first and the directory after, so the rotated file is complete and the rename survives a power
 * loss; the next append creates a new live file.
 */
export function rotate(path: string): string {
  const rotated = rotatedFiles(path);
  const next = (rotated.length > 0 ? rotated[rotated.length - 1]!.index : 0) + 1;
  const target = `${path}.${String(next).padStart(DIGITS, '0')}`;
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(path, target);
  fsyncDir(dirname(path));
  return target;
}

/** The rotated files beyond `keepFiles`, oldest first: what a policy deletes. */
export function beyondKeep(path: string, keepFiles: RotationPolicy['keepFiles']): RotatedFile[] {
  if (keepFiles === 'all') return [];
  const rotated = rotatedFiles(path);
  return rotated.slice(0, Math.max(0, rotated.length - keepFiles));
}

/** Whether appending `bytes` to a live file of `size` bytes should rotate it first (an empty file never is). */
export function isFull(policy: RotationPolicy | undefined, size: number, bytes: number): boolean {
  return policy !== undefined && policy.maxFileBytes > 0 && size > 0 && size + bytes > policy.maxFileBytes;
}

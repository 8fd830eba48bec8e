import { accessSync, constants, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/**
 * Checks of the paths a command line names, made before any work starts: a typo in `--out` must
 * cost a one-line message at once, not a stack trace after a long replay or training run. Each
 * returns why the path cannot be used, in a few words, or undefined when it can.
 */

/** A file-system error in words (the code alone, ENOENT, means nothing to most readers). */
export function fsReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'ENOTDIR') return 'a parent of it is not a directory';
  if (code === 'EISDIR') return 'is a directory';
  return (e as Error).message;
}

/** Why `path` cannot be read as a `kind`. */
export function unreadable(path: string, kind: 'file' | 'directory'): string | undefined {
  try {
    const st = statSync(path);
    if (kind === 'file' && st.isDirectory()) return 'is a directory, not a file';
    if (kind === 'directory' && !st.isDirectory()) return 'is not a directory';
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (e) {
    return fsReason(e);
  }
}

/** Why a file cannot be created (or overwritten, or appended to) at `path`. */
export function unwritable(path: string): string | undefined {
  try {
    const st = statSync(path);
    if (st.isDirectory()) return 'is a directory, not a file';
    accessSync(path, constants.W_OK);
    return undefined;
  } catch (e) {
    if (!missing(e)) return fsReason(e);
  }
  const parent = dirname(resolve(path));
  const problem = unreadable(parent, 'directory');
  if (problem !== undefined) return `directory ${parent} ${problem}`;
  return canWriteIn(parent);
}

/** Why a directory cannot be used or created (with its missing parents) at `path`. */
export function unwritableDir(path: string): string | undefined {
  let dir = resolve(path);
  for (;;) {
    try {
      if (!statSync(dir).isDirectory()) return dir === resolve(path) ? 'is not a directory' : `${dir} is not a directory`;
      return canWriteIn(dir);
    } catch (e) {
      if (!missing(e) || dirname(dir) === dir) return fsReason(e);
      dir = dirname(dir);
    }
  }
}

/** Not there, or under a file: either way the nearest existing parent says what is wrong. */
const missing = (e: unknown): boolean => ['ENOENT', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '');

function canWriteIn(dir: string): string | undefined {
  try {
    accessSync(dir, constants.W_OK);
    return undefined;
  } catch {
    return `cannot create files in ${dir}: permission denied`;
  }
}

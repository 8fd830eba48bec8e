import { resolve } from 'node:path';

/**
 * Where the shared real-world data lives: `HARBINGER_SHARED_DATA`, else `../shared/data` next to
 * the checkout (where CI puts it), resolved from the working directory.
 */
export function sharedDataDir(): string {
  return process.env['HARBINGER_SHARED_DATA'] ?? resolve(process.cwd(), '..', 'shared', 'data');
}

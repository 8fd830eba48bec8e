import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDataDir } from '../../src/eval/data-dir.js';

/**
 * Suites that read the real labelled data in ../shared/data (NAB dev, Microsoft cloud monitoring).
 * A fresh clone without it skips them and prints why; under CI (CI=true) they run, and a missing
 * corpus fails them, since `.ci/run` checks the repository out next to `shared/`.
 */
export function sharedData(subdir: string, marker: string, what: string): { dir: string; skip: boolean } {
  const dir = join(sharedDataDir(), subdir);
  const skip = process.env['CI'] !== 'true' && !existsSync(join(dir, marker));
  if (skip) process.stderr.write(`[skipped] ${what}: no ${join(dir, marker)} (set HARBINGER_SHARED_DATA)\n`);
  return { dir, skip };
}

import { readFileSync } from 'node:fs';

/**
 * The version in the package's package.json (dist/src/app/ when built, src/app/ under a TS
 * runner), for `--version` and `harbinger_build_info`.
 */
export function harbingerVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'harbinger' && pkg.version !== undefined) return pkg.version;
    } catch {
      // not this one: try the next candidate
    }
  }
  return 'unknown';
}

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real small filesystem (a tmpfs mounted on a new directory) for disk-full tests: the store's own
 * ENOSPC, not an injected error. Mounting needs root: elsewhere the suite is skipped and says why;
 * under CI (CI=true, where `.ci/run` runs as root) a failed mount fails the suite.
 */
export function smallDiskAvailable(what: string): boolean {
  const probe = mkdtempSync(join(tmpdir(), 'hb-disk-probe-'));
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]).status === 0;
  if (ok) spawnSync('umount', [probe]);
  rmSync(probe, { recursive: true, force: true });
  if (!ok && process.env['CI'] !== 'true') process.stderr.write(`[skipped] ${what}: mounting a tmpfs needs root\n`);
  return ok || process.env['CI'] === 'true';
}

/** Mounts a tmpfs of `mib` MiB on a new directory; `release` unmounts and removes it. */
export function mountSmallDisk(mib: number): { dir: string; release: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'hb-small-disk-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot mount a ${mib} MiB tmpfs on ${dir}: ${r.stderr.trim()}`);
  return {
    dir,
    release: () => {
      // Lazy: a test that failed midway may still hold files open there.
      spawnSync('umount', ['-l', dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

import { closeSync, createWriteStream, mkdtempSync, openSync, readSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * Standard input copied to a temporary file, for commands that read a path (`replay -`).
 * Why a copy and not /dev/stdin: the replay reads a path (it sizes it for the progress bar), and
 * /dev/stdin cannot be opened at all when stdin is a socket, which is what Node's child_process
 * and some supervisors hand a program. Gzip input is recognised by its magic bytes and kept as .gz,
 * so `zcat`-less pipes of compressed files work too. The copy is removed at exit.
 */
export async function spoolStdin(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'harbinger-stdin-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const raw = join(dir, 'stdin');
  await pipeline(process.stdin, createWriteStream(raw));
  const head = Buffer.alloc(2);
  const fd = openSync(raw, 'r');
  const n = readSync(fd, head, 0, 2, 0);
  closeSync(fd);
  const path = join(dir, n === 2 && head[0] === 0x1f && head[1] === 0x8b ? 'stdin.jsonl.gz' : 'stdin.jsonl');
  renameSync(raw, path);
  return path;
}

import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

/** Lines of a text file (optionally .gz), with 1-based line numbers and bytes read for progress. */
export async function* readLines(path: string): AsyncGenerator<{ line: string; lineNo: number; bytesRead: number; totalBytes: number }> {
  const totalBytes = statSync(path).size;
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  const input = path.endsWith('.gz') ? file.pipe(createGunzip()) : file;
  const rl = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  for await (const line of rl) {
    lineNo++;
    yield { line, lineNo, bytesRead: file.bytesRead, totalBytes };
  }
}

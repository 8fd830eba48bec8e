import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { readLineBatches, readLines } from '../src/adapters/file/line-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'hb-lines-'));

async function all(path: string): Promise<{ line: string; lineNo: number }[]> {
  const out: { line: string; lineNo: number }[] = [];
  for await (const { line, lineNo } of readLines(path)) out.push({ line, lineNo });
  return out;
}

describe('line reader', () => {
  it('splits CRLF and LF lines, keeps blank lines and a last line without a newline, numbers them from 1', async () => {
    const path = join(dir, 'mixed.jsonl');
    writeFileSync(path, 'a\r\nb\n\nc');
    expect(await all(path)).toEqual([
      { line: 'a', lineNo: 1 },
      { line: 'b', lineNo: 2 },
      { line: '', lineNo: 3 },
      { line: 'c', lineNo: 4 },
    ]);
  });

  it('keeps a multi-byte character whole across the 1 MiB chunk boundary, and counts lines across chunks', async () => {
    const path = join(dir, 'utf8.jsonl');
    // 'é' is two bytes; placed so that it straddles byte 1,048,576.
    const first = `${'x'.repeat((1 << 20) - 1)}é`;
    writeFileSync(path, `${first}\nsecond ✓\n`);
    const lines = await all(path);
    expect(lines.map((l) => l.lineNo)).toEqual([1, 2]);
    expect(lines[0]!.line).toBe(first);
    expect(lines[1]!.line).toBe('second ✓');
    let batches = 0;
    for await (const b of readLineBatches(path)) batches += b.lines.length > 0 ? 1 : 0;
    expect(batches).toBeGreaterThanOrEqual(1);
  });

  it('reads .gz files', async () => {
    const path = join(dir, 'data.jsonl.gz');
    writeFileSync(path, gzipSync('one\ntwo\n'));
    expect((await all(path)).map((l) => l.line)).toEqual(['one', 'two']);
  });
});

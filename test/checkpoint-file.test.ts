import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointFile } from '../src/adapters/state/checkpoint-file.js';
import { WriteAheadLog } from '../src/adapters/file/write-ahead-log.js';

const dir = () => mkdtempSync(join(tmpdir(), 'hb-cp-'));

describe('streamed checkpoint file', () => {
  it('writes the head and every slice, yields between slices, and reads the lines back across chunk boundaries', async () => {
    const file = new CheckpointFile(join(dir(), 'state.json'));
    // 5 MiB lines cross the 4 MiB read chunks; the slice budget of 0 ms yields after every take.
    const big = 'x'.repeat(5 << 20);
    const pieces = [['{"g":1}', `{"g":"${big}"}`], ['{"g":3}'], []];
    const w = await file.write('{"version":2}', () => pieces.shift() ?? null, 0);
    expect(w.slices).toBeGreaterThanOrEqual(3);
    expect(w.bytes).toBe('{"version":2}\n'.length + '{"g":1}\n'.length + big.length + 9 + '{"g":3}\n'.length);
    expect([...file.lines()]).toEqual(['{"version":2}', '{"g":1}', `{"g":"${big}"}`, '{"g":3}']);
  });

  it('leaves the previous checkpoint in place when a write fails midway', async () => {
    const path = join(dir(), 'state.json');
    const file = new CheckpointFile(path);
    await file.write('{"version":2,"n":1}', () => null);
    let calls = 0;
    const failing = () => {
      if (++calls > 1) throw new Error('disk gone');
      return ['{"g":1}'];
    };
    await expect(file.write('{"version":2,"n":2}', failing)).rejects.toThrow('disk gone');
    expect([...file.lines()]).toEqual(['{"version":2,"n":1}']);
  });

  it('has no lines when there is no checkpoint', () => {
    expect([...new CheckpointFile(join(dir(), 'none.json')).lines()]).toEqual([]);
  });
});

describe('write-ahead log after a streamed checkpoint', () => {
  it('keeps only what was logged after the mark, and recovery after it applies exactly those', () => {
    const path = join(dir(), 'wal.jsonl');
    const wal = new WriteAheadLog<{ n: number }>(path);
    for (const n of [1, 2, 3]) wal.append({ n });
    const mark = wal.mark();
    // The checkpoint is being written; commands keep coming.
    for (const n of [4, 5]) wal.append({ n });
    wal.dropThrough(mark);
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(2);
    wal.append({ n: 6 });
    const reopened = new WriteAheadLog<{ n: number }>(path, mark.seq);
    expect(reopened.takeUnapplied().map((r) => [r.seq, r.cmd.n])).toEqual([
      [4, 4],
      [5, 5],
      [6, 6],
    ]);
    expect(existsSync(`${path}.tmp`)).toBe(false);
  });

  it('reads a log back line by line across its 4 MiB chunks (a whole-file string would hit the 512 MiB cap), and cuts a torn tail', () => {
    const path = join(dir(), 'wal.jsonl');
    const wal = new WriteAheadLog<{ pad: string }>(path);
    const pad = 'p'.repeat(100_000);
    for (let i = 0; i < 100; i++) wal.append({ pad }); // ~10 MB: three chunks
    writeFileSync(path, '{"seq":101,"cmd":{"pa', { flag: 'a' }); // a crash mid-append
    const reopened = new WriteAheadLog<{ pad: string }>(path);
    const records = reopened.takeUnapplied();
    expect(records).toHaveLength(100);
    expect(records.every((r) => r.cmd.pad.length === 100_000)).toBe(true);
    expect(reopened.position).toBe(100);
    expect(readFileSync(path, 'utf8').endsWith('}}\n')).toBe(true);
  });
});

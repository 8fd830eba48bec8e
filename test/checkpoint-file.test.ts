import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointFile } from '../src/adapters/state/checkpoint-file.js';

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

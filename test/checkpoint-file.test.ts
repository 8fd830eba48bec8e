import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CheckpointFile } from '../src/adapters/state/checkpoint-file.js';

const dir = () => mkdtempSync(join(tmpdir(), 'hb-cp-'));

describe('streamed checkpoint file', () => {
  it('writes the head and every slice, yields between slices, and reads the lines back across chunk boundaries', async () => {
    const file = new CheckpointFile(join(dir(), 'state.json'), 0);
    // 5 MiB lines cross the 4 MiB read chunks; the slice budget of 0 ms yields after every take.
    const big = 'x'.repeat(5 << 20);
    const pieces = [['{"g":1}', `{"g":"${big}"}`], ['{"g":3}'], []];
    const w = await file.write('{"version":2}', () => pieces.shift() ?? null, 0);
    expect(w.slices).toBeGreaterThanOrEqual(3);
    expect(w.bytes).toBe('{"version":2}\n'.length + '{"g":1}\n'.length + big.length + 9 + '{"g":3}\n'.length);
    expect([...file.lines()]).toEqual(['{"version":2}', '{"g":1}', `{"g":"${big}"}`, '{"g":3}']);
  });

  it('gzipped (the default), writes one frame per slice and reads the same lines back, in either form whatever it is set to write', async () => {
    const path = join(dir(), 'state.json');
    const big = 'x'.repeat(5 << 20);
    const pieces = [['{"g":1}', `{"g":"${big}"}`], ['{"g":3}'], []];
    const w = await new CheckpointFile(path).write('{"version":2}', () => pieces.shift() ?? null, 0);
    const raw = '{"version":2}\n{"g":1}\n'.length + big.length + 9 + '{"g":3}\n'.length;
    expect(w.bytes).toBe(readFileSync(path).length);
    expect(w.bytes).toBeLessThan(raw / 100);
    expect(readFileSync(path).subarray(0, 8).toString()).toBe('HBCKGZ1\n');
    expect([...new CheckpointFile(path).lines()]).toEqual(['{"version":2}', '{"g":1}', `{"g":"${big}"}`, '{"g":3}']);
    // A service set to write plain reads the gzipped file it finds, and the other way round.
    expect([...new CheckpointFile(path, 0).lines()]).toHaveLength(4);
    const plain = join(dir(), 'plain.json');
    await new CheckpointFile(plain, 0).write('{"version":2}', () => null);
    expect([...new CheckpointFile(plain, 6).lines()]).toEqual(['{"version":2}']);
  });

  it('refuses a damaged gzipped checkpoint with the reason, rather than restoring part of it', async () => {
    const path = join(dir(), 'state.json');
    await new CheckpointFile(path).write(
      '{"version":2}',
      (() => {
        let n = 0;
        return () => (n++ < 3 ? [`{"g":${n}}`] : null);
      })(),
      0,
    );
    const size = readFileSync(path).length;
    truncateSync(path, size - 3);
    expect(() => [...new CheckpointFile(path).lines()]).toThrow(/cut short/);
    const bytes = readFileSync(path);
    bytes.writeUInt32BE(0xffffffff, 8);
    writeFileSync(path, bytes);
    expect(() => [...new CheckpointFile(path).lines()]).toThrow(/damaged frame header at byte 8/);
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

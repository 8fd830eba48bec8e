import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WriteAheadLog } from '../src/adapters/file/write-ahead-log.js';
import { mountSmallDisk, smallDiskAvailable } from './support/small-disk.js';

const dir = () => mkdtempSync(join(tmpdir(), 'hb-wal-'));
const open: WriteAheadLog<unknown>[] = [];
function wal<C>(path: string, afterSeq = 0, legacy?: string): WriteAheadLog<C> {
  const w = new WriteAheadLog<C>(path, afterSeq, legacy);
  open.push(w as WriteAheadLog<unknown>);
  return w;
}
afterEach(() => {
  for (const w of open.splice(0)) w.close();
});

describe('write-ahead log (SQLite)', () => {
  it('keeps what was logged after a checkpoint mark, and recovery after it applies exactly those, in order', async () => {
    const path = join(dir(), 'wal.sqlite');
    const log = wal<{ n: number }>(path);
    for (let n = 1; n <= 600; n++) log.append({ n }); // more than one page of the cut and of the read-back
    const mark = log.mark();
    expect(mark.seq).toBe(600);
    // The checkpoint is being written; commands keep coming.
    for (let n = 601; n <= 605; n++) log.append({ n });
    await log.dropThrough(mark);
    log.append({ n: 606 });
    log.close();
    const reopened = wal<{ n: number }>(path, mark.seq);
    expect(reopened.position).toBe(606);
    expect([...reopened.takeUnapplied()].map((r) => [r.seq, r.cmd.n])).toEqual([601, 602, 603, 604, 605, 606].map((n) => [n, n]));
    expect([...reopened.takeUnapplied()]).toEqual([]); // handed over once
    // Nothing the checkpoint holds is left: a restart that lost the checkpoint's record would replay only the tail.
    expect([...wal<{ n: number }>(path, 0).takeUnapplied()].map((r) => r.seq)).toEqual([601, 602, 603, 604, 605, 606]);
  });

  it('numbers on from the checkpoint when the log is empty, so sequence numbers never repeat', () => {
    const log = wal<{ n: number }>(join(dir(), 'wal.sqlite'), 41);
    expect(log.append({ n: 1 })).toBe(42);
  });

  it('moves an older JSON-lines log in (a half-written line mid-file skipped, a torn tail cut) and removes it', () => {
    const d = dir();
    const legacy = join(d, 'wal.jsonl');
    const line = (seq: number) => `${JSON.stringify({ seq, cmd: { n: seq } })}\n`;
    writeFileSync(legacy, `${line(1)}${line(2)}{"seq":3,"cmd":{"n"\n${line(4)}{"seq":5,"cm`);
    const log = wal<{ n: number }>(join(d, 'wal.sqlite'), 1, legacy);
    expect([...log.takeUnapplied()].map((r) => r.cmd.n)).toEqual([2, 4]);
    expect(log.position).toBe(4);
    expect(existsSync(legacy)).toBe(false);
  });

  const disk = smallDiskAvailable('write-ahead log on a full disk');
  it.skipIf(!disk)('on a full disk refuses each append with SQLITE_FULL, and keeps every record written once space is back', () => {
    const { dir: d, release } = mountSmallDisk(8);
    try {
      const path = join(d, 'wal.sqlite');
      const log = wal<{ samples: number[] }>(path);
      const record = { samples: Array.from({ length: 4000 }, (_, i) => i / 7) }; // ~80 KB of JSON
      for (let i = 0; i < 10; i++) log.append(record);
      try {
        writeFileSync(join(d, 'filler'), Buffer.alloc(16 << 20));
      } catch {
        // ENOSPC: the filler took what was left, as intended.
      }
      let refused = 0;
      let error = '';
      for (let i = 0; i < 50; i++) {
        try {
          log.append(record);
        } catch (e) {
          refused++;
          error = (e as Error & { code?: string }).code ?? '';
        }
      }
      expect({ refused, error, position: log.position }).toEqual({ refused: 50, error: 'SQLITE_FULL', position: 10 });
      rmSync(join(d, 'filler'));
      for (let i = 0; i < 30; i++) log.append(record);
      log.close();
      const seqs = [...wal<{ samples: number[] }>(path).takeUnapplied()].map((r) => r.seq);
      expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    } finally {
      for (const w of open.splice(0)) w.close();
      release();
    }
  });
});

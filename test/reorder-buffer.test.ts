import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ReorderBuffer } from '../src/core/event-time/reorder-buffer.js';

describe('ReorderBuffer', () => {
  it('holds items until the watermark passes them, then releases in timestamp order', () => {
    const buf = new ReorderBuffer<string>(100);
    const out: string[] = [];
    buf.push(1000, 'a');
    buf.push(1050, 'c');
    buf.push(1020, 'b'); // out of order, within lateness
    buf.drain((x) => out.push(x));
    expect(out).toEqual([]); // watermark 950
    buf.push(1130, 'd'); // watermark 1030
    buf.drain((x) => out.push(x));
    expect(out).toEqual(['a', 'b']);
    buf.flush((x) => out.push(x));
    expect(out).toEqual(['a', 'b', 'c', 'd']);
  });

  it('rejects items older than the watermark as late and keeps the rest', () => {
    const buf = new ReorderBuffer<number>(60_000);
    expect(buf.push(600_000, 1)).toBe(true);
    expect(buf.push(540_001, 2)).toBe(true);
    expect(buf.push(539_999, 3)).toBe(false);
    expect(buf.size).toBe(2);
  });

  it('keeps arrival order among equal timestamps', () => {
    const buf = new ReorderBuffer<string>(0);
    buf.push(5, 'x');
    buf.push(5, 'y');
    buf.push(5, 'z');
    const out: string[] = [];
    buf.flush((v) => out.push(v));
    expect(out).toEqual(['x', 'y', 'z']);
  });

  it('releases any permutation within the lateness bound as a sorted, complete stream', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 300 }), (jitter) => {
        const lateness = 10_000;
        const buf = new ReorderBuffer<number>(lateness);
        const out: number[] = [];
        let accepted = 0;
        jitter.forEach((j, i) => {
          const ts = i * 1000 + j;
          if (buf.push(ts, ts)) accepted++;
          buf.drain((v) => out.push(v));
        });
        buf.flush((v) => out.push(v));
        expect(out.length).toBe(accepted);
        for (let i = 1; i < out.length; i++) expect(out[i]!).toBeGreaterThanOrEqual(out[i - 1]!);
      }),
    );
  });

  it('orders ties by rank (events before samples of the same instant), then by arrival', () => {
    const buf = new ReorderBuffer<string>(10, false, (x) => (x.startsWith('event') ? 0 : 1));
    const out: string[] = [];
    buf.push(1000, 'sample-1');
    buf.push(1000, 'event-1');
    buf.push(1000, 'sample-2');
    buf.push(999, 'sample-0');
    buf.flush((x) => out.push(x));
    expect(out).toEqual(['sample-0', 'event-1', 'sample-1', 'sample-2']);
  });

  it('in external mode a checkpoint keeps the watermark, so a restored buffer refuses what the original refused', () => {
    const buf = new ReorderBuffer<string>(0, true);
    buf.push(5000, 'x');
    buf.raiseWatermark(4000);
    const restored = ReorderBuffer.fromJSON<string>(0, JSON.parse(JSON.stringify(buf.toJSON())) as ReturnType<ReorderBuffer<string>['toJSON']>, true);
    expect(restored.watermark).toBe(4000);
    expect(restored.push(3500, 'late')).toBe(false);
    expect(restored.push(4500, 'fine')).toBe(true);
  });
});

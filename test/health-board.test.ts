import { describe, expect, it } from 'vitest';
import { HealthBoard } from '../src/core/detection/health-board.js';
import { DetectionEngine } from '../src/core/detection/detection-engine.js';
import { followsLoad } from '../src/core/detection/load-following.js';
import { defaultDetectionConfig } from '../src/config/detection.js';
import type { StackHealthEvent } from '../src/domain/types.js';

describe('health board', () => {
  it('reports each stack once per step in service-then-stack order, worst score per signal, then resets', () => {
    const board = new HealthBoard();
    const west = board.acc('checkout', 'us-west-2');
    const east = board.acc('checkout', 'us-east-1');
    const search = board.acc('search', 'us-east-1');
    expect(board.acc('checkout', 'us-west-2')).toBe(west);
    west.known = 2;
    west.reporting = 2;
    west.worst[0] = 7.123456;
    west.saturation = 0.81;
    west.episodes.add('http_p99_ms');
    east.known = 2;
    east.reporting = 1;
    search.known = 1;
    const out: StackHealthEvent[] = [];
    board.close(59_999, (e) => out.push(e));
    expect(out.map((e) => `${e.service}/${e.stack}`)).toEqual(['checkout/us-east-1', 'checkout/us-west-2', 'search/us-east-1']);
    expect(out[1]).toMatchObject({ ts: 59_999, saturation: 0.81, reporting: 2, known: 2, inEpisode: ['http_p99_ms'] });
    expect(Object.values(out[1]!.scores)).toEqual([7.1235]);
    expect(out[0]).toMatchObject({ scores: {}, saturation: null, reporting: 1 });
    // The next step starts empty, but knows its series and their episodes.
    const next: StackHealthEvent[] = [];
    board.close(119_999, (e) => next.push(e));
    expect(next[1]).toMatchObject({ scores: {}, reporting: 0, known: 2, inEpisode: ['http_p99_ms'] });
  });

  it('restores a mid-step checkpoint exactly', () => {
    const board = new HealthBoard();
    const acc = board.acc('checkout', 'us-west-2');
    acc.worst[1] = 3.5;
    acc.reporting = 1;
    const copy = new HealthBoard();
    copy.restore(board.toJSON());
    const a: StackHealthEvent[] = [];
    const b: StackHealthEvent[] = [];
    board.close(1, (e) => a.push(e));
    copy.close(1, (e) => b.push(e));
    expect(b).toEqual(a);
  });

  it('says apart what follows the load (CPU, pools) from what is held whatever the load (memory, disk)', () => {
    const out: StackHealthEvent[] = [];
    const engine = new DetectionEngine(defaultDetectionConfig(), { detection: (e) => e.type === 'health' && out.push(e) });
    const T = Date.UTC(2026, 2, 1);
    for (let m = 0; m < 3; m++) {
      for (const [metric, value] of [
        ['cpu_utilization', 0.08],
        ['db_pool_utilization', 0.05],
        ['memory_utilization', 0.56],
      ] as const)
        engine.offerSample({ ts: T + m * 60_000, signal: 'capacity', metric, stack: 'blue', service: 'checkout', value });
    }
    engine.flush();
    const h = out.find((e) => e.stack === 'blue')!;
    expect(h.saturation).toBeCloseTo(0.56 / 0.9, 4);
    expect(h.loadSaturation).toBeCloseTo(0.08 / 0.9, 4);
    expect(['cpu_utilization', 'db_pool_saturation', 'worker_busy_ratio'].every(followsLoad)).toBe(true);
    expect(['memory_utilization', 'heap_used_ratio', 'disk_utilization_percent', 'jvm_mem_pct'].some(followsLoad)).toBe(false);
  });
});

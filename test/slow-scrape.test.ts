import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluateFixtures } from '../src/app/evaluate.js';
import { parseConfig } from '../src/config/load.js';
import { healthIsFresh } from '../src/core/decide/health-freshness.js';
import { HealthBoard } from '../src/core/detection/health-board.js';
import type { StackHealthEvent } from '../src/domain/types.js';
import { generateScenario } from '../fixtures/generate.js';

/**
 * Data scraped every five minutes (CloudWatch's default, a slow Prometheus job): a stack's health
 * arrives every five minutes, and must not read as stale, or as incomplete, in between.
 */

const MIN = 60_000;

describe('a stack that reports every five minutes', () => {
  it('has its reporting interval learned from the steps it reports in, and carried on its health', () => {
    const board = new HealthBoard();
    const acc = board.acc('checkout', 'us-west-2');
    acc.known = 4;
    const out: StackHealthEvent[] = [];
    for (let m = 0; m < 60; m++) {
      acc.reporting = m % 5 === 0 ? 4 : 0;
      board.close((m + 1) * MIN - 1, (e) => out.push(e));
    }
    expect(out.at(-5)!.intervalMinutes).toBeCloseTo(5, 0);
    // A checkpoint keeps it.
    const copy = new HealthBoard();
    copy.restore(board.toJSON());
    expect(copy.acc('checkout', 'us-west-2').intervalMinutes).toBeCloseTo(acc.intervalMinutes, 12);
    // One-minute data stays at one.
    const fast = new HealthBoard();
    const f = fast.acc('checkout', 'us-east-1');
    f.known = 4;
    const seen: StackHealthEvent[] = [];
    for (let m = 0; m < 30; m++) {
      f.reporting = 4;
      fast.close((m + 1) * MIN - 1, (e) => seen.push(e));
    }
    expect(seen.at(-1)!.intervalMinutes).toBe(1);
  });

  it('judges its health fresh for two of its intervals, one-minute data for staleAfterMinutes as before', () => {
    const h = (intervalMinutes?: number): StackHealthEvent => ({
      type: 'health',
      ts: 0,
      service: 'checkout',
      stack: 'us-west-2',
      scores: {},
      saturation: null,
      inEpisode: [],
      reporting: 4,
      known: 4,
      ...(intervalMinutes !== undefined ? { intervalMinutes } : {}),
    });
    expect(healthIsFresh(h(5), 4 * MIN, 3)).toBe(true);
    expect(healthIsFresh(h(5), 10 * MIN, 3)).toBe(true);
    expect(healthIsFresh(h(5), 11 * MIN, 3)).toBe(false);
    expect(healthIsFresh(h(1), 4 * MIN, 3)).toBe(false);
    expect(healthIsFresh(h(), 3 * MIN, 3)).toBe(true);
    expect(healthIsFresh(undefined, 0, 3)).toBe(false);
  });

  it('still mitigates a bad deploy, a memory leak and a pool exhaustion before their breach, and nothing else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'harbinger-5min-'));
    for (const name of ['bad-deploy', 'memory-leak', 'pool-exhaustion']) {
      const { lines, truth } = generateScenario(name, 1);
      // Every fifth minute's samples; context events all kept.
      const kept = lines.filter((l) => !l.includes('"type":"sample"') || Number(/"ts":"[^"]*T\d\d:(\d\d)/.exec(l)![1]) % 5 === 0);
      writeFileSync(join(dir, `${name}.jsonl`), `${kept.join('\n')}\n`);
      writeFileSync(join(dir, `${name}.truth.json`), JSON.stringify(truth));
    }
    const { summary } = await evaluateFixtures(dir, parseConfig({}));
    expect(summary).toMatchObject({ incidents: 3, detected: 3, beforeBreach: 3, localizationAccuracy: 1, falseMitigations: 0 });
  });
});

import { describe, expect, it } from 'vitest';
import { ParsedBatchBuilder, ParsedBatchReader } from '../src/ingest/parsed-batch.js';
import { replayFile as replayInThread } from '../src/app/replay.js';
import { parseConfig } from '../src/config/load.js';
import type { ContextEvent, Sample } from '../src/domain/types.js';

const sample = (ts: string, stack: string, value: number, extra = '') =>
  `{"type":"sample","ts":"${ts}","signal":"reliability","metric":"http_5xx_rate","stack":"${stack}","service":"checkout","value":${value}${extra}}`;

describe('parsed batches (the parsing thread hands the pipeline columns)', () => {
  it('gives back samples, events and refused lines in file order, with keys named once across batches', () => {
    const builder = new ParsedBatchBuilder();
    const first = builder.build(
      [
        '{"type":"event","ts":"2026-03-01T12:00:00Z","kind":"deployment","id":"d1","stack":"a","attributes":{}}',
        sample('2026-03-01T12:00:00Z', 'a', 0.001),
        'not json',
        '',
        sample('2026-03-01T12:00:00Z', 'b', 0.002, ',"count":300'),
      ],
      1,
      100,
      200,
    );
    const second = builder.build([sample('2026-03-01T12:01:00Z', 'a', 0.003)], 6, 200, 200);
    expect(first.newKeys).toHaveLength(2);
    expect(second.newKeys).toHaveLength(0);
    expect(first.lines).toBe(4);
    const seen: string[] = [];
    const reader = new ParsedBatchReader();
    const on = {
      sample: (s: Sample) => seen.push(`sample ${s.stack} ${s.value}${s.count !== undefined ? ` n=${s.count}` : ''}`),
      event: (e: ContextEvent) => seen.push(`event ${e.id}`),
      reject: (line: number, reason: string) => seen.push(`reject line ${line}: ${reason.split(':')[0]}`),
    };
    reader.read(first, on);
    reader.read(second, on);
    expect(seen).toEqual(['event d1', 'sample a 0.001', 'reject line 3: invalid JSON', 'sample b 0.002 n=300', 'sample a 0.003']);
  });

  it('the compiled replay, which parses in a worker thread, decides exactly as parsing in this thread does', async () => {
    const config = parseConfig({});
    const path = 'fixtures/scenarios/bad-deploy.jsonl';
    const run = async (replay: typeof replayInThread) => {
      const out: string[] = [];
      const summary = await replay(path, { config, onEvent: (e) => void out.push(JSON.stringify(e)) });
      return { out, lines: summary.lines, samples: summary.stats.samples };
    };
    // dist/ is built by `npm test` before vitest runs; there the worker file exists beside replay.js.
    const distReplay = '../dist/src/app/replay.js'; // a variable: the compiled module has no type declarations
    const compiled = (await import(distReplay)) as { replayFile: typeof replayInThread };
    const [a, b] = [await run(replayInThread), await run(compiled.replayFile)];
    expect(a.out.some((e) => e.includes('"action":"rollback"'))).toBe(true);
    expect(b).toEqual(a);
  });
});

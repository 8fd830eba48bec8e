import { describe, expect, it } from 'vitest';
import { replayFile } from '../src/app/replay.js';
import { parseConfig } from '../src/config/load.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import type { DecisionEvent, Recommendation } from '../src/domain/decision.js';
import { parseLine } from '../src/ingest/record-parser.js';
import { readFileSync } from 'node:fs';

describe('decision engine over a replay', () => {
  it('emits deterministic ids and identical decisions for two replays', async () => {
    const run = async (): Promise<string[]> => {
      const out: string[] = [];
      await replayFile('fixtures/scenarios/bad-deploy.jsonl', { config: parseConfig({}), onEvent: (e) => e.type === 'recommendation' && out.push(JSON.stringify(e)) });
      return out;
    };
    const [a, b] = [await run(), await run()];
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
    expect(JSON.parse(a.find((r) => r.includes('"action":"rollback"'))!).id).toMatch(/^inc-checkout-us-west-2-20260302T\d{4}-r\d+$/);
  });

  it('waits for a human when auto-approval is off; approval executes and records who; silence expires', () => {
    const config = parseConfig({ decision: { execution: { autoApprove: false }, stacks: { 'us-west-2': { primary: true } } } });
    const events: DecisionEvent[] = [];
    const p = new Pipeline(config, { output: (e) => (e.type === 'recommendation' || e.type === 'outcome' || e.type === 'incident') && events.push(e) });
    const lines = readFileSync('fixtures/scenarios/bad-deploy.jsonl', 'utf8').split('\n');
    let approved = false;
    for (const line of lines) {
      if (line === '') continue;
      const r = parseLine(line);
      if (!r.ok) continue;
      if (r.kind === 'sample') p.offerSample(r.sample);
      else p.offerEvent(r.event);
      const waiting = events.find((e): e is Recommendation => e.type === 'recommendation' && e.status === 'awaiting_approval' && e.action === 'rollback');
      if (waiting !== undefined && !approved) {
        approved = true;
        const res = p.decision.approve(waiting.id, 'alice@example.com', waiting.ts + 60_000);
        expect(res).toEqual({ ok: true, reason: 'approved and executed' });
        expect(p.decision.approve(waiting.id, 'bob', waiting.ts + 120_000)).toMatchObject({ ok: false });
      }
    }
    p.flush();
    expect(approved).toBe(true);
    const outcome = events.find((e) => e.type === 'outcome' && e.outcome === 'approved');
    expect(outcome).toMatchObject({ by: 'alice@example.com', reason: 'approved by alice@example.com' });
    expect(events.some((e) => e.type === 'recommendation' && e.status === 'executed' && e.action === 'rollback')).toBe(true);
    // Every recommendation that waited and was never answered expired after the approval timeout.
    const waited = events.filter((e): e is Recommendation => e.type === 'recommendation' && e.status === 'awaiting_approval');
    const answered = new Set(events.filter((e) => e.type === 'outcome').map((e) => (e as { recommendationId: string }).recommendationId));
    for (const w of waited) expect(answered.has(w.id)).toBe(true);
  });
});

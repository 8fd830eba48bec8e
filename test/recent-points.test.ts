import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { LINGER_MS, RecentPoints } from '../src/core/detection/recent-points.js';
import type { SeriesState } from '../src/core/detection/series-state.js';
import { parseConfig } from '../src/config/load.js';
import { Pipeline } from '../src/pipeline/pipeline.js';
import { parseLine } from '../src/ingest/record-parser.js';

const series = (stack: string): SeriesState => ({ service: 's', metric: 'm', stack, signal: 'latency', gate: null }) as unknown as SeriesState;
const MIN = 60_000;
const T0 = Date.UTC(2026, 2, 1);

describe('recent points kept for plots', () => {
  it('keeps the base ring for every series, the larger one while an incident of the service is open and for an hour after', () => {
    const r = new RecentPoints(4, 10);
    const a = series('a');
    for (let i = 0; i < 6; i++) r.record(a, T0 + i * MIN, i, 10, i < 2 ? NaN : 1);
    // Only the newest 4 are kept, oldest first; no band while the baseline was cold.
    expect(r.windows('s')[0]).toMatchObject({ ts: [2, 3, 4, 5].map((i) => T0 + i * MIN), value: [2, 3, 4, 5], lower: [9, 9, 9, 9], upper: [11, 11, 11, 11] });
    r.watch('s', 'inc-1');
    for (let i = 6; i < 14; i++) r.record(a, T0 + i * MIN, i, 10, NaN);
    // Growing keeps the run-up: 4 from before the incident, then everything up to 10.
    expect(r.windows('s')[0]!.value).toEqual([4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    expect(r.windows('s')[0]!.lower[9]).toBeNull();
    r.release('s', 'inc-1', T0 + 14 * MIN);
    r.record(a, T0 + 15 * MIN, 15, 10, NaN);
    expect(r.windows('s')[0]!.value).toHaveLength(10);
    r.record(a, T0 + 14 * MIN + LINGER_MS + 1, 99, 10, NaN);
    expect(r.windows('s')[0]!.value).toEqual([12, 13, 15, 99]);
    expect(r.windows('other')).toEqual([]);
  });

  it('holds windows as they were when taken, trimmed to the points they had, while the rings move on', () => {
    const r = new RecentPoints(4, 10);
    const a = series('a');
    const b = { ...series('b'), metric: 'n' } as SeriesState;
    for (let i = 0; i < 3; i++) r.record(a, T0 + i * MIN, i, 10, 1);
    r.record(b, T0, 7, 5, NaN);
    const held = r.hold('s', ['m']);
    for (let i = 3; i < 9; i++) r.record(a, T0 + i * MIN, i, 10, 1);
    expect(held.windows()).toEqual([
      { ...r.windows('s', ['m'])[0]!, ts: [0, 1, 2].map((i) => T0 + i * MIN), value: [0, 1, 2], expected: [10, 10, 10], lower: [9, 9, 9], upper: [11, 11, 11] },
    ]);
    expect(r.windows('s', ['m'])[0]!.value).toEqual([5, 6, 7, 8]);
    expect(
      r
        .hold('s')
        .windows()
        .map((w) => `${w.metric}/${w.stack}:${w.value.length}`),
    ).toEqual(['m/a:4', 'n/b:1']);
  });

  it('plots a replayed incident: its metrics on both stacks, from before it opened, with the deploy that caused it', () => {
    const config = parseConfig({});
    const p = new Pipeline(config, { output: () => undefined });
    const lines = readFileSync('fixtures/scenarios/bad-deploy.jsonl', 'utf8').trim().split('\n');
    for (const line of lines) {
      const r = parseLine(line);
      if (r.ok && r.kind === 'sample') p.offerSample(r.sample);
      else if (r.ok) p.offerEvent(r.event);
    }
    p.flush();
    const rollback = p.decision.allRecommendations().find((r) => r.action === 'rollback')!;
    const inc = p.decision.incidents().find((i) => i.id === rollback.incidentId)!;
    const view = p.trail.view(inc, p.decision.allRecommendations());
    expect(view.recommendations.map((r) => r.id)).toContain(rollback.id);
    expect(new Set(view.series.map((s) => s.stack))).toEqual(new Set(['us-east-1', 'us-west-2']));
    for (const s of view.series) {
      expect(s.ts[0]!).toBeLessThan(inc.openedAt);
      expect(s.ts.length).toBeGreaterThan(60);
    }
    expect(view.series.find((s) => s.metric === 'http_error_ratio')?.gate).toMatchObject({ kind: 'error_rate', limit: 0.001 });
    expect(view.events.map((e) => e.id)).toContain('deploy-618');
    // Auto-approved, executed at once; validated afterwards (the replayed data never saw the rollback),
    // so the fault was still there when the freeze ended: the next step moved traffic, and the data
    // recovered after it.
    expect(view.outcomes.map((o) => o.outcome)).toEqual(['ineffective', 'effective']);
    const shift = view.recommendations.find((r) => r.action === 'shift_traffic' && r.status === 'executed');
    expect(shift?.ts).toBe(rollback.ts + config.decision.guardrails.freezeMinutes * 60_000);
  });
});

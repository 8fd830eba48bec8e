import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ServiceMetrics } from '../src/adapters/http/metrics.js';

describe('Grafana dashboard', () => {
  it('queries only metrics Harbinger actually exports', async () => {
    const dash = JSON.parse(readFileSync('deploy/grafana/harbinger-dashboard.json', 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
      annotations: { list: { name: string; expr: string }[] };
    };
    const exprs = [...dash.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...dash.annotations.list.map((a) => a.expr)];
    const used = new Set(exprs.flatMap((e) => e.match(/harbinger_[a-z_]+/g) ?? []).map((m) => m.replace(/_bucket$/, '')));
    const exported = new Set((await new ServiceMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) expect(exported, name).toContain(name);
    // What an on-call Grafana user looks for: what waits now, incidents over time and as annotations.
    expect(dash.panels.find((p) => p.title === 'Awaiting approval')!.targets[0]!.expr).toContain('harbinger_recommendations_awaiting_approval');
    expect(dash.annotations.list.map((a) => a.name)).toEqual(['Incidents opened', 'Incidents mitigated']);
  });
});

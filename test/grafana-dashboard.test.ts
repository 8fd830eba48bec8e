import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { ServiceMetrics } from '../src/adapters/http/metrics.js';

describe('Grafana dashboard', () => {
  it('queries only metrics Harbinger actually exports', async () => {
    const dash = JSON.parse(readFileSync('deploy/grafana/harbinger-dashboard.json', 'utf8')) as { panels: { targets: { expr: string }[] }[] };
    const used = new Set(dash.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/harbinger_[a-z_]+/g) ?? [])).map((m) => m.replace(/_bucket$/, '')));
    const exported = new Set((await new ServiceMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) expect(exported, name).toContain(name);
  });
});

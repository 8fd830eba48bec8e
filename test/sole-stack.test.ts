import { describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.js';
import { Pipeline, type PipelineOutput } from '../src/pipeline/pipeline.js';
import type { Recommendation } from '../src/domain/decision.js';

function noise(i: number): number {
  const x = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
  return (x - Math.floor(x) - 0.5) * 2;
}

const T0 = Date.UTC(2026, 2, 1);
const MIN = 60_000;
const DEPLOY = 2 * 1440 + 600;

/** A service that runs on one stack only: two quiet days, then (optionally) a deployment, then its errors climb. */
function run(withDeployment: boolean): Recommendation[] {
  const out: PipelineOutput[] = [];
  const p = new Pipeline(parseConfig({}), { output: (e) => out.push(e) });
  for (let m = 0; m < DEPLOY + 60; m++) {
    const ts = T0 + m * MIN;
    if (withDeployment && m === DEPLOY)
      p.offerEvent({ ts, kind: 'deployment', stack: 'eu-west-1', service: 'billing', id: 'deploy-9', attributes: { version: 'v9', previousVersion: 'v8' } });
    const errors = m >= DEPLOY + 5 ? 0.0004 + Math.min(0.01, (m - DEPLOY - 5) * 0.0005) : 0.0004 * (1 + 0.2 * noise(m));
    p.offerSample({ ts, signal: 'reliability', metric: 'http_5xx_rate', stack: 'eu-west-1', service: 'billing', value: errors });
  }
  p.flush();
  return out.filter((e): e is Recommendation => e.type === 'recommendation');
}

describe('a service on one stack only', () => {
  it('past its SLO after a deployment on that stack, the deployment is rolled back: no peer is needed to suspect the change', () => {
    const rollback = run(true).find((r) => r.action === 'rollback');
    expect(rollback).toMatchObject({ stack: 'eu-west-1', service: 'billing', reason: 'roll back deploy-9 on eu-west-1 (v9 → v8)' });
    const phase = rollback!.phases.find((p) => p.name === 'delta_stack_identification')!;
    expect(phase).toMatchObject({ result: 'pass', code: 'sole_stack_changed' });
    expect(phase.evidence).toBe(
      'http_5xx_rate past the SLO on eu-west-1, the only stack reporting it (no peer to compare with), after deployment deploy-9 on it',
    );
  });

  it('without a change on it there is nothing to roll back and nowhere to move traffic: it is watched, not mitigated', () => {
    const recs = run(false);
    expect(recs.length).toBeGreaterThan(0);
    expect(recs.filter((r) => r.action === 'rollback' || r.action === 'shift_traffic')).toEqual([]);
  });
});

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AxiosInstance } from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { HarbingerService } from '../src/app/service.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { postNdjson } from './support/ndjson.js';
import { apiClient } from './support/index.js';

/**
 * A canary rollout driven step by step through replayed telemetry: the new version runs as stack
 * `canary` of `checkout` beside `primary`. The answers are the ones Flagger's webhooks and Argo
 * Rollouts' web metric read.
 */
const TOKEN = 'gate-test-token-0123456789';
const T0 = Date.UTC(2026, 2, 1, 8);
const MIN = 60_000;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

function noise(i: number): number {
  const x = Math.sin(i * 12.9898 + 78.233) * 43758.5453;
  return (x - Math.floor(x) - 0.5) * 2;
}

/**
 * Minutes [from, to) of telemetry; `bad` makes the canary's errors and latency climb from `badFrom`;
 * `sells` is the canary's orders per unit of share against the old version's.
 */
function minutes(from: number, to: number, step: number, badFrom = Infinity, sells = 1): string[] {
  const lines: string[] = [];
  for (let m = from; m < to; m++) {
    const ts = new Date(T0 + m * MIN).toISOString();
    for (const stack of ['primary', 'canary']) {
      const share = stack === 'canary' ? step : 100 - step;
      const bad = stack === 'canary' && m >= badFrom;
      const line = (signal: string, metric: string, value: number) =>
        lines.push(JSON.stringify({ type: 'sample', ts, signal, metric, stack, service: 'checkout', value }));
      line('reliability', 'http_5xx_rate', bad ? 0.012 : 0.0004 * (1 + 0.2 * noise(m * 3 + share)));
      line('latency', 'http_p99_ms', bad ? 650 : 200 + 10 * noise(m * 5 + share));
      line('business', 'orders_per_min', Math.round(2 * share * (stack === 'canary' ? sells : 1) * (1 + 0.03 * noise(m * 7 + share))));
    }
  }
  return lines;
}

async function start(): Promise<AxiosInstance> {
  const config = parseConfig({ server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-gate-')), wallClockWatermark: false } });
  const service = new HarbingerService({ config, log: createLogger('silent'), apiToken: TOKEN });
  const { port } = await service.start();
  stops.push(() => service.stop());
  return apiClient(port, TOKEN);
}

const flagger = (http: AxiosInstance, hook: string, step: number) =>
  http.post(`/v1/gate/flagger/${hook}`, {
    name: 'checkout',
    namespace: 'shop',
    phase: 'Progressing',
    checksum: 'abc',
    metadata: { service: 'checkout', stack: 'canary', step: String(step) },
  });

describe('progressive-delivery gate', () => {
  it('a good version: hold until the step has its sample, then promote; Flagger may promote and must not roll back', async () => {
    const http = await start();
    await postNdjson(http, minutes(0, 120, 10));
    const first = await http.get('/v1/gate', { params: { service: 'checkout', stack: 'canary', step: 10 } });
    expect(first.status).toBe(200);
    expect(first.data).toMatchObject({ service: 'checkout', stack: 'canary', step: 10, verdict: 'hold' });
    expect(first.data.reasons[0].detail).toMatch(/points since the step began: not enough to judge/);
    expect((await flagger(http, 'confirm-promotion', 10)).status).toBe(412);
    // Ten minutes in: errors and latency are fine, but 10 % of the orders is not yet the minimum sample.
    await postNdjson(http, minutes(120, 130, 10));
    const early = await http.get('/v1/gate', { params: { service: 'checkout', stack: 'canary', step: 10 } });
    expect(early.data.verdict).toBe('hold');
    expect(early.data.reasons.find((r: { metric: string }) => r.metric === 'orders_per_min').detail).toBe(
      // What the new version would have sold at 10 % selling like the old one: 10 minutes of the old
      // one's 180 a minute at 90 %, times 10 / 90.
      '200 of 1000 business events expected since the step began: not enough to judge',
    );
    // An hour in: the sample is there, and the new version sells as well per unit of traffic.
    await postNdjson(http, minutes(130, 180, 10));
    const later = await http.get('/v1/gate', { params: { service: 'checkout', stack: 'canary', step: 10 } });
    expect(later.data.verdict).toBe('promote');
    expect(later.data.reasons.find((r: { metric: string }) => r.metric === 'http_5xx_rate').detail).toMatch(/^0\.000\d+, under the SLO's 0\.001; /);
    expect(later.data.reasons.map((r: { metric: string; verdict: string }) => `${r.metric} ${r.verdict}`).sort()).toEqual([
      'http_5xx_rate promote',
      'http_p99_ms promote',
      'orders_per_min promote',
    ]);
    expect((await flagger(http, 'confirm-promotion', 10)).status).toBe(200);
    expect((await flagger(http, 'confirm-rollout', 10)).status).toBe(200);
    expect((await flagger(http, 'rollback', 10)).status).toBe(412);
  });

  it('a bad version: rollback with the numbers; Flagger rolls back and may not promote; every verdict is audited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-gate-audit-'));
    const config = parseConfig({ server: { port: 0, dataDir: dir, wallClockWatermark: false } });
    const service = new HarbingerService({ config, log: createLogger('silent'), apiToken: TOKEN });
    const { port } = await service.start();
    stops.push(() => service.stop());
    const http = apiClient(port, TOKEN);
    await postNdjson(http, minutes(0, 120, 20));
    expect((await http.get('/v1/gate', { params: { service: 'checkout', stack: 'canary', step: 20 } })).data.verdict).toBe('hold');
    await postNdjson(http, minutes(120, 130, 20, 121));
    const r = await http.get('/v1/gate', { params: { service: 'checkout', stack: 'canary', step: 20 } });
    expect(r.data.verdict).toBe('rollback');
    const errors = r.data.reasons.find((x: { metric: string }) => x.metric === 'http_5xx_rate');
    expect(errors).toEqual({ metric: 'http_5xx_rate', verdict: 'rollback', detail: '0.012 > 0.001 (SLO) on the new version, the old one within it' });
    expect((await flagger(http, 'rollback', 20)).status).toBe(200);
    expect((await flagger(http, 'confirm-promotion', 20)).status).toBe(412);
    // The verdict is also a trigger: the canary's incident carries it, and the workflow made its recommendation.
    const incident = (await http.get('/v1/incidents')).data.incidents.find((i: { stack: string }) => i.stack === 'canary');
    expect(Object.values(incident.alerts)).toEqual([expect.objectContaining({ name: 'RolloutGateRollback', status: 'firing' })]);
    const recs = (await http.get('/v1/recommendations')).data.recommendations as { stack: string; action: string; targets: string[] }[];
    // No deployment event names the version here, so the usual mitigation is to move traffic off it.
    expect(recs.filter((r) => r.stack === 'canary' && r.action === 'shift_traffic').map((r) => r.targets)).toEqual([['primary']]);
    await service.stop();
    stops.pop();
    const audit = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { kind: string; actor: string });
    expect(audit.filter((e) => e.kind.startsWith('gate.')).map((e) => `${e.kind} ${e.actor}`)).toEqual([
      'gate.hold api',
      'gate.rollback api',
      'gate.rollback flagger rollback',
      'gate.rollback flagger confirm-promotion',
    ]);
  });

  it('a version that sells less per unit of traffic, errors and latency fine: hold until its sample is there, then rollback', async () => {
    const http = await start();
    await postNdjson(http, minutes(0, 120, 10));
    const ask = () => http.get('/v1/gate', { params: { service: 'checkout', stack: 'canary', step: 10 } });
    expect((await ask()).data.verdict).toBe('hold');
    // 10 % of the traffic, selling a third less per unit of it: 13 orders a minute where the old
    // version's rate predicts 20. After 60 minutes 1,200 were expected: past the minimum sample,
    // and 400 short is far beyond the counting noise of 1,200 (about 35 on each side).
    await postNdjson(http, minutes(120, 180, 10, Infinity, 2 / 3));
    const r = await ask();
    expect(r.data.verdict).toBe('rollback');
    const orders = r.data.reasons.find((x: { metric: string }) => x.metric === 'orders_per_min');
    expect(orders.verdict).toBe('rollback');
    expect(orders.detail).toMatch(
      /^\d+ against 1[12]\d\d expected since the step began from the old version's rate at a 10 % share \(-3\d(\.\d+)? %, -\d+(\.\d+)?σ\)$/,
    );
    for (const metric of ['http_5xx_rate', 'http_p99_ms']) expect(r.data.reasons.find((x: { metric: string }) => x.metric === metric).verdict).toBe('promote');
    // Selling 4 % less is within the 5 % tolerance: promote, however many orders it took to measure.
    const slight = await start();
    await postNdjson(slight, minutes(0, 120, 10));
    const askSlight = () => slight.get('/v1/gate', { params: { service: 'checkout', stack: 'canary', step: 10 } });
    await askSlight();
    await postNdjson(slight, minutes(120, 180, 10, Infinity, 0.96));
    expect((await askSlight()).data.verdict).toBe('promote');
  });

  it('refuses a request without service or stack, or with a step that is no percent', async () => {
    const http = await start();
    expect((await http.get('/v1/gate', { params: { service: 'checkout' } })).status).toBe(400);
    expect((await http.get('/v1/gate', { params: { service: 'checkout', stack: 'canary', step: 'half' } })).data.error).toMatch(/^step: a traffic percent/);
  });
});

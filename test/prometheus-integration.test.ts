/**
 * Harbinger next to a real Prometheus 2.42 on loopback: the poller reads PromQL results of a
 * small app whose metrics the test drives, and Prometheus' own remote_write feeds Harbinger.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios from 'axios';
import { apiClient, startMetricsApp, startPrometheus, waitFor } from './support/index.js';
import type { EmbeddedRuntime } from '../src/app/runtime/embedded-runtime.js';
import { HarbingerService } from '../src/app/service.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import type { Recommendation } from '../src/domain/decision.js';
import { missing } from './support/requires.js';

const TOKEN = 'prom-it-token-42';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of cleanups.splice(0).reverse()) await stop().catch(() => {});
});

/**
 * Detection at test speed: 1-second data, 1-second comparison steps, windows of seconds instead
 * of minutes. The machinery is the production one; only its time constants shrink.
 */
const fast = {
  eventTime: { allowedLatenessSeconds: 3, stepSeconds: 1 },
  baseline: { minHistoryPoints: 10, coldLevelHalfLifeMinutes: 1 },
  threshold: { recheckMinutes: 0.1, clearMinutes: 0.5 },
  delta: { windowMinutes: 0.1, minEpisodeMinutes: 0.05, stableMinutes: 0.03 },
};

async function startHarbinger(extra: Record<string, unknown>) {
  const config = parseConfig({
    detection: fast,
    server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-prom-')), tickSeconds: 1 },
    decision: { incident: { staleAfterMinutes: 0.2 } },
    ...extra,
  });
  const service = new HarbingerService({ config, log: createLogger('silent'), apiToken: TOKEN });
  const { port } = await service.start();
  cleanups.push(() => service.stop());
  return {
    service,
    port,
    http: apiClient(port, TOKEN),
  };
}

describe.skipIf(missing('prometheus'))('Prometheus poller against a real Prometheus', () => {
  it('sees one stack degrade and ends in a recommendation that names it', async () => {
    const app = await startMetricsApp();
    cleanups.push(() => app.stop());
    let tick = 0;
    const drive = (westErrors: number): void => {
      tick++;
      // Small deterministic wobble so the baselines learn a non-zero spread.
      const w = (k: number): number => 1 + 0.05 * Math.sin(tick * 1.7 + k);
      app.set('http_error_ratio', { stack: 'east', service: 'checkout' }, 0.0003 * w(1));
      app.set('http_error_ratio', { stack: 'west', service: 'checkout' }, westErrors * w(2));
      app.set('http_p99_ms', { stack: 'east', service: 'checkout' }, 200 * w(3));
      app.set('http_p99_ms', { stack: 'west', service: 'checkout' }, 200 * w(4));
    };
    drive(0.0003);
    const prom = await startPrometheus({ scrapeTargets: [{ job: 'checkout', target: `127.0.0.1:${app.port}` }], scrapeIntervalSeconds: 1 });
    cleanups.push(() => prom.stop());
    const { http, service } = await startHarbinger({
      prometheus: {
        url: prom.url,
        stepSeconds: 1,
        timeoutSeconds: 2,
        queries: [
          { query: 'http_error_ratio', signal: 'reliability', metric: 'http_error_ratio' },
          { query: 'http_p99_ms', signal: 'latency', metric: 'http_p99_ms' },
        ],
      },
    });
    const timer = setInterval(() => drive(tick > 25 ? 0.02 : 0.0003), 1000);
    cleanups.push(async () => clearInterval(timer));

    await waitFor(async () => (await http.get('/readyz')).status === 200, 15_000, { description: 'first successful poll' });
    const rec = await waitFor(
      async () => {
        const recs = (await http.get('/v1/recommendations')).data.recommendations as Recommendation[];
        return recs.find((r) => r.stack === 'west' && r.action === 'shift_traffic');
      },
      60_000,
      { description: 'a shift_traffic recommendation for west', context: () => JSON.stringify(service.incidents(), null, 1).slice(0, 3000) },
    );
    expect(rec.targets).toEqual(['east']);
    expect(rec.phases.find((p) => p.name === 'delta_stack_identification')!.evidence).toContain('west deviates');
    const metrics = (await http.get('/metrics')).data as string;
    expect(metrics).toMatch(/harbinger_samples_received_total\{source="prometheus"\} [1-9]/);
    expect(metrics).toMatch(/harbinger_prometheus_poll_duration_seconds_count [1-9]/);
  }, 90_000);

  it('warm start: a fresh instance learns its baselines from Prometheus history before serving, and decides nothing about the past', async () => {
    const app = await startMetricsApp();
    cleanups.push(() => app.stop());
    let tick = 0;
    const drive = (): void => {
      tick++;
      const w = (k: number): number => 1 + 0.05 * Math.sin(tick * 1.7 + k);
      // West misbehaves for a while in the history: the past is learned from, not acted on.
      app.set('http_error_ratio', { stack: 'east', service: 'checkout' }, 0.0003 * w(1));
      app.set('http_error_ratio', { stack: 'west', service: 'checkout' }, (tick > 10 && tick < 20 ? 0.02 : 0.0003) * w(2));
    };
    drive();
    const timer = setInterval(drive, 1000);
    cleanups.push(async () => clearInterval(timer));
    const prom = await startPrometheus({ scrapeTargets: [{ job: 'checkout', target: `127.0.0.1:${app.port}` }], scrapeIntervalSeconds: 1 });
    cleanups.push(() => prom.stop());
    // Let Prometheus collect ~30 s of history.
    await waitFor(
      async () => {
        const r = await axios.get(`${prom.url}/api/v1/query`, { params: { query: 'count_over_time(http_error_ratio[1m])' }, validateStatus: () => true });
        return (r.data?.data?.result ?? []).every((x: { value: [number, string] }) => Number(x.value[1]) >= 30) && (r.data?.data?.result ?? []).length === 2;
      },
      60_000,
      { description: '30 s of history in Prometheus' },
    );
    const { service } = await startHarbinger({
      prometheus: {
        url: prom.url,
        stepSeconds: 1,
        timeoutSeconds: 2,
        warmStartHours: 1,
        queries: [{ query: 'http_error_ratio', signal: 'reliability', metric: 'http_error_ratio' }],
      },
    });
    // Right after start, before its poller has added much: every series has the history behind it.
    const series = [...(service.runtime as EmbeddedRuntime).series()];
    expect(series.map((s) => s.stack).sort()).toEqual(['east', 'west']);
    for (const s of series) expect(s.baseline.points).toBeGreaterThanOrEqual(25);
    // West's bad spell is in the past: learned from, but no incident, no recommendation.
    expect(service.incidents()).toEqual([]);
    expect(service.recommendations()).toEqual([]);
    const fromHistory = (await service.metrics.samplesReceived.get()).values.find((v) => v.labels['source'] === 'prometheus_history')?.value ?? 0;
    expect(fromHistory).toBeGreaterThanOrEqual(50);
  }, 90_000);

  it('a failing query is retried, then left as a gap, never filled in', async () => {
    const { service } = await startHarbinger({
      prometheus: {
        url: 'http://127.0.0.1:9',
        stepSeconds: 60,
        timeoutSeconds: 0.5,
        retries: 2,
        backoffMillis: 10,
        queries: [{ query: 'up', signal: 'capacity', metric: 'up' }],
      },
    });
    await waitFor(async () => (await service.metrics.prometheus.errors.get()).values[0]?.value === 1, 10_000, { description: 'one poll error counted' });
    expect((service.runtime as EmbeddedRuntime).pipeline.stats().samples).toBe(0);
    expect(service.ready()).toEqual({ ready: false, reason: 'no successful Prometheus poll yet' });
  });
});

describe.skipIf(missing('prometheus'))('remote_write from a real Prometheus', () => {
  it('receives snappy protobuf from Prometheus, maps series by the configured rules and answers 204', async () => {
    const app = await startMetricsApp();
    cleanups.push(() => app.stop());
    app.set('orders_per_min', { stack: 'east', service: 'checkout' }, 410);
    app.set('orders_per_min', { stack: 'west', service: 'checkout' }, 395);
    app.set('unrelated_gauge', { stack: 'east' }, 1);
    const { http, port, service } = await startHarbinger({ mapping: { metrics: [{ match: '^orders_per_min$', signal: 'business' }] } });
    const prom = await startPrometheus({
      scrapeTargets: [{ job: 'shop', target: `127.0.0.1:${app.port}` }],
      scrapeIntervalSeconds: 1,
      remoteWrite: [{ url: `http://127.0.0.1:${port}/api/v1/write`, bearerToken: TOKEN }],
    });
    cleanups.push(() => prom.stop());
    await waitFor(
      async () => /harbinger_samples_received_total\{source="remote_write"\} ([3-9]|\d\d)/.test((await http.get('/metrics')).data as string),
      30_000,
      { description: 'remote-written samples arrive', context: () => prom.logs() },
    );
    // Only the mapped metric became series: one per stack.
    await waitFor(() => (service.runtime as EmbeddedRuntime).pipeline.stats().series === 2, 10_000, { description: 'two series' });
    const metrics = (await http.get('/metrics')).data as string;
    expect(metrics).toMatch(/harbinger_http_requests_total\{route="remote_write",code="204"\} [1-9]/);
    expect(metrics).not.toMatch(/route="remote_write",code="[45]\d\d"/);
  }, 60_000);

  it('answers 415 to a wrong content type and 400 to a body that is not snappy protobuf', async () => {
    const { http } = await startHarbinger({});
    const wrongType = await http.post('/api/v1/write', 'x', { headers: { 'content-type': 'application/json' } });
    expect(wrongType.status).toBe(415);
    expect(wrongType.data.error).toContain('application/x-protobuf');
    // Remote-write 2.0 names its message in the content type: refused with 415, not misread as 1.0.
    const v2 = await http.post('/api/v1/write', Buffer.from([0]), {
      headers: { 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request', 'content-encoding': 'snappy' },
    });
    expect(v2.status).toBe(415);
    expect(v2.data.error).toContain("'io.prometheus.write.v2.Request' is not supported");
    const v1Named = await http.post('/api/v1/write', Buffer.from([0xff, 0x0f]), {
      headers: { 'content-type': 'application/x-protobuf;proto=prometheus.WriteRequest', 'content-encoding': 'snappy' },
    });
    expect(v1Named.status).toBe(400);
    const garbage = await http.post('/api/v1/write', Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]), {
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
    });
    expect(garbage.status).toBe(400);
    expect(garbage.data.error).toMatch(/^invalid remote-write body: /);
  });
});

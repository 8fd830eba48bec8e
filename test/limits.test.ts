import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DetectionEngine } from '../src/core/detection/detection-engine.js';
import { ContextIndex } from '../src/core/correlate/context-index.js';
import { defaultDetectionConfig } from '../src/config/detection.js';
import { parseConfig } from '../src/config/load.js';
import { decodeWriteRequest } from '../src/adapters/remote-write/write-request.js';
import { snappyCompress } from '../src/adapters/remote-write/snappy.js';
import { HarbingerService } from '../src/app/service.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { apiClient } from './support/index.js';

const T0 = Date.UTC(2026, 2, 1);
const TOKEN = 'limits-token-0123456789';

describe('resource limits', () => {
  it('a detection engine keeps at most maxSeries series; samples of known series still flow, new ones are refused with the reason', () => {
    const rejected: string[] = [];
    const engine = new DetectionEngine(defaultDetectionConfig(), { detection: () => {}, rejected: (_s, r) => rejected.push(r) }, false, 2);
    const sample = (stack: string, m: number) => ({ ts: T0 + m * 60_000, signal: 'latency' as const, metric: 'p99', stack, service: 'checkout', value: 100 });
    for (let m = 0; m < 5; m++) for (const stack of ['a', 'b', 'c']) engine.offerSample(sample(stack, m));
    engine.flush();
    const stats = engine.getStats();
    expect(stats.series).toBe(2);
    expect(stats.samples).toBe(10);
    expect(stats.limited).toBe(5);
    expect(rejected).toHaveLength(5);
    expect(rejected[0]).toBe('limit: 2 active series reached (limits.maxSeries): samples of new series are refused');
  });

  it('the context index keeps at most maxEvents events, dropping the oldest and counting them', () => {
    const ctx = new ContextIndex(3);
    for (let i = 0; i < 5; i++) ctx.add({ ts: T0 + i * 60_000, kind: 'config_change', stack: 'a', id: `c${i}`, attributes: {} });
    expect(ctx.toJSON().events.map((e) => e.id)).toEqual(['c2', 'c3', 'c4']);
    expect(ctx.evicted).toBe(2); // harbinger_context_events_evicted_total counts them
    expect(ContextIndex.fromJSON(ctx.toJSON(), 2).toJSON().events).toHaveLength(3);
  });

  it('a remote-write body of a million empty series is refused while decoding, not after allocating them', () => {
    // 0a 00: an empty TimeSeries, two bytes each, as in the amplification report (11 M series from 1 MiB).
    const body = new Uint8Array(2_000_000);
    for (let i = 0; i < body.length; i += 2) body[i] = 0x0a;
    expect(() => decodeWriteRequest(body, { maxSeries: 100_000, maxSamples: 1_000_000 })).toThrow(
      'more than 100000 series in one request (limits.remoteWriteMaxSeries): lower max_samples_per_send',
    );
    expect(decodeWriteRequest(body.subarray(0, 200)).timeseries).toHaveLength(100);
    expect(snappyCompress(body).length).toBeLessThan(120_000);
  });

  it('serve answers a remote-write flood with 400 and the limit, and opens at most maxOpenIncidents incidents from alerts', async () => {
    const config = parseConfig({
      server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-lim-')) },
      limits: { maxOpenIncidents: 2, remoteWriteMaxSeries: 1000, maxSeries: 3 },
    });
    const service = new HarbingerService({ config, log: createLogger('silent'), apiToken: TOKEN });
    const { port } = await service.start();
    try {
      const http = apiClient(port, TOKEN);
      const raw = new Uint8Array(20_000);
      for (let i = 0; i < raw.length; i += 2) raw[i] = 0x0a;
      const rw = await http.post('/api/v1/write', Buffer.from(snappyCompress(raw)), {
        headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
      });
      expect(rw.status).toBe(400);
      expect(rw.data.error).toContain('more than 1000 series in one request');
      const alert = (stack: string) => ({
        status: 'firing',
        labels: { alertname: 'HighErrorRate', stack, service: 'checkout' },
        annotations: {},
        startsAt: '2026-11-23T10:00:00Z',
        fingerprint: `fp-${stack}`,
      });
      const r = await http.post('/v1/alertmanager', {
        version: '4',
        groupKey: 'g',
        status: 'firing',
        receiver: 'harbinger',
        alerts: ['s1', 's2', 's3', 's4'].map(alert),
      });
      expect(r.data.accepted).toBe(2);
      expect(r.data.unmapped).toEqual([
        { fingerprint: 'fp-s3', reason: 'limit: 2 incidents open (limits.maxOpenIncidents): no new incident opened' },
        { fingerprint: 'fp-s4', reason: 'limit: 2 incidents open (limits.maxOpenIncidents): no new incident opened' },
      ]);
      expect((await http.get('/v1/incidents')).data.incidents).toHaveLength(2);
      // Five new series in one post, room for three: the other two are refused in the answer, not
      // acknowledged and then dropped; a known series still flows.
      const sample = (stack: string, minute: number) => ({
        ts: Date.now() - 60_000 + minute * 1000,
        signal: 'latency',
        metric: 'http_p99_ms',
        stack,
        service: 'api',
        value: 120,
      });
      const first = await http.post(
        '/v1/samples',
        ['a', 'b', 'c', 'd', 'e'].map((st) => sample(st, 0)),
      );
      expect(first.data).toMatchObject({
        accepted: 3,
        limited: { count: 2, limit: 3, reason: '3 series are kept (limits.maxSeries): samples of new series are refused' },
      });
      await http.post('/v1/samples', [sample('zzz', 1)]);
      const text = (await http.get('/metrics')).data as string;
      expect(text).toMatch(/harbinger_records_rejected_total\{source="http",reason="limit"\} [1-9]/);
    } finally {
      await service.stop();
    }
  });

  it('refuses a misspelled limit by name', () => {
    expect(() => parseConfig({ limits: { maxSeriess: 10 } })).toThrow(/limits: unknown key 'maxSeriess' \(did you mean 'maxSeries'\?\)/);
  });
});

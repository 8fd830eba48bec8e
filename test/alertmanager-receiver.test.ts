import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarbingerService } from '../src/app/service.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { apiClient } from './support/index.js';

const TOKEN = 'am-token-abcdef';
let service: HarbingerService | undefined;
afterEach(async () => {
  await service?.stop();
  service = undefined;
});

async function start() {
  const config = parseConfig({ server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-am-')) } });
  service = new HarbingerService({ config, log: createLogger('silent'), apiToken: TOKEN });
  const { port } = await service.start();
  return apiClient(port, TOKEN);
}

/** A webhook body exactly as Alertmanager 0.25 sends it (version 4). */
function payload(status: 'firing' | 'resolved', stack = 'us-west-2') {
  const startsAt = '2026-11-23T10:00:00Z';
  return {
    receiver: 'harbinger',
    status,
    alerts: [
      {
        status,
        labels: { alertname: 'HighErrorRate', stack, service: 'checkout', signal: 'reliability', severity: 'page' },
        annotations: { summary: 'error ratio above 0.1 %' },
        startsAt,
        endsAt: status === 'firing' ? '0001-01-01T00:00:00Z' : '2026-11-23T10:20:00Z',
        generatorURL: 'http://prometheus/graph?g0.expr=...',
        fingerprint: 'c0ffee1234567890',
      },
    ],
    groupLabels: { alertname: 'HighErrorRate', stack },
    commonLabels: { alertname: 'HighErrorRate', stack },
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    version: '4',
    groupKey: '{}:{alertname="HighErrorRate", stack="us-west-2"}',
    truncatedAlerts: 0,
  };
}

describe('Alertmanager webhook receiver', () => {
  it('opens an incident from a firing alert, ignores the duplicate an HA pair sends, and closes the trigger on resolve', async () => {
    const http = await start();
    const first = await http.post('/v1/alertmanager', payload('firing'));
    expect(first.status).toBe(200);
    expect(first.data).toEqual({ accepted: 1, duplicates: 0, unmapped: [] });
    expect((await http.post('/v1/alertmanager', payload('firing'))).data).toEqual({ accepted: 0, duplicates: 1, unmapped: [] });
    const incidents = (await http.get('/v1/incidents')).data.incidents;
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({
      stack: 'us-west-2',
      service: 'checkout',
      alerts: { c0ffee1234567890: { status: 'firing', name: 'HighErrorRate', signal: 'reliability' } },
    });
    expect((await http.post('/v1/alertmanager', payload('resolved'))).data.accepted).toBe(1);
    const after = (await http.get('/v1/incidents')).data.incidents;
    expect(after[0].alerts.c0ffee1234567890.status).toBe('resolved');
    const metrics = (await http.get('/metrics')).data as string;
    expect(metrics).toContain('harbinger_alerts_received_total{status="firing",result="duplicate"} 1');
  });

  it('accepts basic auth with the token as password, as Alertmanager http_config.basic_auth sends it', async () => {
    const http = await start();
    const basic = `Basic ${Buffer.from(`alertmanager:${TOKEN}`).toString('base64')}`;
    expect((await http.post('/v1/alertmanager', payload('firing'), { headers: { authorization: basic } })).status).toBe(200);
  });

  it('answers 400 naming the fields of an invalid payload, and reports alerts it cannot map', async () => {
    const http = await start();
    const bad = await http.post('/v1/alertmanager', { ...payload('firing'), version: '3', alerts: [{ labels: {} }] });
    expect(bad.status).toBe(400);
    expect(bad.data.details.join('\n')).toMatch(/version: .*"4"/);
    expect(bad.data.details.join('\n')).toContain('alerts.0.fingerprint');
    expect((await http.post('/v1/alertmanager', '{not json')).status).toBe(400);
    const p = payload('firing');
    delete (p.alerts[0]!.labels as Record<string, string>)['stack'];
    expect((await http.post('/v1/alertmanager', p)).data).toEqual({
      accepted: 0,
      duplicates: 0,
      unmapped: [{ fingerprint: 'c0ffee1234567890', reason: "no 'stack' label" }],
    });
  });

  it('bounds what one post may carry: times, label sizes and counts, alerts per post; nothing is opened for a refused post', async () => {
    const http = await start();
    const withAlert = (over: Record<string, unknown>) => {
      const p = payload('firing');
      return { ...p, alerts: [{ ...p.alerts[0]!, ...over }] };
    };
    const yesterday = await http.post('/v1/alertmanager', withAlert({ startsAt: 'yesterday' }));
    expect(yesterday.status).toBe(400);
    expect(yesterday.data.details).toEqual(['alerts.0.startsAt: expected an RFC 3339 time']);
    const huge = await http.post('/v1/alertmanager', withAlert({ labels: { ...payload('firing').alerts[0]!.labels, runbook: 'x'.repeat(3000) } }));
    expect(huge.status).toBe(400);
    expect(huge.data.details.join()).toContain('a label value is longer than 2048 characters');
    const many = await http.post('/v1/alertmanager', withAlert({ labels: Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`l${i}`, 'v'])) }));
    expect(many.data.details).toEqual(['alerts.0.labels: more than 64 labels']);
    const p = payload('firing');
    const flood = await http.post('/v1/alertmanager', { ...p, alerts: Array.from({ length: 1001 }, (_, i) => ({ ...p.alerts[0]!, fingerprint: `f${i}` })) });
    expect(flood.data.details.join()).toContain('more than 1000 alerts in one post');
    const longStack = await http.post('/v1/alertmanager', withAlert({ labels: { alertname: 'X', stack: 's'.repeat(201) } }));
    expect(longStack.data).toMatchObject({ accepted: 0, unmapped: [{ reason: "'stack' or 'service' longer than 200 characters" }] });
    expect((await http.get('/v1/incidents')).data.incidents).toEqual([]);
  });
});

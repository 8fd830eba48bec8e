/**
 * Smoke test of the test harness in test/support/: real Prometheus 2.42 and Alertmanager 0.25
 * binaries on loopback, driven by a tiny metrics app and observed through a recording HTTP server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startAlertmanager } from './support/alertmanager.js';
import { startMetricsApp } from './support/metrics-app.js';
import { waitFor } from './support/process.js';
import { startPrometheus, type PrometheusHandle } from './support/prometheus.js';
import { parseRemoteWrite } from '../src/adapters/remote-write/write-request.js';

/** The production decoder, with labels as a record for easy assertions. */
function decodeRemoteWriteBody(body: Buffer) {
  return {
    timeseries: parseRemoteWrite(body, { maxDecompressedBytes: 1 << 26 }).timeseries.map((ts) => ({
      labels: Object.fromEntries(ts.labels.map((l) => [l.name, l.value])) as Record<string, string>,
      samples: ts.samples,
    })),
  };
}
import { jsonBody, startRecorder, type RecordedRequest } from './support/webhook-recorder.js';
import { missing } from './support/requires.js';

const cleanups: (() => Promise<void>)[] = [];
function onCleanup<T extends { stop(): Promise<void> }>(h: T): T {
  cleanups.push(() => h.stop());
  return h;
}
afterEach(async () => {
  // Stop in reverse start order; keep going if one fails.
  const errors: unknown[] = [];
  for (const stop of cleanups.splice(0).reverse()) {
    try {
      await stop();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw errors[0];
});

/** Polls an instant query until it returns exactly one sample with `expected` as value. */
async function waitForValue(prom: PrometheusHandle, expr: string, expected: string, timeoutMs = 15_000): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      const result = await prom.query(expr);
      last = JSON.stringify(result);
      return result.length === 1 && result[0]?.value[1] === expected;
    },
    timeoutMs,
    { description: `${expr} == ${expected}`, context: () => `last result: ${last}\nprometheus logs:\n${prom.logs()}` },
  );
}

interface WebhookPayload {
  version: string;
  groupKey: string;
  truncatedAlerts: number;
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: {
    status: 'firing' | 'resolved';
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }[];
}

describe.skipIf(missing('prometheus', 'alertmanager'))('test harness with real Prometheus and Alertmanager', () => {
  it('(a) Prometheus scrapes the metrics app every second and sees value changes', async () => {
    const app = onCleanup(await startMetricsApp());
    app.set('harness_test_gauge', { stack: 'a', note: 'quote " backslash \\ newline \n end' }, 3);
    const prom = onCleanup(await startPrometheus({ scrapeTargets: [{ job: 'app', target: `127.0.0.1:${app.port}` }], scrapeIntervalSeconds: 1 }));

    await waitForValue(prom, 'harness_test_gauge', '3');
    const [sample] = await prom.query('harness_test_gauge');
    expect(sample?.metric).toEqual({
      __name__: 'harness_test_gauge',
      instance: `127.0.0.1:${app.port}`,
      job: 'app',
      stack: 'a',
      note: 'quote " backslash \\ newline \n end', // escaping round-trips
    });

    app.set('harness_test_gauge', { stack: 'a', note: 'quote " backslash \\ newline \n end' }, 7.5);
    await waitForValue(prom, 'harness_test_gauge', '7.5');
    expect(app.scrapeCount()).toBeGreaterThanOrEqual(2);

    // A removed series goes stale at the next scrape, so the instant query no longer returns it.
    app.remove('harness_test_gauge', { stack: 'a', note: 'quote " backslash \\ newline \n end' });
    await waitFor(async () => (await prom.query('harness_test_gauge')).length === 0, 10_000, {
      description: 'series to go stale',
    });
  });

  it('(b) Prometheus remote_write reaches the recorder with the protocol headers and bearer token', async () => {
    const token = 'rw-secret-token';
    const app = onCleanup(await startMetricsApp());
    app.set('harness_rw_gauge', { stack: 'b' }, 42);
    const recorder = onCleanup(await startRecorder());
    onCleanup(
      await startPrometheus({
        scrapeTargets: [{ job: 'app', target: `127.0.0.1:${app.port}` }],
        remoteWrite: [{ url: `${recorder.url}/api/v1/write`, bearerToken: token, batchSendDeadlineSeconds: 1 }],
      }),
    );

    const hasGauge = (r: RecordedRequest): boolean =>
      r.method === 'POST' &&
      r.path === '/api/v1/write' &&
      decodeRemoteWriteBody(r.body).timeseries.some((ts) => ts.labels.__name__ === 'harness_rw_gauge' && ts.samples.some((s) => s.value === 42));
    const req = await recorder.waitFor(hasGauge, 20_000);

    expect(req.headers['content-encoding']).toBe('snappy');
    expect(req.headers['content-type']).toBe('application/x-protobuf');
    expect(req.headers['x-prometheus-remote-write-version']).toBe('0.1.0');
    expect(req.headers['authorization']).toBe(`Bearer ${token}`);
    expect(req.headers['user-agent']).toMatch(/^Prometheus\/2\.42\./);

    const series = decodeRemoteWriteBody(req.body).timeseries.find((ts) => ts.labels.__name__ === 'harness_rw_gauge');
    expect(series?.labels).toMatchObject({ job: 'app', stack: 'b', instance: `127.0.0.1:${app.port}` });
    expect(Math.abs((series?.samples[0]?.timestamp ?? 0) - Date.now())).toBeLessThan(60_000);
  });

  it('(c) an alerting rule fires, Alertmanager posts a v4 webhook with Bearer auth, then a resolved one', async () => {
    const token = 'am-webhook-token';
    const recorder = onCleanup(await startRecorder());
    const am = onCleanup(
      await startAlertmanager({ webhookUrl: `${recorder.url}/hooks/alertmanager`, bearerToken: token, groupWaitSeconds: 1, groupIntervalSeconds: 1 }),
    );
    const app = onCleanup(await startMetricsApp());
    app.set('harness_alert_gauge', { stack: 'c' }, 1);
    const prom = onCleanup(
      await startPrometheus({
        scrapeTargets: [{ job: 'app', target: `127.0.0.1:${app.port}` }],
        alertmanagerUrl: am.url,
        ruleFiles: [
          {
            name: 'alerts.yml',
            content: [
              'groups:',
              '  - name: harness',
              '    rules:',
              '      - alert: HarnessGaugeHigh',
              '        expr: harness_alert_gauge > 5',
              '        for: 0s',
              '        labels:',
              '          severity: warning',
              '        annotations:',
              '          summary: "gauge is {{ $value }}"',
              '',
            ].join('\n'),
          },
        ],
      }),
    );
    await waitForValue(prom, 'harness_alert_gauge', '1');

    app.set('harness_alert_gauge', { stack: 'c' }, 9);
    const isHook = (status: string) => (r: RecordedRequest) =>
      r.method === 'POST' && r.path === '/hooks/alertmanager' && jsonBody<WebhookPayload>(r).status === status;
    const firingReq = await recorder.waitFor(isHook('firing'), 20_000);
    expect(firingReq.headers['authorization']).toBe(`Bearer ${token}`);
    expect(firingReq.headers['content-type']).toBe('application/json');
    expect(firingReq.headers['user-agent']).toMatch(/^Alertmanager\/0\.25\./);
    const firing = jsonBody<WebhookPayload>(firingReq);
    expect(firing.version).toBe('4');
    expect(firing.status).toBe('firing');
    expect(firing.receiver).toBe('webhook');
    expect(firing.groupKey).toBe('{}:{alertname="HarnessGaugeHigh", stack="c"}');
    expect(firing.groupLabels).toEqual({ alertname: 'HarnessGaugeHigh', stack: 'c' });
    expect(firing.alerts).toHaveLength(1);
    const alert = firing.alerts[0]!;
    expect(alert.status).toBe('firing');
    expect(alert.labels).toMatchObject({ alertname: 'HarnessGaugeHigh', stack: 'c', severity: 'warning', job: 'app' });
    expect(alert.annotations.summary).toBe('gauge is 9');
    expect(alert.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(alert.endsAt).toBe('0001-01-01T00:00:00Z');

    app.set('harness_alert_gauge', { stack: 'c' }, 2);
    const resolvedReq = await recorder.waitFor(isHook('resolved'), 20_000);
    expect(resolvedReq.headers['authorization']).toBe(`Bearer ${token}`);
    const resolved = jsonBody<WebhookPayload>(resolvedReq);
    expect(resolved.version).toBe('4');
    expect(resolved.groupKey).toBe(firing.groupKey);
    expect(resolved.alerts[0]?.status).toBe('resolved');
    expect(resolved.alerts[0]?.fingerprint).toBe(alert.fingerprint);
    expect(Date.parse(resolved.alerts[0]?.endsAt ?? '')).toBeGreaterThan(Date.parse(alert.startsAt));
  });
});

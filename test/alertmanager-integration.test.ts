/**
 * Real Prometheus rule → real Alertmanager 0.25 → Harbinger's webhook receiver, authenticated the
 * way Alertmanager's http_config sends it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiClient, startAlertmanager, startMetricsApp, startPrometheus, waitFor } from './support/index.js';
import { HarbingerService } from '../src/app/service.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import type { Incident } from '../src/domain/decision.js';
import { missing } from './support/requires.js';

const TOKEN = 'am-it-token-7';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of cleanups.splice(0).reverse()) await stop().catch(() => {});
});

const RULES = `groups:
  - name: checkout
    rules:
      - alert: CheckoutErrorRateHigh
        expr: http_error_ratio > 0.001
        for: 0s
        labels: { severity: page, signal: reliability }
        annotations: { summary: "error ratio {{ $value }} on {{ $labels.stack }}" }
`;

describe.skipIf(missing('alertmanager'))('Alertmanager → Harbinger, real components', () => {
  it.each([
    ['bearer', { bearerToken: TOKEN }],
    ['basic', { basicAuth: { username: 'alertmanager', password: TOKEN } }],
  ] as const)(
    'a firing rule opens an incident on its stack and the resolution closes the trigger (%s auth)',
    async (_name, auth) => {
      const config = parseConfig({ server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-am-it-')) } });
      const service = new HarbingerService({ config, log: createLogger('silent'), apiToken: TOKEN });
      const { port } = await service.start();
      cleanups.push(() => service.stop());
      const http = apiClient(port, TOKEN);

      const app = await startMetricsApp();
      cleanups.push(() => app.stop());
      app.set('http_error_ratio', { stack: 'west', service: 'checkout' }, 0.0002);
      const am = await startAlertmanager({ webhookUrl: `http://127.0.0.1:${port}/v1/alertmanager`, ...auth });
      cleanups.push(() => am.stop());
      const prom = await startPrometheus({
        scrapeTargets: [{ job: 'checkout', target: `127.0.0.1:${app.port}` }],
        ruleFiles: [{ name: 'rules.yml', content: RULES }],
        alertmanagerUrl: am.url,
      });
      cleanups.push(() => prom.stop());

      app.set('http_error_ratio', { stack: 'west', service: 'checkout' }, 0.004);
      const incident = await waitFor(
        async () =>
          ((await http.get('/v1/incidents')).data.incidents as Incident[]).find(
            (i) => i.stack === 'west' && Object.values(i.alerts).some((a) => a.status === 'firing'),
          ),
        30_000,
        { description: 'incident with a firing alert', context: () => `${am.logs()}\n${prom.logs()}` },
      );
      expect(incident.service).toBe('checkout');
      const alert = Object.values(incident.alerts)[0]!;
      expect(alert).toMatchObject({ name: 'CheckoutErrorRateHigh', signal: 'reliability', status: 'firing' });
      expect(alert.fingerprint).toMatch(/^[0-9a-f]{16}$/);

      app.set('http_error_ratio', { stack: 'west', service: 'checkout' }, 0.0002);
      await waitFor(
        async () =>
          ((await http.get('/v1/incidents')).data.incidents as Incident[]).some(
            (i) => i.stack === 'west' && Object.values(i.alerts).every((a) => a.status === 'resolved'),
          ),
        30_000,
        { description: 'the alert trigger resolved', context: () => am.logs() },
      );
      const metrics = (await http.get('/metrics')).data as string;
      expect(metrics).toMatch(/harbinger_alerts_received_total\{status="firing",result="accepted"\} 1/);
      expect(metrics).toMatch(/harbinger_alerts_received_total\{status="resolved",result="accepted"\} 1/);
      expect(metrics).not.toMatch(/route="alertmanager",code="[45]\d\d"/);
    },
    60_000,
  );
});

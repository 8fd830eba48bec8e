import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HarbingerService } from '../src/app/service.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { missing } from './support/requires.js';
import { apiClient } from './support/index.js';

describe.skipIf(missing('promtool'))('/metrics follows Prometheus conventions', () => {
  it('passes promtool check metrics (names, units, _total only on counters), after traffic', async () => {
    const config = parseConfig({ server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-metrics-')) } });
    const service = new HarbingerService({ config, log: createLogger('silent'), apiToken: undefined });
    const { port } = await service.start();
    try {
      const http = apiClient(port);
      await http.post('/v1/samples', [{ ts: Date.now(), signal: 'latency', metric: 'http_p99_ms', stack: 'a', service: 's', value: 120 }, { bad: 1 }]);
      const text = (await http.get('/metrics')).data as string;
      expect(text).toContain('harbinger_samples_received_total');
      const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
      // Kafka, Slack and the Prometheus poller are off here: their families are not exported.
      expect(text.match(/^# TYPE harbinger_(kafka|slack|prometheus)_\w+/gm)).toBeNull();
      expect(text).toContain(`harbinger_build_info{version="${pkg.version}",nodejs_version="${process.version}"} 1`);
      const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect({ status: check.status, problems: `${check.stdout}${check.stderr}`.trim() }).toEqual({ status: 0, problems: '' });
    } finally {
      await service.stop();
    }
  });
});

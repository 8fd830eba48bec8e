import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { apiClient, spawnServe, trackTempDir, waitFor, type ManagedProcess } from './support/index.js';

const TOKEN = 'deadline-test-token-0123456789';
const procs: ManagedProcess[] = [];
afterAll(async () => {
  for (const p of procs) await p.stop();
});

const sample = (m: number) => ({ ts: Date.UTC(2026, 2, 1, 0, m), signal: 'latency', metric: 'http_p99_ms', stack: 'a', service: 's', value: 200 });

describe('harbinger serve and SIGTERM', () => {
  it('exits with status 1 and the reason once server.shutdownTimeoutSeconds passes, and a restart keeps what was acknowledged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-term-'));
    trackTempDir(dir);
    const cfg = join(dir, 'harbinger.yaml');
    writeFileSync(cfg, 'server: { wallClockWatermark: false, shutdownTimeoutSeconds: 1 }\n');
    const data = join(dir, 'data');
    const { proc, port } = await spawnServe('serve-term', { config: cfg, dataDir: data, env: { HARBINGER_API_TOKEN: TOKEN } });
    procs.push(proc);
    const http = apiClient(port, TOKEN);
    expect((await http.post('/v1/samples', [sample(0), sample(1)])).data).toMatchObject({ accepted: 2 });
    // A request whose body never finishes keeps the HTTP server from closing: the graceful stop hangs.
    const stuck = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => stuck.once('connect', () => resolve()));
    stuck.write(`POST /v1/samples HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[`);
    stuck.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 100));
    const sent = performance.now();
    process.kill(proc.pid!, 'SIGTERM');
    await proc.exited;
    const seconds = (performance.now() - sent) / 1000;
    stuck.destroy();
    expect(proc.exitInfo()).toEqual({ code: 1, signal: null });
    // Cut at the deadline (1 s), not at the request timeout, and not at once.
    expect(seconds).toBeGreaterThanOrEqual(0.9);
    expect(seconds).toBeLessThan(10);
    expect(proc.logs()).toContain('shutdown took longer than server.shutdownTimeoutSeconds');
    // What was answered 200 before the signal is in the write-ahead log: the restart applies it again.
    const again = await spawnServe('serve-term-2', { config: cfg, dataDir: data, env: { HARBINGER_API_TOKEN: TOKEN } });
    procs.push(again.proc);
    const restarted = apiClient(again.port, TOKEN);
    await waitFor(async () => (await restarted.get('/readyz')).status === 200, 10_000, { description: 'ready after restart' });
    // One ingest command (the two samples) logged since the last checkpoint, applied again.
    const recovered = again.proc
      .logs()
      .split('\n')
      .map((l) => (l.startsWith('{') ? (JSON.parse(l) as { msg?: string; commands?: number }) : {}))
      .find((l) => l.msg === 'recovered the write-ahead log');
    expect(recovered?.commands).toBeGreaterThanOrEqual(1);
  });
});

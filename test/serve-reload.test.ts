import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { apiClient, spawnServe, trackTempDir, waitFor, type ManagedProcess } from './support/index.js';

const TOKEN = 'reload-test-token-0123456789';
const READ_TOKEN = 'reload-test-read-token-0123456789';
const procs: ManagedProcess[] = [];
afterAll(async () => {
  for (const p of procs) await p.stop();
});

describe('harbinger serve and SIGHUP', () => {
  it('refuses an invalid configuration on SIGHUP and keeps running; applies a valid one, keeping its state', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-hup-'));
    trackTempDir(dir);
    const cfg = join(dir, 'harbinger.yaml');
    writeFileSync(cfg, 'server: { wallClockWatermark: false }\ndecision: { guardrails: { maxShiftPercent: 20 } }\n');
    const { proc, port } = await spawnServe('serve-hup', {
      config: cfg,
      dataDir: join(dir, 'data'),
      env: { HARBINGER_API_TOKEN: TOKEN, HARBINGER_READ_TOKEN: READ_TOKEN },
    });
    procs.push(proc);
    const http = apiClient(port, TOKEN);
    const event = { type: 'event', ts: '2026-03-01T00:00:00Z', kind: 'deployment', stack: 'a', service: 's', id: 'deploy-1', attributes: { version: 'v2' } };
    expect((await http.post('/v1/events', [event])).status).toBe(200);

    writeFileSync(cfg, 'server: { wallClockWatermark: false }\ndecision: { guardrail: { maxShiftPercent: 80 } }\n');
    process.kill(proc.pid!, 'SIGHUP');
    await waitFor(() => proc.logs().includes('configuration reload refused'), 10_000, { description: 'reload refused', context: () => proc.logs() });
    expect(proc.logs()).toContain("decision: unknown key 'guardrail' (did you mean 'guardrails'?)");
    expect(proc.exitInfo()).toBeUndefined();
    expect((await http.get('/healthz')).status).toBe(200);

    writeFileSync(cfg, 'server: { wallClockWatermark: false }\ndecision: { guardrails: { maxShiftPercent: 10 } }\n');
    process.kill(proc.pid!, 'SIGHUP');
    await waitFor(() => proc.logs().includes('configuration reloaded'), 15_000, { description: 'reloaded', context: () => proc.logs() });
    await waitFor(async () => (await http.get('/readyz')).status === 200, 10_000, { description: 'ready after reload' });
    expect((await http.get('/readyz')).data.reason).toMatch(/^state restored from checkpoint of /);
    // What was ingested before the reload is still there: the deployment event counts as seen.
    expect((await http.post('/v1/events', [event])).data).toMatchObject({ accepted: 1 });

    // POST /-/reload (Prometheus' convention) does the same, for the admin (API) token only.
    expect((await apiClient(port, READ_TOKEN).post('/-/reload')).status).toBe(403);
    writeFileSync(cfg, 'server: { wallClockWatermark: false }\ndecision: { guardrails: { maxShiftPercent: 15 } }\n');
    expect((await http.post('/-/reload')).status).toBe(202);
    await waitFor(() => proc.logs().split('configuration reloaded').length === 3, 15_000, { description: 'reloaded twice', context: () => proc.logs() });
    await waitFor(async () => (await http.get('/readyz')).status === 200, 10_000, { description: 'ready after the second reload' });
    expect((await http.post('/v1/events', [event])).data).toMatchObject({ accepted: 1 });
  }, 60_000);

  it('refuses at start, with exit 2 and what to set, a Slack bot without a channel or a signing secret, and a short token', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-slack-'));
    trackTempDir(dir);
    const run = (env: Record<string, string>, config?: string) => {
      const args = ['dist/src/cli/main.js', 'serve', '--port', '0', '--data-dir', join(dir, 'data')];
      if (config !== undefined) {
        writeFileSync(join(dir, 'c.yaml'), config);
        args.push('--config', join(dir, 'c.yaml'));
      }
      const r = spawnSync(process.execPath, args, { env: { PATH: process.env['PATH'] ?? '', ...env }, encoding: 'utf8', timeout: 20_000 });
      return { status: r.status, stderr: r.stderr.trim() };
    };
    expect(run({ SLACK_BOT_TOKEN: 'xoxb-test' })).toEqual({
      status: 2,
      stderr: 'harbinger serve: Slack bot mode needs slack.channel (the channel id or name to post to)',
    });
    const noSecret = run({ SLACK_BOT_TOKEN: 'xoxb-test' }, 'slack: { channel: "#ops" }\n');
    expect(noSecret.status).toBe(2);
    expect(noSecret.stderr).toContain('without SLACK_SIGNING_SECRET their clicks cannot be verified');
    expect(run({ HARBINGER_API_TOKEN: 'short' })).toEqual({
      status: 2,
      stderr: 'harbinger serve: HARBINGER_API_TOKEN is 5 characters long; use at least 16 (for example: openssl rand -hex 32)',
    });
  }, 60_000);
});

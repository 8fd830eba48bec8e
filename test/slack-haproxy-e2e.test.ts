/**
 * The whole loop on live components: an incident fed to `harbinger serve` → a recommendation
 * posted to Slack (a local server that checks Slack's exact payloads) → an approval click signed
 * exactly as Slack signs it → a real HAProxy's weights change and the measured split of real
 * requests follows → post-action validation → a revert proposal through the same Slack path →
 * approved → the split is restored. Every step is in the audit log with who approved it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeSlack, blockActionsBody } from './support/fake-slack.js';
import { startHaproxy, startStackServers, splitOf } from './support/haproxy.js';
import { waitFor } from './support/process.js';
import { HarbingerService } from '../src/app/service.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { signSlackRequest } from '../src/adapters/slack/signature.js';
import { verifyChain } from '../src/core/audit/hash-chain.js';
import type { Recommendation } from '../src/domain/decision.js';
import { missing } from './support/requires.js';
import { apiClient } from './support/index.js';

const TOKEN = 'e2e-api-token';
const SIGNING = 'e2e-signing-secret';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of cleanups.splice(0).reverse()) await stop().catch(() => {});
});

describe.skipIf(missing('haproxy'))('Slack approval → HAProxy, end to end', () => {
  it('shifts 20 % of real traffic on approval and restores it when the revert is approved', async () => {
    const slack = await startFakeSlack();
    cleanups.push(() => slack.stop());
    const stacks = await startStackServers(['us-east-1', 'us-west-2']);
    cleanups.push(() => stacks.stop());
    const haproxy = await startHaproxy({ servers: stacks.servers.map((s) => ({ name: s.name, port: s.port, weight: 50 })) });
    cleanups.push(() => haproxy.stop());

    const dataDir = mkdtempSync(join(tmpdir(), 'hb-e2e-'));
    const config = parseConfig({
      server: { port: 0, dataDir, wallClockWatermark: false },
      decision: { execution: { autoApprove: false }, stacks: { 'us-east-1': { primary: true } } },
      routing: {
        controller: 'haproxy',
        haproxy: { socketPath: haproxy.socketPath, backend: haproxy.backend, servers: { 'us-east-1': 'us-east-1', 'us-west-2': 'us-west-2' } },
      },
      slack: { channel: '#ops-harbinger', baseUrl: slack.url },
    });
    const service = new HarbingerService({ config, log: createLogger('silent'), apiToken: TOKEN, slack: { botToken: slack.token, signingSecret: SIGNING } });
    const { port } = await service.start();
    cleanups.push(() => service.stop());
    const http = apiClient(port, TOKEN);

    const lines = readFileSync('fixtures/scenarios/pool-exhaustion.jsonl', 'utf8').trim().split('\n');
    let fed = 0;
    const feedUntil = async (done: () => Promise<Recommendation | undefined>): Promise<Recommendation> => {
      for (; fed < lines.length; ) {
        const chunk = lines.slice(fed, fed + 240);
        fed += chunk.length;
        const samples = chunk.filter((l) => l.includes('"type":"sample"'));
        const events = chunk.filter((l) => l.includes('"type":"event"'));
        if (events.length > 0) await http.post('/v1/events', events.join('\n'));
        await http.post('/v1/samples', samples.join('\n'));
        const r = await done();
        if (r !== undefined) return r;
      }
      throw new Error('fixture ended before the expected recommendation');
    };
    const recs = async (): Promise<Recommendation[]> =>
      (await http.get('/v1/recommendations', { params: { status: 'awaiting_approval', action: 'shift_traffic' } })).data.recommendations;
    const click = async (rec: Recommendation, action: 'harbinger_approve' | 'harbinger_reject') => {
      const body = blockActionsBody(action, rec.id);
      const ts = Math.floor(Date.now() / 1000);
      const started = performance.now();
      const r = await http.post('/v1/slack/interactions', body, {
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-slack-request-timestamp': String(ts),
          'x-slack-signature': signSlackRequest(SIGNING, ts, body),
          authorization: '',
        },
      });
      return { status: r.status, ms: performance.now() - started };
    };

    // 1. The shift waits for a human (it touches the primary stack) and is posted to Slack with buttons.
    const shift = await feedUntil(async () => (await recs()).find((r) => r.stack === 'us-west-2' && r.reverts === undefined));
    expect(shift).toMatchObject({ action: 'shift_traffic', percent: 20, targets: ['us-east-1'], requiresApproval: true });
    await slack.waitFor((m) => m.some((r) => r.path === '/api/chat.postMessage' && JSON.stringify(r.body).includes(shift.id)), 10_000);
    const post = slack.messages.find((r) => r.path === '/api/chat.postMessage' && JSON.stringify(r.body).includes(shift.id))!;
    expect(post.headers['authorization']).toBe(`Bearer ${slack.token}`);
    const actions = (post.body.blocks as { type: string; elements?: { action_id: string; value: string; style?: string }[] }[]).find(
      (b) => b.type === 'actions',
    )!;
    expect(actions.elements!.map((e) => [e.action_id, e.value, e.style])).toEqual([
      ['harbinger_approve', shift.id, 'primary'],
      ['harbinger_reject', shift.id, 'danger'],
    ]);
    expect(await splitOf(haproxy.url, 200)).toEqual({ 'us-east-1': 100, 'us-west-2': 100 });

    // A forged click (wrong secret) is refused; the real one is acknowledged at once.
    const forged = blockActionsBody('harbinger_approve', shift.id);
    const now = Math.floor(Date.now() / 1000);
    expect(
      (
        await http.post('/v1/slack/interactions', forged, {
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-slack-request-timestamp': String(now),
            'x-slack-signature': signSlackRequest('wrong', now, forged),
          },
        })
      ).status,
    ).toBe(401);
    const approved = await click(shift, 'harbinger_approve');
    expect(approved.status).toBe(200);
    expect(approved.ms).toBeLessThan(3000);

    // 2. HAProxy's weights move and real requests follow: 50/50 → 70/30.
    await waitFor(async () => (await haproxy.runtime.getWeight('stacks', 'us-west-2')).current === 30, 10_000, { description: 'us-west-2 weight 30' });
    const after = await splitOf(haproxy.url, 200);
    expect(after['us-east-1']).toBeGreaterThanOrEqual(138);
    expect(after['us-west-2']).toBeLessThanOrEqual(62);
    // The same Slack message is updated (no new message), buttons gone, approver shown.
    await slack.waitFor((m) => m.some((r) => r.path === '/api/chat.update' && JSON.stringify(r.body).includes('executed')), 10_000);
    const update = slack.messages.filter((r) => r.path === '/api/chat.update').at(-1)!;
    expect(JSON.stringify(update.body)).not.toContain('harbinger_approve');

    // 3. The fixture's pool stays exhausted: validation finds the shift ineffective and proposes a revert.
    const revert = await feedUntil(async () => (await recs()).find((r) => r.reverts === shift.id));
    expect(revert).toMatchObject({ action: 'shift_traffic', stack: 'us-east-1', targets: ['us-west-2'], percent: 20, requiresApproval: true });
    await slack.waitFor((m) => m.some((r) => r.path === '/api/chat.postMessage' && JSON.stringify(r.body).includes(revert.id)), 10_000);
    expect((await click(revert, 'harbinger_approve')).status).toBe(200);
    await waitFor(async () => (await haproxy.runtime.getWeight('stacks', 'us-west-2')).current === 50, 10_000, { description: 'weights restored' });
    expect(await splitOf(haproxy.url, 200)).toEqual({ 'us-east-1': 100, 'us-west-2': 100 });

    // 4. The audit log has every step, who approved, and its chain is intact.
    await new Promise((r) => setTimeout(r, 100));
    const audit = readFileSync(join(dataDir, 'audit.jsonl'), 'utf8').trim().split('\n');
    expect(verifyChain(audit).ok).toBe(true);
    const entries = audit.map((l) => JSON.parse(l) as { kind: string; actor: string; payload: Record<string, unknown> });
    expect(entries.filter((e) => e.kind === 'outcome.approved').map((e) => [e.actor, e.payload['recommendationId']])).toEqual([
      ['U024BE7LH', shift.id],
      ['U024BE7LH', revert.id],
    ]);
    expect(entries.some((e) => e.kind === 'outcome.ineffective' && e.payload['recommendationId'] === shift.id)).toBe(true);
    expect(entries.filter((e) => e.kind === 'execution.applied').map((e) => e.payload['weights'])).toEqual([
      { 'us-east-1': 70, 'us-west-2': 30 },
      { 'us-east-1': 50, 'us-west-2': 50 },
    ]);
  }, 120_000);
});

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios, { type AxiosInstance } from 'axios';
import { afterEach, describe, expect, it } from 'vitest';
import { HarbingerService } from '../src/app/service.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { signSlackRequest } from '../src/adapters/slack/signature.js';
import type { Recommendation } from '../src/domain/decision.js';
import { blockActionsBody, startFakeSlack } from './support/fake-slack.js';
import { postNdjson } from './support/ndjson.js';
import { apiClient } from './support/index.js';

const ADMIN = 'admin-token-0123456789abcdef';
const INGEST = 'ingest-token-0123456789abcdef';
const READ = 'read-token-0123456789abcdef00';
const APPROVE = 'approve-token-0123456789abcdef';
const SIGNING = 'slack-signing-secret-for-tests';
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
});

const as = (port: number, token: string): AxiosInstance => apiClient(port, token);

/**
 * serve with a fake Slack and `slack.approvers`, human approval, fed the bad-deploy fixture until a
 * recommendation waits for approval; `click` sends a signed Approve from a Slack user.
 */
async function awaitingApproval(approvers: string[], prepare: (slack: Awaited<ReturnType<typeof startFakeSlack>>) => void = () => {}) {
  const slack = await startFakeSlack();
  stops.push(() => slack.stop());
  prepare(slack);
  const config = parseConfig({
    server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-approvers-')), wallClockWatermark: false, bodyLimitBytes: 8 * 1024 * 1024 },
    decision: { execution: { approval: 'human' } },
    slack: { channel: '#ops', baseUrl: slack.url, approvers },
  });
  const service = new HarbingerService({ config, log: createLogger('silent'), apiToken: ADMIN, slack: { botToken: slack.token, signingSecret: SIGNING } });
  const { port } = await service.start();
  stops.push(() => service.stop());
  const http = as(port, ADMIN);
  const lines = readFileSync('fixtures/scenarios/bad-deploy.jsonl', 'utf8').trim().split('\n');
  let waiting: Recommendation | undefined;
  for (let i = 0; i < lines.length && waiting === undefined; i += 1000) {
    await postNdjson(http, lines.slice(i, i + 1000));
    waiting = ((await http.get('/v1/recommendations', { params: { status: 'awaiting_approval' } })).data.recommendations as Recommendation[])[0];
  }
  expect(waiting).toBeDefined();
  const id = waiting!.id;
  const click = async (user: string) => {
    const body = blockActionsBody('harbinger_approve', id, user);
    const ts = Math.floor(Date.now() / 1000);
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': signSlackRequest(SIGNING, ts, body),
    };
    return axios.post(`http://127.0.0.1:${port}/v1/slack/interactions`, body, { headers, validateStatus: () => true });
  };
  const status = async () => ((await http.get('/v1/recommendations')).data.recommendations as Recommendation[]).find((r) => r.id === id)!.status;
  return { slack, click, status };
}

describe('roles', () => {
  it('a token limited to a role can do that and nothing else; the API token can do everything', async () => {
    const config = parseConfig({ server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-roles-')), wallClockWatermark: false } });
    const service = new HarbingerService({
      config,
      log: createLogger('silent'),
      apiToken: ADMIN,
      roleTokens: { ingest: INGEST, read: READ, approve: APPROVE },
    });
    const { port } = await service.start();
    stops.push(() => service.stop());
    const sample = [{ type: 'sample', ts: '2026-03-01T00:00:00Z', signal: 'latency', metric: 'p99', stack: 'a', service: 's', value: 1 }];
    const can = async (token: string) => ({
      ingest: (await as(port, token).post('/v1/samples', sample)).status,
      read: (await as(port, token).get('/v1/incidents')).status,
      approve: (await as(port, token).post('/v1/recommendations/nope/approve', {})).status,
    });
    expect(await can(ADMIN)).toEqual({ ingest: 200, read: 200, approve: 404 });
    expect(await can(INGEST)).toEqual({ ingest: 200, read: 403, approve: 403 });
    expect(await can(READ)).toEqual({ ingest: 403, read: 200, approve: 403 });
    expect(await can(APPROVE)).toEqual({ ingest: 403, read: 200, approve: 404 });
    expect((await as(port, INGEST).post('/v1/recommendations/nope/approve', {})).data.error).toBe('this token may not approve or reject (its roles: ingest)');
    expect((await as(port, 'not-a-token-at-all-0123').get('/v1/incidents')).status).toBe(403);
  });

  it('with slack.approvers, a click from anyone else in the channel changes nothing; a listed approver decides', async () => {
    const { click, status } = await awaitingApproval(['U0ALICE']);
    const mallory = await click('U0MALLORY');
    expect(mallory.status).toBe(200);
    expect(mallory.data.text).toContain('not in the approvers');
    await new Promise((r) => setTimeout(r, 100));
    expect(await status()).toBe('awaiting_approval');
    await click('U0ALICE');
    await new Promise((r) => setTimeout(r, 200));
    expect(await status()).toBe('executed');
  });

  it('slack.approvers may name a user group (S…): its members, read from Slack, decide; a group Slack will not list lets nobody in', async () => {
    const { slack, click, status } = await awaitingApproval(['S0GONE', 'S0ONCALL'], (fake) => fake.userGroups.set('S0ONCALL', ['U0BOB']));
    const mallory = await click('U0MALLORY');
    expect(mallory.data.text).toContain('not in the approvers');
    await new Promise((r) => setTimeout(r, 100));
    expect(await status()).toBe('awaiting_approval');
    // Both groups were asked, with the bot token; S0GONE does not exist and let nobody in.
    const reads = slack.messages.filter((m) => m.path === '/api/usergroups.users.list');
    expect(reads.map((m) => m.result).sort()).toEqual(['no_such_subteam', 'ok']);
    await click('U0BOB');
    await new Promise((r) => setTimeout(r, 200));
    expect(await status()).toBe('executed');
    // Within the cache's five minutes S0ONCALL was not read again for Bob.
    expect(slack.messages.filter((m) => m.path === '/api/usergroups.users.list' && m.result === 'ok')).toHaveLength(1);
  });
});

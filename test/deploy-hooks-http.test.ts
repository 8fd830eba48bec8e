import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AxiosInstance } from 'axios';
import { HarbingerService } from '../src/app/service.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { signGitHubPayload } from '../src/adapters/deploy-hooks/github-signature.js';
import type { Recommendation } from '../src/domain/decision.js';
import type { ContextEvent } from '../src/domain/types.js';
import { apiClient } from './support/index.js';
import { argoCdNotification, flaggerEvent, githubDeployment, githubDeploymentStatus, githubPing } from './support/deploy-hook-payloads.js';

/**
 * The deploy tools' webhooks against a real service on loopback: real-shaped deliveries in, and the
 * context events checked where the decisions read them (the decision engine's context index), and
 * in a replayed incident whose rollback attribution depends on them.
 */

const TOKEN = 'api-token-0123456789abcdef';
const INGEST_TOKEN = 'ingest-token-0123456789abcdef';
const SECRET = 'github-webhook-secret-0123456789';
const log = createLogger('silent');
const running: HarbingerService[] = [];

/** `githubWebhookSecret` null: the GitHub receiver stays off. */
async function start(githubWebhookSecret: string | null = SECRET) {
  const config = parseConfig({
    server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-hooks-')), wallClockWatermark: false, bodyLimitBytes: 8 * 1024 * 1024 },
    decision: { execution: { approval: 'auto' } },
    deployHooks: {
      github: { stacks: { 'production-east': 'us-east-1', 'production-west': 'us-west-2' } },
      flagger: { services: { 'test/podinfo': 'checkout' } },
    },
  });
  const service = new HarbingerService({
    config,
    log,
    apiToken: TOKEN,
    roleTokens: { ingest: INGEST_TOKEN },
    ...(githubWebhookSecret !== null ? { githubWebhookSecret } : {}),
  });
  const { port } = await service.start();
  running.push(service);
  return { service, http: apiClient(port, TOKEN), anon: apiClient(port), port };
}

afterEach(async () => {
  while (running.length > 0) await running.pop()!.stop();
});

/** A GitHub delivery as GitHub sends it: JSON body, event name and delivery id headers, HMAC-SHA256 signature. */
function github(anon: AxiosInstance, event: string, payload: unknown, secret = SECRET, raw?: string) {
  const body = raw ?? JSON.stringify(payload);
  return anon.post('/v1/hooks/github', body, {
    headers: {
      'content-type': 'application/json',
      'user-agent': 'GitHub-Hookshot/a1b2c3d',
      'x-github-event': event,
      'x-github-delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      'x-github-hook-id': '423885699',
      'x-hub-signature-256': signGitHubPayload(secret, body),
    },
    transformRequest: (d) => d,
  });
}

/** The context events the decision engine holds (what correlation reads). */
const contextEvents = (s: HarbingerService): ContextEvent[] => s.runtime.decision.snapshot().context.events;

/** A sample far enough after `ts` to move event time past it (allowed lateness 120 s), so the events before it reach the decision engine. */
const pushTimePast = (http: AxiosInstance, ts: number) =>
  http.post(
    '/v1/ingest',
    JSON.stringify({ type: 'sample', ts: ts + 10 * 60_000, signal: 'latency', metric: 'http_p99_ms', stack: 'zz', service: 'clock', value: 1 }),
  );

describe('POST /v1/hooks/github', () => {
  const d = { id: 1478660761, sha: '9fceb02d0ae598e95dc970b74767f19372d61af8', environment: 'production-west', createdAt: '2026-03-02T10:01:20Z' };

  it('records a signed deployment in the context index; a redelivery is a duplicate, answered 2xx', async () => {
    const { service, http, anon } = await start();
    const r = await github(anon, 'deployment', githubDeployment(d));
    expect(r.status).toBe(200);
    expect(r.data).toEqual({
      accepted: 1,
      late: 0,
      events: [
        {
          id: 'github-acme/checkout-1478660761',
          kind: 'deployment',
          stack: 'us-west-2',
          service: 'checkout',
          ts: '2026-03-02T10:01:20.000Z',
          status: 'started',
        },
      ],
    });
    const again = await github(anon, 'deployment', githubDeployment(d));
    expect(again.status).toBe(200);
    expect(again.data).toMatchObject({ accepted: 0, ignored: expect.stringMatching(/^duplicate: github-acme\/checkout-1478660761/) });
    expect((await pushTimePast(http, Date.parse(d.createdAt))).status).toBe(200);
    const held = contextEvents(service).filter((e) => e.id.startsWith('github-'));
    expect(held).toEqual([
      {
        ts: Date.parse('2026-03-02T10:01:20Z'),
        kind: 'deployment',
        id: 'github-acme/checkout-1478660761',
        stack: 'us-west-2',
        service: 'checkout',
        attributes: {
          version: d.sha,
          status: 'started',
          source: 'github',
          sha: d.sha,
          ref: 'main',
          environment: 'production-west',
          repository: 'acme/checkout',
          deploymentId: 1478660761,
        },
      },
    ]);
  });

  it('refuses a wrong or missing signature with 401 and records nothing; ping and other statuses are ignored with 2xx', async () => {
    const { service, http, anon } = await start();
    const wrong = await github(anon, 'deployment', githubDeployment(d), 'not-the-secret');
    expect(wrong.status).toBe(401);
    expect(wrong.data.error).toBe('signature mismatch: the body was not signed with the configured secret');
    const unsigned = await anon.post('/v1/hooks/github', githubDeployment(d), { headers: { 'x-github-event': 'deployment' } });
    expect(unsigned.status).toBe(401);
    expect(unsigned.data.error).toContain('missing X-Hub-Signature-256');
    // A bearer token is not what GitHub sends: even the admin token does not replace the signature.
    const bearer = await http.post('/v1/hooks/github', githubDeployment(d), { headers: { 'x-github-event': 'deployment' } });
    expect(bearer.status).toBe(401);
    const ping = await github(anon, 'ping', githubPing);
    expect(ping.status).toBe(200);
    expect(ping.data).toEqual({ accepted: 0, ignored: 'ignored: ping: GitHub is checking the webhook; nothing to record' });
    const queued = await github(anon, 'deployment_status', githubDeploymentStatus(d, { id: 42, state: 'queued', createdAt: '2026-03-02T10:01:21Z' }));
    expect(queued.status).toBe(200);
    expect(queued.data.ignored).toMatch(/^ignored: deployment_status 'queued'/);
    const malformed = await github(anon, 'deployment', undefined, SECRET, '{"action":"created",');
    expect(malformed.status).toBe(400);
    expect(malformed.data.error).toMatch(/^not JSON: /);
    const form = await github(
      anon,
      'deployment_status',
      undefined,
      SECRET,
      `payload=${encodeURIComponent(JSON.stringify(githubDeploymentStatus(d, { id: 43, state: 'success', createdAt: '2026-03-02T10:04:20Z' })))}`,
    );
    // Signed as a form (the webhook's other content type) but sent as JSON: the signature holds, the JSON does not.
    expect(form.status).toBe(400);
    await pushTimePast(http, Date.parse(d.createdAt));
    expect(contextEvents(service).filter((e) => e.id.startsWith('github-'))).toEqual([]);
  });

  it('answers 404 with how to turn it on when no secret is configured', async () => {
    const { anon } = await start(null);
    const r = await github(anon, 'deployment', githubDeployment(d));
    expect(r.status).toBe(404);
    expect(r.data.error).toContain('HARBINGER_GITHUB_WEBHOOK_SECRET');
  });
});

describe('POST /v1/hooks/argocd and /v1/hooks/flagger', () => {
  it('records an Argo CD sync with the ingest token (bearer or basic), and refuses a body that is not the template', async () => {
    const { service, http, anon } = await start();
    const body = argoCdNotification({
      app: 'checkout-eu',
      phase: 'Running',
      revision: 'c3f1e2a',
      history: ['a11aa11', 'b22bb22'],
      startedAt: '2026-03-02T10:01:20Z',
    });
    expect((await anon.post('/v1/hooks/argocd', body)).status).toBe(401);
    const r = await anon.post('/v1/hooks/argocd', body, { headers: { authorization: `Bearer ${INGEST_TOKEN}` } });
    expect(r.status).toBe(200);
    expect(r.data.events).toEqual([
      {
        id: 'argocd-checkout-eu-2026-03-02T10:01:20Z-started',
        kind: 'deployment',
        stack: 'eu-west-1',
        service: 'checkout',
        ts: '2026-03-02T10:01:20.000Z',
        status: 'started',
      },
    ]);
    const done = argoCdNotification({
      app: 'checkout-eu',
      phase: 'Succeeded',
      revision: 'c3f1e2a',
      history: ['a11aa11', 'b22bb22', 'c3f1e2a'],
      startedAt: '2026-03-02T10:01:20Z',
      finishedAt: '2026-03-02T10:03:05Z',
    });
    const basic = `Basic ${Buffer.from(`argocd:${INGEST_TOKEN}`).toString('base64')}`;
    expect((await anon.post('/v1/hooks/argocd', done, { headers: { authorization: basic } })).data.accepted).toBe(1);
    const slackShaped = await anon.post(
      '/v1/hooks/argocd',
      { text: 'Application checkout-eu sync is Synced' },
      { headers: { authorization: `Bearer ${INGEST_TOKEN}` } },
    );
    expect(slackShaped.status).toBe(400);
    expect(slackShaped.data.details).toContain('app: Invalid input: expected string, received undefined');
    await pushTimePast(http, Date.parse('2026-03-02T10:03:05Z'));
    expect(
      contextEvents(service)
        .filter((e) => e.id.startsWith('argocd-'))
        .map((e) => [e.id, e.attributes['version'], e.attributes['previousVersion']]),
    ).toEqual([
      ['argocd-checkout-eu-2026-03-02T10:01:20Z-started', 'c3f1e2a', 'b22bb22'],
      ['argocd-checkout-eu-2026-03-02T10:01:20Z-succeeded', 'c3f1e2a', 'b22bb22'],
    ]);
  });

  it('records Flagger’s change events with the token in the webhook metadata, ignores its analysis steps, and keeps the token out', async () => {
    const { service, http, anon } = await start();
    const T = Date.UTC(2026, 2, 6, 9, 46, 40);
    const meta = { token: INGEST_TOKEN };
    const step = await anon.post(
      '/v1/hooks/flagger',
      flaggerEvent({ phase: 'Progressing', message: 'Advance podinfo.test canary weight 10', ts: T + 60_000, extra: meta }),
    );
    expect(step.status).toBe(200);
    expect(step.data.ignored).toMatch(/^ignored: Flagger event "Advance podinfo.test canary weight 10"/);
    const noToken = await anon.post(
      '/v1/hooks/flagger',
      flaggerEvent({ phase: 'Progressing', message: 'New revision detected! Scaling up podinfo.test', ts: T }),
    );
    expect(noToken.status).toBe(401);
    expect(noToken.data.error).toContain("webhook's metadata");
    const badToken = await anon.post(
      '/v1/hooks/flagger',
      flaggerEvent({ phase: 'Progressing', message: 'New revision detected! Scaling up podinfo.test', ts: T, extra: { token: 'x'.repeat(26) } }),
    );
    expect(badToken.status).toBe(403);
    const started = await anon.post(
      '/v1/hooks/flagger',
      flaggerEvent({ phase: 'Progressing', message: 'New revision detected! Scaling up podinfo.test', ts: T, extra: meta }),
    );
    expect(started.data).toMatchObject({ accepted: 1, events: [{ kind: 'deployment', stack: 'canary', service: 'checkout', status: 'started' }] });
    const failed = await anon.post(
      '/v1/hooks/flagger',
      flaggerEvent({ phase: 'Failed', type: 'Warning', message: 'Canary failed! Scaling down podinfo.test', ts: T + 300_000, extra: meta }),
    );
    expect(failed.data).toMatchObject({ accepted: 1, events: [{ kind: 'rollback', stack: 'canary', status: 'rolled_back' }] });
    await pushTimePast(http, T + 300_000);
    const held = contextEvents(service).filter((e) => e.id.startsWith('flagger-'));
    expect(held.map((e) => [e.kind, e.ts - T, e.attributes['status']])).toEqual([
      ['deployment', 0, 'started'],
      ['rollback', 300_000, 'rolled_back'],
    ]);
    expect(JSON.stringify(held)).not.toContain(INGEST_TOKEN);
  });
});

describe('rollback attribution from GitHub deployments, in a replayed incident', () => {
  /**
   * fixtures/scenarios/bad-deploy.jsonl streamed to /v1/ingest as replay reads it, with its three
   * deployment events taken out; then the same stream with those deployments delivered as GitHub
   * would deliver them (deployment at the start, deployment_status success at the end) where the
   * fixture had them. Without them the bad deploy's stack can only be shifted away from; with them
   * the decision is a rollback of the GitHub deployment to the SHA deployed before it.
   */
  const SHA_OLD = '5c1f3e0a9b7d2c4e6f8a0b1c2d3e4f5a6b7c8d9e';
  const SHA_BAD = 'e83c5163316f89bfbde7d9ab23ca2e25604af290';
  const GH: Record<string, { id: number; sha: string; environment: string }> = {
    'deploy-768': { id: 1478660001, sha: SHA_OLD, environment: 'production-east' },
    'deploy-768b': { id: 1478660002, sha: SHA_OLD, environment: 'production-west' },
    'deploy-618': { id: 1478660618, sha: SHA_BAD, environment: 'production-west' },
  };
  const lines = readFileSync('fixtures/scenarios/bad-deploy.jsonl', 'utf8').trim().split('\n');

  async function run(withHooks: boolean): Promise<Recommendation[]> {
    const { service, http, anon } = await start();
    let chunk: string[] = [];
    const flush = async () => {
      if (chunk.length === 0) return;
      const r = await http.post('/v1/ingest', chunk.join('\n'), { headers: { 'content-type': 'application/x-ndjson' } });
      expect(r.status).toBe(200);
      expect(r.data.rejectedTotal).toBe(0);
      chunk = [];
    };
    // deployment_status deliveries waiting for the stream to reach their time.
    const due: { ts: number; send: () => Promise<unknown> }[] = [];
    for (const line of lines) {
      const rec = JSON.parse(line) as { type: string; ts: string; kind?: string; id?: string; endTs?: string };
      const ts = Date.parse(rec.ts);
      while (due.length > 0 && due[0]!.ts <= ts) {
        await flush();
        await due.shift()!.send();
      }
      if (rec.type === 'event' && rec.kind === 'deployment') {
        if (!withHooks) continue;
        await flush();
        const g = GH[rec.id!]!;
        const d = { id: g.id, sha: g.sha, environment: g.environment, createdAt: rec.ts };
        const r = await github(anon, 'deployment', githubDeployment(d));
        expect(r.data.accepted).toBe(1);
        due.push({
          ts: Date.parse(rec.endTs!),
          send: () => github(anon, 'deployment_status', githubDeploymentStatus(d, { id: g.id + 1, state: 'success', createdAt: rec.endTs! })),
        });
        continue;
      }
      chunk.push(line);
      if (chunk.length >= 5000) await flush();
    }
    await flush();
    return service.recommendations().filter((r) => r.stack === 'us-west-2' && r.service === 'checkout');
  }

  it('turns a shift into a rollback of the GitHub deployment, to the SHA deployed before it', async () => {
    const without = await run(false);
    expect(without.some((r) => r.action === 'rollback')).toBe(false);
    const shift = without.find((r) => r.action === 'shift_traffic');
    expect(shift).toMatchObject({ cause: { kind: 'unknown' } });
    expect(new Date(shift!.ts).toISOString()).toBe('2026-03-02T10:30:00.000Z');

    const withHooks = await run(true);
    const rollback = withHooks.find((r) => r.action === 'rollback');
    expect(rollback).toBeDefined();
    expect(rollback!.cause).toMatchObject({ kind: 'deployment', event: { kind: 'deployment', stack: 'us-west-2', service: 'checkout' } });
    expect(rollback!.cause.event!.id).toMatch(/^github-acme\/checkout-1478660618/);
    // The deployment_status success, the latest change before the episode; the version before it inferred from the deployment seen on that stack.
    expect(rollback!.cause.event!.id).toBe('github-acme/checkout-1478660618-success');
    expect(rollback!.cause.event!.attributes).toMatchObject({
      version: SHA_BAD,
      previousVersion: SHA_OLD,
      previousVersionFrom: 'github-acme/checkout-1478660002-success',
      source: 'github',
    });
    // approval: auto in this test (with serve's default, human, it would wait for a person).
    expect(rollback!.status).toBe('executed');
    // The fixture's own events give the same decision minute: the webhooks lose no time.
    expect(new Date(rollback!.ts).toISOString()).toBe('2026-03-02T10:27:00.000Z');
  }, 120_000);
});

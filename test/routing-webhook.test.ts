import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Recommendation } from '../src/domain/decision.js';
import { routingWebhookRequestSchema, WebhookController, type RoutingWebhookRequest } from '../src/adapters/routing/webhook-controller.js';
import { freePort } from './support/ports.js';

const TOKEN = 's3cr3t-routing-token-xyz';

function rec(over: Partial<Recommendation> = {}): Recommendation {
  return {
    type: 'recommendation',
    id: 'inc-checkout-us-west-2-20250101T1200-r1',
    ts: Date.UTC(2025, 0, 1, 12, 3, 0),
    incidentId: 'inc-checkout-us-west-2-20250101T1200',
    stack: 'us-west-2',
    service: 'checkout',
    action: 'shift_traffic',
    percent: 20,
    targets: ['us-east-1'],
    confidence: 0.87,
    evidence: { persistence: 1, magnitude: 6.2, separation: 4.1, businessImpact: 1, correlation: 1, dataCompleteness: 1, minutesToBreach: 0 },
    requiresApproval: true,
    blockedBy: null,
    status: 'executed',
    reason: 'shift 20 % of checkout traffic from us-west-2 to us-east-1: latency_p99 6.2σ after deploy v42',
    approvedBy: 'alice@example.com',
    phases: [{ name: 'execution', result: 'pass', code: 'executed', evidence: 'guardrails clear (approved by alice@example.com)' }],
    cause: { kind: 'deployment', reason: 'deploy v42 on us-west-2' },
    predictedBreachAt: null,
    ...over,
  };
}

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A recorder that answers from a script of statuses (the last one repeats). */
let server: Server;
let url: string;
const received: Received[] = [];
let script: { status: number; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const next = script.length > 1 ? script.shift()! : (script[0] ?? { status: 200, body: 'ok' });
      res.writeHead(next.status, { 'Content-Type': 'text/plain' }).end(next.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  url = `http://127.0.0.1:${addr.port}/hooks/harbinger?tenant=a`;
});

afterAll(async () => {
  await new Promise<void>((r) => {
    server.close(() => r());
    server.closeAllConnections();
  });
});

beforeEach(() => {
  received.length = 0;
  script = [{ status: 200, body: 'ok' }];
});

function controller(extra: Partial<ConstructorParameters<typeof WebhookController>[0]> = {}): { c: WebhookController; sleeps: number[]; logs: string[] } {
  const sleeps: number[] = [];
  const logs: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void logs.push(s) });
  const c = new WebhookController({ url, token: TOKEN, baseDelayMs: 100, maxDelayMs: 1000, sleep: async (ms) => void sleeps.push(ms), log, ...extra });
  return { c, sleeps, logs };
}

describe('WebhookController', () => {
  it('POSTs the exact contract body with Content-Type, Idempotency-Key and Bearer token', async () => {
    const { c } = controller();
    const r = await c.apply(rec());
    expect(r).toMatchObject({ ok: true, status: 200, attempts: 1 });
    expect(r.detail).toContain('HTTP 200');
    expect(received).toHaveLength(1);
    const got = received[0]!;
    expect(got.method).toBe('POST');
    expect(got.path).toBe('/hooks/harbinger?tenant=a');
    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['idempotency-key']).toBe('inc-checkout-us-west-2-20250101T1200-r1');
    expect(got.headers['authorization']).toBe(`Bearer ${TOKEN}`);
    const body = JSON.parse(got.body) as RoutingWebhookRequest;
    expect(body).toEqual({
      id: 'inc-checkout-us-west-2-20250101T1200-r1',
      incidentId: 'inc-checkout-us-west-2-20250101T1200',
      action: 'shift_traffic',
      service: 'checkout',
      stack: 'us-west-2',
      percent: 20,
      targets: ['us-east-1'],
      reverts: null,
      reason: 'shift 20 % of checkout traffic from us-west-2 to us-east-1: latency_p99 6.2σ after deploy v42',
      confidence: 0.87,
      approvedBy: 'alice@example.com',
      ts: '2025-01-01T12:03:00.000Z',
    });
    expect(routingWebhookRequestSchema.strict().parse(body)).toEqual(body);
  });

  it('omits Authorization without a token and approvedBy for auto-approved actions; carries reverts', async () => {
    const { c } = controller({ token: undefined });
    const r = await c.apply(
      rec({
        id: 'inc-x-r2',
        stack: 'us-east-1',
        targets: ['us-west-2'],
        reverts: 'inc-x-r1',
        phases: [{ name: 'execution', result: 'pass', code: 'executed', evidence: 'guardrails clear (auto-approved)' }],
        approvedBy: undefined,
      }),
    );
    expect(r.ok).toBe(true);
    const got = received[0]!;
    expect(got.headers['authorization']).toBeUndefined();
    const body = JSON.parse(got.body) as Record<string, unknown>;
    expect(body).not.toHaveProperty('approvedBy');
    expect(body).toMatchObject({ id: 'inc-x-r2', stack: 'us-east-1', targets: ['us-west-2'], reverts: 'inc-x-r1' });
  });

  it('503 then 200: retried with backoff, delivered, the same Idempotency-Key and body both times', async () => {
    script = [
      { status: 503, body: 'warming up' },
      { status: 200, body: 'ok' },
    ];
    const { c, sleeps } = controller();
    const r = await c.apply(rec());
    expect(r).toMatchObject({ ok: true, status: 200, attempts: 2 });
    expect(r.detail).toMatch(/after 2 attempts/);
    expect(received).toHaveLength(2);
    expect(received.map((x) => x.headers['idempotency-key'])).toEqual(['inc-checkout-us-west-2-20250101T1200-r1', 'inc-checkout-us-west-2-20250101T1200-r1']);
    expect(received[1]!.body).toBe(received[0]!.body);
    expect(sleeps).toEqual([100]);
  });

  it('a replay of the same recommendation carries the same key and body (receiver can drop it)', async () => {
    const { c } = controller();
    await c.apply(rec());
    await c.apply(rec());
    expect(received).toHaveLength(2);
    expect(received[0]!.headers['idempotency-key']).toBe(received[1]!.headers['idempotency-key']);
    expect(received[0]!.body).toBe(received[1]!.body);
  });

  it('400: not retried, ok:false with the status and the reason', async () => {
    script = [{ status: 400, body: 'unknown stack "us-west-2"' }];
    const { c, sleeps } = controller();
    const r = await c.apply(rec());
    expect(r.ok).toBe(false);
    expect(r.status).toBe(400);
    expect(r.attempts).toBe(1);
    expect(r.detail).toContain('HTTP 400');
    expect(r.detail).toContain('unknown stack "us-west-2"');
    expect(r.detail).toContain('not retried');
    expect(received).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('persistent 500: bounded attempts with exponential backoff (capped), then ok:false', async () => {
    script = [{ status: 500, body: 'boom' }];
    const { c, sleeps } = controller({ maxAttempts: 5, baseDelayMs: 300, maxDelayMs: 1000 });
    const r = await c.apply(rec());
    expect(r).toMatchObject({ ok: false, status: 500, attempts: 5 });
    expect(r.detail).toContain('after 5 attempts');
    expect(r.detail).toContain('HTTP 500');
    expect(received).toHaveLength(5);
    expect(sleeps).toEqual([300, 600, 1000, 1000]);
  });

  it('network error (nothing listening): retried, ok:false, never throws, token never in detail or logs', async () => {
    const port = await freePort();
    const { c, sleeps, logs } = controller({ url: `http://127.0.0.1:${port}/hook`, maxAttempts: 3 });
    const r = await c.apply(rec());
    expect(r.ok).toBe(false);
    expect(r.attempts).toBe(3);
    expect(r.detail).toMatch(/ECONNREFUSED/);
    expect(sleeps).toEqual([100, 200]);
    expect(logs.length).toBeGreaterThan(0);
    expect(r.detail).not.toContain(TOKEN);
    expect(logs.join('\n')).not.toContain(TOKEN);
  });

  it('a receiver echoing the token back does not leak it into the detail', async () => {
    script = [{ status: 401, body: `bad token Bearer ${TOKEN}` }];
    const { c, logs } = controller();
    const r = await c.apply(rec());
    expect(r.ok).toBe(false);
    expect(r.detail).toContain('HTTP 401');
    expect(r.detail).not.toContain(TOKEN);
    expect(logs.join('\n')).not.toContain(TOKEN);
  });

  it('the detail and logs name the target without its query string', async () => {
    const { c } = controller();
    const r = await c.apply(rec());
    expect(r.detail).toContain('/hooks/harbinger');
    expect(r.detail).not.toContain('tenant=a');
  });

  it('rollback and pause_rollout are delivered; observe is not an action (nothing sent)', async () => {
    const { c } = controller();
    expect((await c.apply(rec({ id: 'r-rb', action: 'rollback', percent: 0, targets: [] }))).ok).toBe(true);
    expect((await c.apply(rec({ id: 'r-pause', action: 'pause_rollout', percent: 0, targets: [] }))).ok).toBe(true);
    const obs = await c.apply(rec({ id: 'r-obs', action: 'observe' }));
    expect(obs.ok).toBe(false);
    expect(obs.detail).toMatch(/nothing sent/);
    expect(received.map((x) => (JSON.parse(x.body) as RoutingWebhookRequest).action)).toEqual(['rollback', 'pause_rollout']);
  });
});

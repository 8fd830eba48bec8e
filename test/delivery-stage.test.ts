import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { backoffDelayMs, backoffPolicy, retryDelayMs } from '../src/adapters/delivery/backoff.js';
import { DeliveryMetrics } from '../src/adapters/delivery/delivery-metrics.js';
import { classifyHttp, type DeliveryResult } from '../src/adapters/delivery/delivery-result.js';
import { DeliveryStage, type Settlement } from '../src/adapters/delivery/delivery-stage.js';
import { SqliteOutbox } from '../src/adapters/delivery/sqlite-outbox.js';
import { WebhookController } from '../src/adapters/routing/webhook-controller.js';
import { importLegacyOutbox, type SlackItem } from '../src/adapters/slack/slack-outbox.js';
import { spawnProcess, trackTempDir, waitFor } from './support/process.js';
import { missing } from './support/requires.js';

/**
 * The delivery stage on real parts: a receiver on loopback, the SQLite outbox on disk, a child
 * process SIGKILLed mid-retry, Prometheus metrics read back from the registry.
 */

interface Hit {
  key: string;
  body: string;
  status: number;
  at: number;
}

/** A receiver on 127.0.0.1 answering `answer()` (a status, or [status, headers]); records every request. */
async function receiver(answer: (n: number) => number | [number, Record<string, string>]): Promise<{ url: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const a = answer(hits.length);
      const [status, headers] = Array.isArray(a) ? a : [a, {}];
      hits.push({ key: String(req.headers['idempotency-key'] ?? ''), body: Buffer.concat(chunks).toString('utf8'), status, at: Date.now() });
      res.writeHead(status, headers).end(status < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  closers.push(() => {
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeAllConnections();
    return closed;
  });
  return { url: `http://127.0.0.1:${port}/hook`, hits };
}

/** One attempt of a plain JSON POST, classified as the webhook controller does. */
const post =
  (url: string) =>
  async (item: { key: string; payload: string }): Promise<DeliveryResult> => {
    try {
      const res = await fetch(url, { method: 'POST', body: item.payload, headers: { 'Idempotency-Key': item.key } });
      await res.text();
      return classifyHttp(res.status, res.headers.get('retry-after') ?? undefined, `HTTP ${res.status}`);
    } catch (err) {
      return { kind: 'retry_later', reason: String((err as Error).cause ?? err) };
    }
  };

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c().catch(() => undefined);
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hb-delivery-'));
  closers.push(trackTempDir(dir));
  return dir;
}

/** Reads one sample of a metric from the registry (0 when absent). */
async function sample(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const m = await registry.getSingleMetric(name)?.get();
  const v = m?.values.find((s) => Object.entries(labels).every(([k, l]) => s.labels[k] === l));
  return v?.value ?? 0;
}

describe('backoff policy and result classification', () => {
  it('is exponential, capped, jittered within its share, and Retry-After wins', () => {
    const p = backoffPolicy({ baseMs: 500, capMs: 8000, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6, 40].map((n) => backoffDelayMs(p, n, Math.random))).toEqual([500, 1000, 2000, 4000, 8000, 8000, 8000]);
    const equal = backoffPolicy({ baseMs: 1000, capMs: 60_000, jitter: 0.5 });
    expect([0, 0.5, 0.999999].map((r) => backoffDelayMs(equal, 3, () => r))).toEqual([2000, 3000, 4000]);
    expect(retryDelayMs(p, 1, { kind: 'retry_later', reason: '429', retryAfterMs: 2500 }, Math.random)).toBe(2500);
    expect(() => backoffPolicy({ baseMs: 10, capMs: 5, jitter: 0 })).toThrow(/baseMs <= capMs/);
  });

  it('classifies: 2xx delivered; 5xx, 408, 429 retry later (with Retry-After); other 4xx permanent', () => {
    const table: [number, unknown, DeliveryResult['kind'], number | undefined][] = [
      [200, undefined, 'delivered', undefined],
      [204, undefined, 'delivered', undefined],
      [500, undefined, 'retry_later', undefined],
      [503, '7', 'retry_later', 7000], // a 503 may say when to come back
      [408, undefined, 'retry_later', undefined],
      [429, '2', 'retry_later', 2000],
      [429, 'Thu, 01 Jan 2026 00:00:03 GMT', 'retry_later', 3000], // HTTP-date, 3 s after "now"
      [400, '5', 'permanent_failure', undefined], // a refusal is not retried, whatever it says
      [401, undefined, 'permanent_failure', undefined],
      [404, undefined, 'permanent_failure', undefined],
    ];
    const now = Date.parse('2026-01-01T00:00:00Z');
    for (const [status, ra, kind, retryAfterMs] of table) {
      const r = classifyHttp(status, ra, `HTTP ${status}`, now);
      expect({ status, kind: r.kind, retryAfterMs: 'retryAfterMs' in r ? r.retryAfterMs : undefined }).toEqual({ status, kind, retryAfterMs });
    }
  });
});

describe('delivery stage on a real receiver', () => {
  it('a 4xx is not retried, is counted, and the next delivery goes on', async () => {
    const rx = await receiver((n) => (n === 0 ? 422 : 200));
    const registry = new Registry();
    const stage = new DeliveryStage<string>({
      target: 'test',
      outbox: new SqliteOutbox(join(tempDir(), 'outbox.sqlite')),
      send: (i) => post(rx.url)(i),
      policy: backoffPolicy({ baseMs: 10, capMs: 100, jitter: 0 }),
      maxQueued: 10,
      observer: new DeliveryMetrics(registry),
    });
    stage.start();
    closers.push(() => stage.stop(100));
    const [a, b] = await Promise.all([stage.enqueue('a', '{"n":1}'), stage.enqueue('b', '{"n":2}')]);
    expect(a).toEqual({ kind: 'refused', attempts: 1, reason: 'HTTP 422', status: 422 });
    expect(b).toMatchObject({ kind: 'delivered', attempts: 1, status: 200 });
    expect(rx.hits.map((h) => [h.key, h.status])).toEqual([
      ['a', 422],
      ['b', 200],
    ]);
    expect(await sample(registry, 'harbinger_delivery_attempts_total', { target: 'test', result: 'permanent_failure' })).toBe(1);
    expect(await sample(registry, 'harbinger_delivery_attempts_total', { target: 'test', result: 'delivered' })).toBe(1);
    expect(await sample(registry, 'harbinger_delivery_dropped_total', { target: 'test', reason: 'permanent_failure' })).toBe(1);
    expect(await sample(registry, 'harbinger_delivery_queued', { target: 'test' })).toBe(0);
    expect(stage.stats()).toMatchObject({ delivered: 1, failed: 1, retries: 0, dropped: 0 });
  });

  it('Retry-After: 1 on a 429 is waited out on the wall clock before the next attempt', async () => {
    const rx = await receiver((n) => (n === 0 ? [429, { 'Retry-After': '1' }] : 200));
    const registry = new Registry();
    const stage = new DeliveryStage<string>({
      target: 'test',
      outbox: new SqliteOutbox(':memory:'),
      send: (i) => post(rx.url)(i),
      policy: backoffPolicy({ baseMs: 10, capMs: 100, jitter: 0 }), // far below 1 s: only Retry-After explains the wait
      maxQueued: 10,
      observer: new DeliveryMetrics(registry),
    });
    stage.start();
    closers.push(() => stage.stop(100));
    const s = await stage.enqueue('k', '{}');
    expect(s).toMatchObject({ kind: 'delivered', attempts: 2 });
    const waited = rx.hits[1]!.at - rx.hits[0]!.at;
    expect(waited).toBeGreaterThanOrEqual(1000);
    expect(waited).toBeLessThan(1500);
    expect(await sample(registry, 'harbinger_delivery_attempts_total', { target: 'test', result: 'retry_later' })).toBe(1);
    process.stdout.write(`delivery Retry-After 1 s: waited ${waited} ms\n`);
  });

  it('bounded: beyond maxQueued the oldest is dropped and counted; the rest go out in order', async () => {
    const rx = await receiver(() => 200);
    const registry = new Registry();
    const stage = new DeliveryStage<string>({
      target: 'test',
      outbox: new SqliteOutbox(join(tempDir(), 'outbox.sqlite')),
      send: (i) => post(rx.url)(i),
      policy: backoffPolicy({ baseMs: 10, capMs: 100, jitter: 0 }),
      maxQueued: 3,
      observer: new DeliveryMetrics(registry),
    });
    closers.push(() => stage.stop(100));
    // Not started: the receiver is "down" as far as the stage knows, the queue only fills.
    const settled = ['k0', 'k1', 'k2', 'k3', 'k4'].map((k) => stage.enqueue(k, `{"k":"${k}"}`));
    expect(stage.depth()).toBe(3);
    expect(stage.pending().map((p) => p.key)).toEqual(['k2', 'k3', 'k4']);
    expect(await sample(registry, 'harbinger_delivery_dropped_total', { target: 'test', reason: 'queue_full' })).toBe(2);
    expect(await sample(registry, 'harbinger_delivery_queued', { target: 'test' })).toBe(3);
    stage.start();
    const out: Settlement<unknown>[] = await Promise.all(settled);
    expect(out.map((s) => s.kind)).toEqual(['dropped', 'dropped', 'delivered', 'delivered', 'delivered']);
    expect(rx.hits.map((h) => h.key)).toEqual(['k2', 'k3', 'k4']);
    expect(await sample(registry, 'harbinger_delivery_queued', { target: 'test' })).toBe(0);
  });

  it('attempts count across a restart: a bounded retry stays bounded', async () => {
    const rx = await receiver(() => 503);
    const path = join(tempDir(), 'outbox.sqlite');
    const open = (maxAttempts: number) =>
      new DeliveryStage<string>({
        target: 'test',
        outbox: new SqliteOutbox(path),
        send: (i) => post(rx.url)(i),
        policy: backoffPolicy({ baseMs: 5, capMs: 5, jitter: 0 }),
        maxQueued: 10,
        maxAttempts,
      });
    const first = open(1000);
    first.start();
    void first.enqueue('k', '{}');
    await waitFor(() => rx.hits.length >= 2, 5000);
    // A deadline, not 0: with 0 the outbox closed while an attempt was still in flight, so the
    // receiver had counted one attempt more than the outbox had (the next start resends it, as at
    // least once allows), and the count read here raced with it.
    await first.stop(1000);
    const made = rx.hits.length;
    const second = open(made + 1);
    expect(second.pending().map((p) => [p.key, p.attempts])).toEqual([['k', made]]);
    second.start();
    await second.flush(5000);
    expect(rx.hits.length).toBe(made + 1);
    expect(second.stats()).toMatchObject({ failed: 1, queued: 0 });
    await second.stop(0);
  });
});

describe.skipIf(!existsSync('dist/src/adapters/routing/webhook-controller.js'))('at least once across a SIGKILL (the dist build: npm run build)', () => {
  it('calls accepted before the kill are delivered after the restart, each once, in order, byte-identical', async () => {
    let up = false;
    const rx = await receiver(() => (up ? 200 : 503));
    const dir = tempDir();
    const outboxPath = join(dir, 'outbox', 'routing-webhook.sqlite');
    const N = 20;
    const child = spawnProcess('delivery-child', process.execPath, ['test/support/delivery-child.mjs', outboxPath, rx.url, String(N)]);
    closers.push(() => child.stop(0));
    await waitFor(() => child.logs().includes(`queued ${N}`), 10_000, { context: () => child.logs() });
    // The receiver is down (503): the child retries the head; kill it mid-retry, no flush.
    await waitFor(() => rx.hits.length >= 3, 10_000, { context: () => child.logs() });
    process.kill(child.pid!, 'SIGKILL');
    await child.exited;
    expect(child.exitInfo()?.signal).toBe('SIGKILL');
    const before = rx.hits.length;
    expect(new Set(rx.hits.map((h) => h.key))).toEqual(new Set(['rec-000'])); // in order: nothing passed the head

    up = true;
    const registry = new Registry();
    const t0 = performance.now();
    const again = new WebhookController({ url: rx.url, outboxPath, observer: new DeliveryMetrics(registry), baseDelayMs: 20, maxDelayMs: 100 });
    closers.push(() => again.close(100));
    // The service applies an unanswered execution again after a restart: same key, waited for, not sent twice.
    const redo = await again.apply({ ...JSON.parse(rx.hits[0]!.body), ts: Date.parse(JSON.parse(rx.hits[0]!.body).ts), evidence: {}, phases: [] });
    expect(redo.ok).toBe(true);
    // The attempt answered last before the kill may not have been recorded: it is counted again or not.
    expect(redo.attempts).toBeGreaterThanOrEqual(before);
    expect(redo.attempts).toBeLessThanOrEqual(before + 1);
    await waitFor(() => rx.hits.filter((h) => h.status === 200).length >= N, 10_000);
    const ms = performance.now() - t0;
    const delivered = rx.hits.filter((h) => h.status === 200);
    const keys = Array.from({ length: N }, (_, i) => `rec-${String(i).padStart(3, '0')}`);
    expect(delivered.map((h) => h.key)).toEqual(keys); // each once, in order
    expect(delivered[0]!.body).toBe(rx.hits[0]!.body); // the body sent before the kill, byte for byte
    for (const h of delivered) expect(JSON.parse(h.body).id).toBe(h.key);
    expect(await sample(registry, 'harbinger_delivery_attempts_total', { target: 'routing-webhook', result: 'delivered' })).toBe(N);
    expect(await sample(registry, 'harbinger_delivery_queued', { target: 'routing-webhook' })).toBe(0);
    process.stdout.write(
      `delivery SIGKILL: ${N} accepted, ${before} attempts (503) before the kill, after restart ${delivered.length} delivered once each in order in ${Math.round(ms)} ms\n`,
    );
  }, 30_000);
});

describe.skipIf(missing('promtool'))('harbinger_delivery_* follow Prometheus conventions', () => {
  it('passes promtool check metrics', async () => {
    const registry = new Registry();
    const m = new DeliveryMetrics(registry, () => 10_000);
    m.attempt('slack', 'retry_later');
    m.dropped('slack', 'queue_full');
    m.queued('slack', 4, 4_000);
    const text = await registry.metrics();
    expect(text).toContain('harbinger_delivery_oldest_queued_age_seconds{target="slack"} 6');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: check.status, problems: `${check.stdout}${check.stderr}`.trim() }).toEqual({ status: 0, problems: '' });
  });
});

describe('the JSON-lines Slack outbox of older versions', () => {
  it('is moved into the SQLite outbox once: undelivered items in order, message locations, a torn tail skipped', () => {
    const dir = tempDir();
    const legacy = join(dir, 'slack-outbox.jsonl');
    const item = (id: string, kind: SlackItem['kind'], createdAt: number) => ({ op: 'enqueue', item: { id, kind, recId: 'r1', createdAt, text: id } });
    const lines = [
      { op: 'state', recId: 'r0', incidentId: 'inc-0', status: 'executed', channel: 'C1', ts: '1700000000.000100' },
      item('a', 'post', 1),
      item('b', 'update', 2),
      { op: 'done', id: 'a', result: 'sent' },
      item('c', 'reply', 3),
    ];
    writeFileSync(legacy, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n{"op":"enqueue","item":{"id":"d"`);
    const outbox = new SqliteOutbox<SlackItem>(join(dir, 'outbox', 'slack.sqlite'));
    expect(importLegacyOutbox(legacy, outbox)).toBe(2);
    expect(existsSync(legacy)).toBe(false);
    expect(outbox.pending().map((r) => [r.key, r.payload.kind, r.enqueuedAt])).toEqual([
      ['b', 'update', 2],
      ['c', 'reply', 3],
    ]);
    expect(outbox.receipts().get('r0')).toEqual({ incidentId: 'inc-0', status: 'executed', channel: 'C1', ts: '1700000000.000100' });
    outbox.close();
  });
});

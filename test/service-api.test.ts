import { afterEach, describe, expect, it } from 'vitest';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import axios from 'axios';
import { Readable } from 'node:stream';
import { createConnection, type Socket } from 'node:net';
import { HarbingerService, type ServiceOptions } from '../src/app/service.js';
import { parseConfig, withServeDefaults } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { verifyChain } from '../src/core/audit/hash-chain.js';
import type { Recommendation } from '../src/domain/decision.js';
import { apiClient, waitFor } from './support/index.js';
import { postNdjson } from './support/ndjson.js';
import { mountSmallDisk, smallDiskAvailable } from './support/small-disk.js';

const TOKEN = 'test-token-0123456789';
const log = createLogger('silent');
const running: HarbingerService[] = [];
const smallDisk = smallDiskAvailable('serve on a full disk');
/** A latency sample of stack a at minute `m` of 2026-03-01. */
const sample = (m: number) => ({ ts: Date.UTC(2026, 2, 1, 0, m), signal: 'latency', metric: 'http_p99_ms', stack: 'a', service: 's', value: 200 });

async function start(
  dataDir: string,
  over: Record<string, unknown> = {},
  token: string | undefined = TOKEN,
  deps: Pick<ServiceOptions, 'now' | 'routing'> = {},
) {
  const config = parseConfig({
    server: { port: 0, dataDir, wallClockWatermark: false, bodyLimitBytes: 8 * 1024 * 1024, ...((over['server'] as object) ?? {}) },
    decision: { execution: { autoApprove: false }, ...((over['decision'] as object) ?? {}) },
  });
  const service = new HarbingerService({ config, log, apiToken: token, ...deps });
  const { port } = await service.start();
  running.push(service);
  const http = apiClient(port, token);
  return { service, http, port };
}

afterEach(async () => {
  while (running.length > 0) await running.pop()!.stop();
});

const fixture = readFileSync('fixtures/scenarios/bad-deploy.jsonl', 'utf8').trim().split('\n');

/** Posts the fixture's lines as NDJSON in chunks, in order (samples and events interleaved). */
const post = (http: ReturnType<typeof axios.create>, lines: string[]): Promise<void> => postNdjson(http, lines);

describe('harbinger serve HTTP API', () => {
  it('authenticates with the bearer token and explains refusals', async () => {
    const { port } = await start(mkdtempSync(join(tmpdir(), 'hb-')));
    const anon = apiClient(port);
    expect((await anon.get('/healthz')).status).toBe(200);
    const missing = await anon.get('/v1/incidents');
    expect(missing.status).toBe(401);
    expect(missing.data.error).toContain('Bearer');
    const wrong = await anon.get('/v1/incidents', { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(403);
    expect((await anon.post('/v1/samples', '[]', { headers: { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } })).status).toBe(401);
  });

  it('takes mixed sample and event lines on POST /v1/ingest, in file order, as replay reads them', async () => {
    const { http } = await start(mkdtempSync(join(tmpdir(), 'hb-')));
    const lines = [
      '{"type":"event","ts":"2026-03-02T10:00:00Z","kind":"deployment","id":"d-1","stack":"a","service":"checkout","attributes":{"version":"v2"}}',
      '{"type":"sample","ts":"2026-03-02T10:00:00Z","signal":"latency","metric":"http_p99_ms","stack":"a","service":"checkout","value":120}',
      '{"type":"sample","ts":"2026-03-02T10:00:00Z","signal":"latency","metric":"http_p99_ms","stack":"b","service":"checkout","value":118}',
    ].join('\n');
    const r = await http.post('/v1/ingest', lines, { headers: { 'content-type': 'application/x-ndjson' } });
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({ accepted: 3, late: 0, rejectedTotal: 0 });
  });

  it('reports on GET /v1/gates which gate each metric met and warns about the ones that met none', async () => {
    const { http, port } = await start(mkdtempSync(join(tmpdir(), 'hb-')));
    expect((await axios.get(`http://127.0.0.1:${port}/v1/gates`, { validateStatus: () => true })).status).toBe(401);
    // Two minutes' data, five minutes apart: the second moves event time past the first (lateness 2 min).
    const lines = [Date.UTC(2026, 2, 2, 10), Date.UTC(2026, 2, 2, 10, 5)].flatMap((ts) =>
      ['a', 'b'].flatMap((stack) => [
        { type: 'sample', ts, signal: 'reliability', metric: 'http_5xx_rate', stack, service: 'checkout', value: 0.0004 },
        { type: 'sample', ts, signal: 'latency', metric: 'checkout_slowness', stack, service: 'checkout', value: 120 },
        { type: 'sample', ts, signal: 'capacity', metric: 'cpu_utilization', stack, service: 'checkout', value: 41.5 },
      ]),
    );
    expect((await http.post('/v1/samples', lines)).status).toBe(200);
    const r = await http.get('/v1/gates');
    expect(r.status).toBe(200);
    // Two points at 0.0004 are too few to tell percent from fraction when the name does not say: the API says
    // so. A utilisation of 41.5 is no fraction: decided at its first value.
    expect(
      r.data.matched.map((m: { metric: string; gate: { kind: string; limit: number; unitPending?: boolean } }) => [
        m.metric,
        m.gate.kind,
        m.gate.limit,
        m.gate.unitPending ?? false,
      ]),
    ).toEqual([
      ['cpu_utilization', 'saturation', 90, false],
      ['http_5xx_rate', 'error_rate', 0.001, true],
    ]);
    expect(r.data.unmatched.map((m: { metric: string; stacks: number }) => [m.metric, m.stacks])).toEqual([['checkout_slowness', 2]]);
    expect(r.data.warnings[0]).toMatchObject({ kind: 'unmatched', metric: 'checkout/checkout_slowness' });
    expect(r.data.warnings[0].message).toContain('no SLO gate matched checkout/checkout_slowness (latency)');
  });

  it('answers a value nested 100,000 levels deep with a 400 and its reason, not a 500, and keeps checkpointing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-'));
    const { http, service } = await start(dir);
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const sample = `{"type":"sample","ts":"2026-03-01T00:00:00Z","signal":"latency","metric":"m","stack":"a","service":"s","value":${deep}}`;
    const r = await http.post('/v1/samples', sample, { headers: { 'content-type': 'application/x-ndjson' } });
    expect(r.status).toBe(400);
    expect(r.data).toMatchObject({
      error: 'no valid record in the body',
      accepted: 0,
      rejected: [{ index: 1, reason: 'value: expected a finite number, got an array of 1 item' }],
    });
    const event = `{"type":"event","ts":"2026-03-01T00:00:00Z","kind":"deployment","id":"d1","attributes":{"x":${deep}}}`;
    const e = await http.post('/v1/events', event, { headers: { 'content-type': 'application/x-ndjson' } });
    expect(e.status).toBe(400);
    expect(e.data.rejected[0].reason).toMatch(/^attributes: nested deeper than 8 levels/);
    await service.stop();
    running.pop();
    expect(readFileSync(join(dir, 'state.json'), 'utf8').length).toBeGreaterThan(100);
  });

  it('refuses and reports samples stamped too far ahead of its clock, so one fast clock cannot make other sources late', async () => {
    const NOW = Date.UTC(2026, 2, 1, 12);
    const { http } = await start(mkdtempSync(join(tmpdir(), 'hb-')), { server: { wallClockWatermark: true, maxClockSkewSeconds: 300 } }, TOKEN, {
      now: () => NOW,
    });
    const at = (ms: number, stack: string) => ({ ts: NOW + ms, signal: 'latency', metric: 'http_p99_ms', stack, service: 's', value: 200 });
    // 300 s configured, but the allowance is capped at half the 120 s lateness: 61 s ahead is refused.
    const fast = await http.post('/v1/samples', [at(61_000, 'fast-clock')]);
    expect(fast.status).toBe(400);
    expect(fast.data.future).toEqual({
      count: 1,
      limit: new Date(NOW + 60_000).toISOString(),
      reason: expect.stringContaining("ahead of this server's clock"),
    });
    const ok = await http.post('/v1/samples', [at(59_000, 'fast-clock'), at(-1_000, 'on-time')]);
    expect(ok.data).toMatchObject({ accepted: 2, late: 0 });
    expect(ok.data.future).toBeUndefined();
    // Data from an on-time source, 50 s behind the fast one, is still on time.
    expect((await http.post('/v1/samples', [at(9_000, 'on-time')])).data).toMatchObject({ accepted: 1, late: 0 });
    expect((await http.get('/metrics')).data).toContain('harbinger_records_rejected_total{source="http",reason="future"} 1');
  });

  it('fails closed on a full disk: no acknowledgement it cannot keep, not ready, and back once writes succeed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-'));
    const { http } = await start(dir, { server: { checkpointIntervalSeconds: 0.2 } });
    expect((await http.post('/v1/samples', [sample(0)])).status).toBe(200);
    // The checkpoint's temporary file cannot be written (a full disk, as far as the service can tell).
    mkdirSync(join(dir, 'state.json.tmp'));
    await waitFor(async () => (await http.get('/readyz')).status === 503, 5_000, { description: '/readyz fails' });
    expect((await http.get('/readyz')).data.reason).toMatch(/^checkpoint failed: /);
    const refused = await http.post('/v1/samples', [sample(1)]);
    expect(refused.status).toBe(503);
    expect(refused.data.error).toMatch(/^not accepting data: checkpoint failed/);
    expect((await http.get('/metrics')).data).toContain('harbinger_persistence_healthy 0');
    rmSync(join(dir, 'state.json.tmp'), { recursive: true });
    await waitFor(async () => (await http.get('/readyz')).status === 200, 5_000, { description: 'ready again' });
    expect((await http.post('/v1/samples', [sample(1)])).status).toBe(200);
    expect(JSON.parse(readFileSync(join(dir, 'audit.head.json'), 'utf8'))).toMatchObject({ seq: 0 });
  });

  it('executes nothing it could not audit: with the audit log on a full disk nothing is applied, ingest answers 503 and readiness fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-'));
    const applied: string[] = [];
    const routing = {
      name: 'recording',
      apply: async (r: Recommendation) => {
        applied.push(r.id);
        return { ok: true, detail: 'applied' };
      },
    };
    const { http } = await start(dir, { decision: { execution: { approval: 'auto' } } }, TOKEN, { routing });
    // Every write to the audit log fails with ENOSPC from here on.
    rmSync(join(dir, 'audit.jsonl'), { force: true });
    symlinkSync('/dev/full', join(dir, 'audit.jsonl'));
    for (let i = 0; i < fixture.length; i += 2000) {
      const r = await http.post(
        '/v1/samples',
        fixture
          .slice(i, i + 2000)
          .filter((l) => !l.includes('"type":"event"'))
          .join('\n'),
        { headers: { 'content-type': 'application/x-ndjson' } },
      );
      if (r.status === 503) break;
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(applied).toEqual([]);
    expect((await http.get('/readyz')).data.reason).toMatch(/^the audit sink cannot write: ENOSPC/);
    const refused = await http.post('/v1/samples', fixture[fixture.length - 1]!, { headers: { 'content-type': 'application/x-ndjson' } });
    expect(refused.status).toBe(503);
  });

  it.skipIf(!smallDisk)('a data directory on a full disk: ingest answers 503 with the reason, and recovers once the disk does', async () => {
    const { dir, release } = mountSmallDisk(8);
    try {
      const { http, service } = await start(dir, { server: { checkpointIntervalSeconds: 0.2 } });
      expect((await http.post('/v1/samples', [sample(0)])).status).toBe(200);
      try {
        writeFileSync(join(dir, 'filler'), Buffer.alloc(16 << 20));
      } catch {
        // ENOSPC: the filler took what was left, as intended.
      }
      // A batch whose log record needs more than the few pages SQLite may still have free.
      const batch = Array.from({ length: 2000 }, (_, i) => ({ ...sample(1), service: `s${i}` }));
      const refused = await http.post('/v1/samples', batch);
      expect(refused.status).toBe(503);
      expect(refused.data.error).toMatch(/^not accepting data: the (write-ahead log|state checkpoint) cannot be written: .*(SQLITE_FULL|ENOSPC)/);
      expect((await http.get('/readyz')).status).toBe(503);
      rmSync(join(dir, 'filler'));
      await waitFor(async () => (await http.get('/readyz')).status === 200, 5_000, { description: 'ready once the checkpoint succeeds again' });
      expect((await http.post('/v1/samples', batch)).data).toMatchObject({ accepted: 2000 });
      await service.stop();
      running.splice(running.indexOf(service), 1);
    } finally {
      release();
    }
  });

  it('refuses to start on an audit log edited or cut short since its last checkpoint; repairs only a torn last line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-'));
    const first = await start(dir);
    await post(first.http, fixture.slice(0, 4000));
    await first.service.stop();
    running.pop();
    const audit = join(dir, 'audit.jsonl');
    const lines = readFileSync(audit, 'utf8').trimEnd().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    expect(JSON.parse(readFileSync(join(dir, 'audit.head.json'), 'utf8')).seq).toBe(lines.length);
    // Torn tail: repaired at start, and the repair is itself in the log.
    appendFileSync(audit, '{"seq":');
    const second = await start(dir);
    await second.service.stop();
    running.pop();
    const after = readFileSync(audit, 'utf8').trimEnd().split('\n');
    expect(JSON.parse(after[after.length - 1]!)).toMatchObject({ kind: 'audit.repaired', payload: { bytes: 7 } });
    expect(verifyChain(after).ok).toBe(true);
    // The last line removed: the log no longer holds the checkpointed head.
    writeFileSync(audit, `${after.slice(0, -1).join('\n')}\n`);
    await expect(start(dir)).rejects.toThrow(/entries were cut off/);
  });

  it('takes samples and events interleaved on /v1/samples and applies a body in event-time order', async () => {
    const { http } = await start(mkdtempSync(join(tmpdir(), 'hb-')));
    const at = (m: number) => new Date(Date.UTC(2026, 2, 1, 0, m)).toISOString();
    const body = [
      // A deployment ten minutes after the samples that follow it in the body: offered first, it would make them late.
      { type: 'event', ts: at(10), kind: 'deployment', stack: 'a', service: 's', id: 'deploy-1', attributes: { version: 'v2' } },
      ...[0, 1, 2].map((m) => ({ type: 'sample', ts: at(m), signal: 'latency', metric: 'p99', stack: 'a', service: 's', value: 100 + m })),
    ];
    const r = await http.post('/v1/samples', body.map((b) => JSON.stringify(b)).join('\n'), { headers: { 'content-type': 'application/x-ndjson' } });
    expect(r.data).toMatchObject({ accepted: 4, late: 0, rejectedTotal: 0 });
  });

  it('accepts JSON arrays and NDJSON, reports every bad record with its reason, and keeps the good ones', async () => {
    const { http } = await start(mkdtempSync(join(tmpdir(), 'hb-')));
    const good = { ts: '2026-03-01T00:00:00Z', signal: 'latency', metric: 'http_p99_ms', stack: 'a', service: 's', value: 200 };
    const r = await http.post('/v1/samples', [
      good,
      { ...good, ts: '2026-03-01T00:01:00Z', value: 'NaN' },
      { ...good, ts: '2026-03-01T00:02:00Z', signal: 'vibes' },
    ]);
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({ accepted: 1, rejectedTotal: 2 });
    expect(r.data.rejected).toEqual([
      { index: 2, reason: 'value: expected a finite number, got "NaN"' },
      { index: 3, reason: expect.stringContaining('signal: expected one of') },
    ]);
    const nd = await http.post('/v1/samples', `${JSON.stringify({ ...good, ts: '2026-03-01T00:03:00Z' })}\n{broken\n`, {
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(nd.data).toMatchObject({ accepted: 1, rejected: [{ index: 2, reason: expect.stringContaining('invalid JSON') }] });
    expect((await http.post('/v1/samples', 'nonsense')).status).toBe(400);
    expect((await http.post('/v1/samples', '[1,')).data.error).toContain('not a JSON array');
    const metrics = (await http.get('/metrics')).data as string;
    expect(metrics).toContain('harbinger_samples_received_total{source="http"} 2');
    expect(metrics).toContain('harbinger_records_rejected_total{source="http",reason="value"} 1');
    expect(metrics).toContain('process_cpu_seconds_total');
    // The shipped selection (models/confidence/selection.json) keeps the formula: the learned model
    // did not beat it on the independent kit. The metric says which one decides.
    expect(JSON.parse(readFileSync('models/confidence/selection.json', 'utf8')).default).toBe('formula');
    expect(metrics).toContain('harbinger_confidence_model_info{source="formula",version="formula",backend="none"} 1');
  });

  it('refuses bodies over the limit with 413 and unknown routes with 404/405', async () => {
    const { http } = await start(mkdtempSync(join(tmpdir(), 'hb-')), { server: { bodyLimitBytes: 1024 } });
    const big = await http.post('/v1/samples', 'x'.repeat(5000));
    expect(big.status).toBe(413);
    expect(big.data.error).toContain('1024 bytes');
    // Chunked (no Content-Length): still a 413 with its reason, not a reset connection.
    const chunked = await http.post(
      '/v1/samples',
      Readable.from(
        (function* () {
          for (let i = 0; i < 64; i++) yield Buffer.alloc(1024, 0x78);
        })(),
      ),
      { headers: { 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked' } },
    );
    expect(chunked.status).toBe(413);
    expect(chunked.data.error).toBe('body exceeds the limit of 1024 bytes');
    expect((await http.get('/v1/nope')).status).toBe(404);
    const wrongMethod = await http.get('/v1/samples');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers['allow']).toBe('POST');
  });

  it('cuts a client that sends its headers too slowly, and caps open connections', async () => {
    const { port } = await start(mkdtempSync(join(tmpdir(), 'hb-')), { server: { headersTimeoutSeconds: 1, maxConnections: 2 } });
    const connect = () =>
      new Promise<Socket>((resolve) => {
        const s = createConnection({ port, host: '127.0.0.1' }, () => resolve(s));
      });
    const reply = (s: Socket) =>
      new Promise<string>((resolve) => {
        let got = '';
        s.on('data', (d) => (got += d.toString()));
        s.on('close', () => resolve(got));
      });
    const slow = await connect();
    const slowReply = reply(slow);
    slow.write('POST /v1/samples HTTP/1.1\r\nHost: x\r\n');
    const t0 = Date.now();
    expect(await slowReply).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - t0).toBeLessThan(5000);
    const a = await connect();
    const b = await connect();
    const c = await connect();
    // The third connection over the cap of 2 is closed by the server without an answer.
    expect(await reply(c)).toBe('');
    a.destroy();
    b.destroy();
  });

  it('without a token binds loopback, and refuses any other address unless told', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-'));
    const config = parseConfig({ server: { port: 0, dataDir: dir } });
    const svc = new HarbingerService({ config, log, apiToken: undefined });
    running.push(svc);
    expect((await svc.start()).host).toBe('127.0.0.1');
    const open = new HarbingerService({ config: parseConfig({ server: { port: 0, dataDir: dir, host: '0.0.0.0' } }), log, apiToken: undefined });
    await expect(open.start()).rejects.toThrow(/refusing to listen on 0\.0\.0\.0 without HARBINGER_API_TOKEN/);
  });

  it('refuses samples stamped far in the future, which would make all real data late', async () => {
    const { http } = await start(mkdtempSync(join(tmpdir(), 'hb-')), { server: { wallClockWatermark: true } });
    const now = Date.now();
    const s = (ts: number) => ({ ts, signal: 'latency', metric: 'm', stack: 'a', service: 's', value: 1 });
    const r = await http.post('/v1/samples', [s(now + 10 * 365 * 86_400_000), s(now - 1000)]);
    expect(r.data).toMatchObject({ accepted: 1 });
    expect((await http.get('/metrics')).data).toContain('harbinger_records_rejected_total{source="http",reason="future"} 1');
  });

  it('ends an incident fixture in a recommendation that waits for a human; approval executes it and the audit log names the approver', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-'));
    // A primary stack: any action touching it waits for a human.
    const { http } = await start(dir, {
      server: { tickSeconds: 0.2 },
      decision: { execution: { autoApprove: false }, stacks: { 'us-west-2': { primary: true } } },
    });
    // Feed the fixture until a rollback waits for approval (it would expire after 30 min of event time).
    let waiting: Recommendation | undefined;
    for (let i = 0; i < fixture.length && waiting === undefined; i += 500) {
      await post(http, fixture.slice(i, i + 500));
      const recs = (await http.get('/v1/recommendations')).data.recommendations as Recommendation[];
      waiting = recs.find((r) => r.status === 'awaiting_approval' && r.action === 'rollback');
    }
    expect(waiting).toBeDefined();
    // What waits now is on /metrics, for Grafana's "Awaiting approval".
    await waitFor(async () => /harbinger_recommendations_awaiting_approval [1-9]/.test((await http.get('/metrics')).data as string), 5_000, {
      description: 'awaiting-approval gauge above 0',
    });
    expect((await http.get('/v1/incidents')).data.incidents.some((i: { stack: string }) => i.stack === 'us-west-2')).toBe(true);
    const filtered = (await http.get('/v1/recommendations', { params: { stack: 'us-west-2', status: 'awaiting_approval' } })).data
      .recommendations as Recommendation[];
    expect(filtered.map((r) => r.id)).toContain(waiting!.id);
    expect(filtered.every((r) => r.stack === 'us-west-2' && r.status === 'awaiting_approval')).toBe(true);
    expect((await http.get('/v1/recommendations', { params: { since: 'yesterday' } })).status).toBe(400);
    const ok = await http.post(`/v1/recommendations/${waiting!.id}/approve`, { by: 'alice@example.com' });
    expect(ok.status).toBe(200);
    expect((await http.post(`/v1/recommendations/${waiting!.id}/approve`, { by: 'bob' })).status).toBe(409);
    expect((await http.post('/v1/recommendations/nope/reject', {})).status).toBe(404);
    await new Promise((r) => setTimeout(r, 50));
    const audit = readFileSync(join(dir, 'audit.jsonl'), 'utf8').trim().split('\n');
    expect(verifyChain(audit).ok).toBe(true);
    const entries = audit.map((l) => JSON.parse(l));
    expect(entries.find((e) => e.kind === 'outcome.approved')).toMatchObject({ actor: 'alice@example.com' });
    expect(entries.find((e) => e.kind === 'execution.applied')).toMatchObject({ actor: 'dry-run' });
  });

  it('fails closed: with no approval setting and no primary stack, serve executes nothing until a human approves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-'));
    const config = parseConfig(
      withServeDefaults({ server: { port: 0, dataDir: dir, wallClockWatermark: false, bodyLimitBytes: 8 * 1024 * 1024, tickSeconds: 0.2 } }),
    );
    expect(config.decision.execution.approval).toBe('human');
    const service = new HarbingerService({ config, log, apiToken: TOKEN });
    const { port } = await service.start();
    running.push(service);
    const http = apiClient(port, TOKEN);
    await post(http, fixture);
    const recs = (await http.get('/v1/recommendations')).data.recommendations as Recommendation[];
    const mitigations = recs.filter((r) => r.action === 'rollback' || r.action === 'shift_traffic');
    // The rollback this fixture ends in is proposed (20 %-or-less, no primary stack: the seed's rule alone would run it) ...
    expect(mitigations.length).toBeGreaterThan(0);
    expect(mitigations.every((r) => r.requiresApproval && r.status !== 'executed')).toBe(true);
    // ... and nothing reached the controller.
    const audit = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(audit.filter((e) => e.kind === 'execution.applied')).toHaveLength(0);

    // The older spelling and the new one cannot contradict each other.
    expect(() => parseConfig({ decision: { execution: { autoApprove: true, approval: 'human' } } })).toThrow(
      /decision\.execution\.approval: contradicts autoApprove/,
    );
    expect(parseConfig(withServeDefaults({ decision: { execution: { approval: 'guardrails' } } })).decision.execution.approval).toBe('guardrails');
  });

  it('survives a restart: state is checkpointed on stop and the result equals an uninterrupted run', async () => {
    const recsOf = (rs: Recommendation[]): string[] => rs.map((r) => `${r.id} ${r.action} ${r.status}`).sort();
    const full = await start(mkdtempSync(join(tmpdir(), 'hb-')));
    await post(full.http, fixture);
    const expected = recsOf((await full.http.get('/v1/recommendations')).data.recommendations);

    const dir = mkdtempSync(join(tmpdir(), 'hb-'));
    const first = await start(dir);
    const half = Math.floor(fixture.length * 0.8);
    await post(first.http, fixture.slice(0, half));
    await running.pop()!.stop();
    const second = await start(dir);
    await post(second.http, fixture.slice(half));
    expect(recsOf((await second.http.get('/v1/recommendations')).data.recommendations)).toEqual(expected);
    expect(expected.length).toBeGreaterThan(0);
  });
});

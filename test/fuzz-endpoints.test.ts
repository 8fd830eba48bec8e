import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarbingerService } from '../src/app/service.js';
import { parseConfig, withServeDefaults } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { snappyCompress } from '../src/adapters/remote-write/snappy.js';
import { encodeWriteRequest, type WriteRequest } from '../src/adapters/remote-write/write-request.js';
import { signSlackRequest } from '../src/adapters/slack/signature.js';
import { APPROVE_ACTION_ID, REJECT_ACTION_ID } from '../src/adapters/slack/blocks.js';
import { sleep, spawnServe, startRecorder, trackTempDir, type Recorder } from './support/index.js';

/**
 * Property-based fuzzing of every endpoint that reads a body, on one running service (in process,
 * default limits, serve's fail-closed defaults): arbitrary bytes, arbitrary JSON, records and
 * payloads shaped like the real thing with any field replaced by anything, values nested up to
 * 150,000 levels, bodies over the size limit (declared and chunked), valid bodies with bytes
 * flipped, cut or inserted, and now and then a wrong token or content type; plus any method on
 * any path. For every request: an answer (never a reset, a body over its route's limit
 * included), never a 5xx, and every 4xx with a JSON
 * reason (`error`, or for approve/reject the decision's `reason`, or for a Flagger gate refusing
 * its step the verdict and its reasons). After each endpoint /healthz answers; after all of them a
 * valid request to each endpoint still does what it should, and /metrics counted no 5xx.
 *
 * Inputs of four known bugs are kept out of the properties and pinned by `it.fails` tests at the
 * end; see each comment.
 *
 * Seeded: HARBINGER_FUZZ_SEED (default 4242), HARBINGER_FUZZ_RUNS cases per endpoint (default 600).
 * The campaign (`node scripts/fuzz-campaign.mjs`) runs the same families 10^5 times and more against
 * a serve process, and fuzzes the parsers.
 */
const SEED = Number(process.env['HARBINGER_FUZZ_SEED'] ?? 4242);
const RUNS = Number(process.env['HARBINGER_FUZZ_RUNS'] ?? 600);
const TOKEN = 'fuzz-test-token-0123456789';
const SIGNING_SECRET = 'fuzz-signing-secret-0123456789';
const BODY_LIMIT = 1_048_576;

interface Req {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body: Buffer;
  /** Send without Content-Length (Transfer-Encoding: chunked). */
  chunked?: boolean;
}
interface Res {
  status: number;
  contentType: string;
  text: string;
}

let service: HarbingerService;
let port: number;
let slackHook: Recorder;
const agent = new Agent({ keepAlive: true, maxSockets: 4 });
const tally = new Map<string, { cases: number; status: Record<string, number> }>();

beforeAll(async () => {
  slackHook = await startRecorder();
  const dir = mkdtempSync(join(tmpdir(), 'hb-fuzz-'));
  trackTempDir(dir);
  service = new HarbingerService({
    config: parseConfig(withServeDefaults({ server: { port: 0, dataDir: dir } })),
    log: createLogger('silent'),
    apiToken: TOKEN,
    slack: { webhookUrl: `${slackHook.url}/slack`, signingSecret: SIGNING_SECRET },
  });
  ({ port } = await service.start());
});

afterAll(async () => {
  await service?.stop();
  agent.destroy();
  await slackHook?.stop();
  const rows = [...tally].map(([endpoint, t]) => `${endpoint}: ${t.cases} cases ${JSON.stringify(t.status)}`);
  process.stdout.write(`fuzz-endpoints seed ${SEED}\n${rows.join('\n')}\n`);
});

function send(r: Req): Promise<Res> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { authorization: `Bearer ${TOKEN}`, ...r.headers };
    // Chunked framing is asked for explicitly: Node's client does not use it by default for GET and DELETE.
    if (r.chunked) headers['transfer-encoding'] = 'chunked';
    else headers['content-length'] = r.body.length;
    const req = request({ host: '127.0.0.1', port, method: r.method ?? 'POST', path: r.path, headers, agent }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(parts).toString('utf8') }),
      );
      res.on('error', reject);
    });
    // Never a reset, a body over the route's limit included: the server reads and throws away the
    // rest of it after its 413 (a lingering close), so the client always reads its answer.
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(`no answer to ${r.method ?? 'POST'} ${r.path} (${r.body.length} bytes): ${e.code ?? ''} ${e.message}`)),
    );
    if (r.chunked) {
      // Several writes without a length: Node sends them as chunks.
      for (let i = 0; i < r.body.length; i += 65_536) req.write(r.body.subarray(i, i + 65_536));
      req.end();
    } else req.end(r.body);
  });
}

/** The properties every answer has; returns the parsed JSON body when there is one. */
function checkAnswer(endpoint: string, r: Req, res: Res): unknown {
  const t = tally.get(endpoint) ?? { cases: 0, status: {} };
  t.cases++;
  const key = String(res.status);
  t.status[key] = (t.status[key] ?? 0) + 1;
  tally.set(endpoint, t);
  const what = `${endpoint}: ${r.method ?? 'POST'} ${r.path} ${JSON.stringify(r.headers ?? {})} body ${JSON.stringify(r.body.subarray(0, 200).toString('utf8'))}${r.body.length > 200 ? `... (${r.body.length} bytes)` : ''} -> ${res.status} ${res.text.slice(0, 300)}`;
  if (res.status >= 500 || res.status < 200) throw new Error(`5xx (or no status): ${what}`);
  if (res.status < 400) return res.text === '' ? undefined : JSON.parse(res.text);
  if (!res.contentType.startsWith('application/json')) throw new Error(`4xx without a JSON body: ${what}`);
  const body = JSON.parse(res.text) as { error?: unknown; reason?: unknown; verdict?: unknown; reasons?: unknown };
  const reason =
    (typeof body.error === 'string' && body.error !== '') ||
    (typeof body.reason === 'string' && body.reason !== '') ||
    (res.status === 412 && typeof body.verdict === 'string' && Array.isArray(body.reasons) && body.reasons.length > 0);
  if (!reason) throw new Error(`4xx without a reason: ${what}`);
  return body;
}

async function healthy(): Promise<void> {
  const r = await send({ method: 'GET', path: '/healthz', body: Buffer.alloc(0) });
  expect(r.status).toBe(200);
}

// ---- building blocks ------------------------------------------------------------------------------

const now = (): number => Date.now();
const text = fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 20 }));
/** Any value a JSON field can hold, including the awkward ones. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  text,
  fc.double(),
  fc.integer(),
  fc.constantFrom(null, true, false, '', 0, -1, 1e308, -1e308, 2 ** 53 + 1, 'NaN', 'Infinity', '1e999', '2026-03-01T00:00:00Z', '0001-01-01T00:00:00Z'),
  fc.string({ minLength: 201, maxLength: 3000 }),
  fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 5 }),
);
/** A raw JSON fragment: a value, or one nested up to 150,000 levels deep. */
const rawValue: fc.Arbitrary<string> = fc
  .oneof(
    { arbitrary: anyValue.map((v) => JSON.stringify(v) ?? 'null'), weight: 8 },
    { arbitrary: fc.tuple(fc.integer({ min: 1, max: 150_000 }), fc.constantFrom('[', '{"a":')), weight: 1 },
  )
  .map((v) => (Array.isArray(v) ? `${v[1].repeat(v[0])}1${(v[1] === '[' ? ']' : '}').repeat(v[0])}` : v));

/** A JSON object from fields of which each may be valid, missing or replaced by anything. */
function objectOf(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<string> {
  const entries = Object.entries(fields).map(([k, valid]) =>
    fc
      .oneof(
        { arbitrary: valid.map((v) => JSON.stringify(v) ?? 'null'), weight: 16 },
        { arbitrary: rawValue, weight: 1 },
        { arbitrary: fc.constant(undefined), weight: 1 },
      )
      .map((v) => (v === undefined ? undefined : `${JSON.stringify(k)}:${v}`)),
  );
  return fc.tuple(...entries).map((kv) => `{${kv.filter((x) => x !== undefined).join(',')}}`);
}

const tsValue = fc.oneof(
  fc.integer({ min: -3_600_000, max: 3_600_000 }).map((d) => now() + d),
  fc.integer({ min: -3_600_000, max: 600_000 }).map((d) => new Date(now() + d).toISOString()),
  fc.constantFrom(0, 1e10, 7_258_118_400_001, '2026-03-01 00:00', '2026-13-45T99:99:99Z', 'yesterday'),
);
const sampleRecord = objectOf({
  type: fc.constantFrom('sample', 'event', 'Sample', ''),
  ts: tsValue,
  signal: fc.constantFrom('latency', 'reliability', 'capacity', 'business', 'other'),
  metric: fc.constantFrom('http_p99_ms', 'http_error_ratio', 'cpu_utilization', 'orders_per_min'),
  stack: fc.constantFrom('us-east-1', 'us-west-2', 'eu-1'),
  service: fc.constantFrom('checkout', 'search'),
  value: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer()),
  count: fc.nat(),
});
const eventRecord = objectOf({
  type: fc.constantFrom('event', 'sample'),
  ts: tsValue,
  kind: fc.constantFrom('deployment', 'config_change', 'traffic_shift', 'load_test', 'campaign', 'feature_flag', 'unknown'),
  id: text,
  stack: fc.constantFrom('us-east-1', 'us-west-2'),
  service: fc.constantFrom('checkout'),
  attributes: fc.oneof(fc.dictionary(text, anyValue, { maxKeys: 5 }), fc.constant({ weights: { 'us-east-1': 50, 'us-west-2': 50 } })),
  endTs: tsValue,
});
const validSampleLine = (): string =>
  JSON.stringify({
    type: 'sample',
    ts: new Date(now()).toISOString(),
    signal: 'latency',
    metric: 'http_p99_ms',
    stack: 'us-east-1',
    service: 'checkout',
    value: 180,
  });

const _decodes = (s: string): boolean => {
  try {
    decodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
};

/** True when `v` is nested deeper than `limit` levels (walked without recursion). */
function deeperThan(v: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[v, 1]];
  while (pending.length > 0) {
    const [x, d] = pending.pop()!;
    if (d > limit) return true;
    if (x !== null && typeof x === 'object') for (const k in x) pending.push([(x as Record<string, unknown>)[k], d + 1]);
  }
  return false;
}

/** A Slack form whose payload's `type` is not a string and is nested deeper than 1,000 levels (a known bug). */
function _slackDeepType(form: string): boolean {
  try {
    const p = JSON.parse(new URLSearchParams(form).get('payload') ?? '') as { type?: unknown } | null;
    return p !== null && typeof p === 'object' && p.type !== null && typeof p.type === 'object' && deeperThan(p.type, 1000);
  } catch {
    return false;
  }
}

/** Valid bytes with bytes flipped, cut, duplicated or inserted. */
function mutated(base: fc.Arbitrary<Buffer>): fc.Arbitrary<Buffer> {
  const op = fc.tuple(
    fc.constantFrom('flip', 'cut', 'insert', 'dup', 'truncate'),
    fc.nat(),
    fc.nat({ max: 64 }),
    fc.uint8Array({ minLength: 1, maxLength: 16 }),
  );
  return fc.tuple(base, fc.array(op, { minLength: 1, maxLength: 6 })).map(([b, ops]) => {
    let out = Buffer.from(b);
    for (const [kind, at, len, bytes] of ops) {
      const i = out.length === 0 ? 0 : at % out.length;
      if (kind === 'flip' && out.length > 0) out[i] = out[i]! ^ (bytes[0]! || 1);
      else if (kind === 'cut') out = Buffer.concat([out.subarray(0, i), out.subarray(i + len)]);
      else if (kind === 'insert') out = Buffer.concat([out.subarray(0, i), Buffer.from(bytes), out.subarray(i)]);
      else if (kind === 'dup') out = Buffer.concat([out.subarray(0, i + len), out.subarray(i)]);
      else if (kind === 'truncate') out = out.subarray(0, i);
    }
    return out;
  });
}

/** The shapes every body endpoint gets besides its own: bytes, text, any JSON, deep nesting, too large. */
const generic: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)),
  text.map((s) => Buffer.from(s)),
  fc.anything({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'undefined')),
  rawValue.map((s) => Buffer.from(s)),
  fc.constantFrom(Buffer.alloc(0), Buffer.from(' \n\r\n '), Buffer.from('\uFEFF{}'), Buffer.alloc(BODY_LIMIT + 1, 0x20)),
);

/** A body, and now and then a wrong token, a missing one, a Basic one, or a chunked transfer. */
const transport = fc.record({
  auth: fc.oneof({ arbitrary: fc.constant('ok'), weight: 12 }, { arbitrary: fc.constantFrom('none', 'wrong', 'basic', 'garbage'), weight: 1 }),
  chunked: fc.boolean(),
});
function headersFor(auth: string): Record<string, string> {
  switch (auth) {
    case 'none':
      return { authorization: '' };
    case 'wrong':
      return { authorization: 'Bearer not-the-token-at-all' };
    case 'basic':
      return { authorization: `Basic ${Buffer.from(`prometheus:${TOKEN}`).toString('base64')}` };
    case 'garbage':
      return { authorization: 'Bearer' };
    default:
      return {};
  }
}

async function fuzz(endpoint: string, cases: fc.Arbitrary<Req>, runs = RUNS): Promise<void> {
  await fc.assert(
    fc.asyncProperty(cases, transport, async (r, t) => {
      const req: Req = { ...r, headers: { ...headersFor(t.auth), ...r.headers }, chunked: t.chunked };
      checkAnswer(endpoint, req, await send(req));
    }),
    { seed: SEED, numRuns: runs },
  );
  await healthy();
}

// ---- the endpoints ----------------------------------------------------------------------------------

const records = (record: fc.Arbitrary<string>): fc.Arbitrary<Buffer> =>
  fc.oneof(
    fc.array(record, { minLength: 1, maxLength: 20 }).map((rs) => Buffer.from(rs.join('\n'))),
    fc.array(record, { minLength: 1, maxLength: 20 }).map((rs) => Buffer.from(`[${rs.join(',')}]`)),
    fc.array(record, { minLength: 1, maxLength: 5 }).map((rs) => Buffer.from(rs.join('\r\n'))),
    record.map((r) => Buffer.from(r)),
  );

const remoteWriteBody: fc.Arbitrary<WriteRequest> = fc.record({
  timeseries: fc.array(
    fc.record({
      labels: fc.array(
        fc.record({
          name: fc.oneof(fc.constantFrom('__name__', 'stack', 'service', 'job'), text),
          value: fc.oneof(fc.constantFrom('http_requests_total', 'us-east-1', 'checkout'), text, fc.string({ minLength: 201, maxLength: 400 })),
        }),
        { maxLength: 6 },
      ),
      samples: fc.array(
        fc.record({
          value: fc.double(),
          timestamp: fc.oneof(
            fc.integer({ min: -1e3, max: 1e3 }).map((d) => now() + d),
            fc.integer(),
          ),
        }),
        {
          maxLength: 4,
        },
      ),
    }),
    { maxLength: 8 },
  ),
});
const protobuf = remoteWriteBody.map((w) => Buffer.from(encodeWriteRequest(w)));
const snappy = (b: Buffer): Buffer => Buffer.from(snappyCompress(b));

const alertPayload = objectOf({
  version: fc.oneof({ arbitrary: fc.constant('4'), weight: 8 }, { arbitrary: fc.constantFrom('3', 4), weight: 1 }),
  groupKey: text,
  status: fc.constantFrom('firing', 'resolved', 'pending'),
  receiver: fc.constantFrom('harbinger'),
  groupLabels: fc.dictionary(text, text, { maxKeys: 3 }),
  commonLabels: fc.dictionary(text, text, { maxKeys: 3 }),
  externalURL: fc.constantFrom('http://alertmanager:9093'),
  truncatedAlerts: fc.nat(),
  alerts: fc.array(
    fc.record({
      status: fc.constantFrom('firing', 'resolved'),
      labels: fc.oneof(
        fc.record({ alertname: text, stack: fc.constantFrom('us-east-1', 'us-west-2', ''), service: fc.constantFrom('checkout', 'x'.repeat(201)) }),
        fc.dictionary(text, text, { maxKeys: 70 }),
      ),
      annotations: fc.dictionary(text, text, { maxKeys: 2 }),
      startsAt: fc.oneof(
        tsValue.map((v) => (typeof v === 'number' ? new Date(Math.min(v, 8e15)).toISOString() : v)),
        text,
      ),
      endsAt: fc.constantFrom('0001-01-01T00:00:00Z', '2026-03-01T00:00:00Z', 'never'),
      fingerprint: fc.oneof(fc.stringMatching(/^[0-9a-f]{16}$/), text),
    }),
    { maxLength: 5 },
  ),
});

const slackPayload = objectOf({
  type: fc.constantFrom('block_actions', 'view_submission', 'shortcut'),
  user: fc.oneof(fc.record({ id: fc.constantFrom('U024BE7LH', ''), username: text }), anyValue),
  team: fc.oneof(fc.record({ id: text }), fc.constant(null)),
  actions: fc.array(fc.record({ action_id: fc.constantFrom(APPROVE_ACTION_ID, REJECT_ACTION_ID, 'other'), value: text }), { maxLength: 3 }),
  container: fc.record({ message_ts: text, channel_id: text }),
  response_url: fc.constantFrom('https://hooks.slack.com/actions/T/1/x'),
});

const flaggerPayload = objectOf({
  name: fc.oneof(fc.constantFrom('checkout'), text),
  namespace: text,
  phase: fc.constantFrom('Progressing', 'Promoting', 'Failed'),
  metadata: fc.oneof(
    fc.record({
      service: fc.oneof(fc.constantFrom('checkout'), text),
      stack: fc.oneof(fc.constantFrom('canary'), text),
      step: fc.oneof(fc.nat(120).map(String), text),
    }),
    anyValue,
  ),
});

describe('fuzzing every endpoint that reads a body (seeded)', () => {
  it('POST /v1/samples: arbitrary and mutated NDJSON, arrays and objects', async () => {
    const body = fc.oneof(
      { arbitrary: records(fc.oneof(sampleRecord, eventRecord)), weight: 4 },
      { arbitrary: mutated(fc.array(fc.constant(0), { minLength: 1, maxLength: 5 }).map((a) => Buffer.from(a.map(validSampleLine).join('\n')))), weight: 2 },
      { arbitrary: generic, weight: 2 },
    );
    const ct = fc.constantFrom('application/x-ndjson', 'application/json', 'text/plain', 'application/x-protobuf');
    await fuzz(
      'samples',
      fc.tuple(body, ct).map(([b, c]) => ({ path: '/v1/samples', headers: { 'content-type': c }, body: b })),
    );
  }, 60_000);

  it('POST /v1/events: arbitrary and mutated event records', async () => {
    const body = fc.oneof({ arbitrary: records(eventRecord), weight: 4 }, { arbitrary: records(sampleRecord), weight: 1 }, { arbitrary: generic, weight: 2 });
    await fuzz(
      'events',
      body.map((b) => ({ path: '/v1/events', headers: { 'content-type': 'application/x-ndjson' }, body: b })),
    );
  }, 60_000);

  it('POST /v1/alertmanager: payloads shaped like version 4 with any field replaced', async () => {
    const body = fc.oneof(
      { arbitrary: alertPayload.map((s) => Buffer.from(s)), weight: 4 },
      { arbitrary: mutated(alertPayload.map((s) => Buffer.from(s))), weight: 2 },
      { arbitrary: generic, weight: 2 },
    );
    await fuzz(
      'alertmanager',
      body.map((b) => ({ path: '/v1/alertmanager', headers: { 'content-type': 'application/json' }, body: b })),
    );
  }, 60_000);

  it('POST /api/v1/write: random, mutated and amplifying remote-write bodies', async () => {
    const body = fc.oneof(
      { arbitrary: protobuf.map(snappy), weight: 3 },
      { arbitrary: mutated(protobuf.map(snappy)), weight: 2 },
      { arbitrary: mutated(protobuf).map(snappy), weight: 2 },
      { arbitrary: fc.uint8Array({ maxLength: 2048 }).map((b) => snappy(Buffer.from(b))), weight: 1 },
      // Repeated empty TimeSeries fields: a small body that decodes to very many series.
      { arbitrary: fc.integer({ min: 1, max: 2_000_000 }).map((n) => snappy(Buffer.alloc(n * 2, Buffer.from([0x0a, 0x00])))), weight: 1 },
      { arbitrary: generic, weight: 2 },
    );
    const valid = fc.constant({ 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' });
    const other = fc.record({
      'content-type': fc.constantFrom('application/x-protobuf', 'application/x-protobuf;proto=io.prometheus.write.v2.Request', 'application/json', ''),
      'content-encoding': fc.constantFrom('snappy', 'gzip', 'identity'),
      'x-prometheus-remote-write-version': fc.constantFrom('0.1.0', '2.0.0'),
    });
    const headers = fc.oneof({ arbitrary: valid, weight: 8 }, { arbitrary: other, weight: 1 });
    await fuzz(
      'remote_write',
      fc.tuple(body, headers).map(([b, h]) => ({ path: '/api/v1/write', headers: h, body: b })),
    );
  }, 60_000);

  it('POST /v1/recommendations/:id/approve|reject: any id the route admits, any body', async () => {
    const id = fc.stringMatching(/^[A-Za-z0-9._-]{1,300}$/);
    const body = fc.oneof(
      objectOf({ by: fc.constantFrom('alice@example.com') }).map((s) => Buffer.from(s)),
      fc.constant(Buffer.alloc(0)),
      fc.string({ maxLength: 20_000 }).map((s) => Buffer.from(JSON.stringify({ by: s }))),
      generic,
    );
    await fuzz(
      'decide',
      fc.tuple(id, fc.constantFrom('approve', 'reject'), body).map(([i, v, b]) => ({ path: `/v1/recommendations/${i}/${v}`, body: b })),
    );
  }, 60_000);

  it('POST /v1/slack/interactions: signed and unsigned form bodies with any payload', async () => {
    const form = fc.oneof(
      { arbitrary: slackPayload.map((p) => `payload=${encodeURIComponent(p)}`), weight: 4 },
      { arbitrary: rawValue.map((p) => `payload=${encodeURIComponent(p)}`), weight: 1 },
      { arbitrary: text.map((s) => `payload=${s}&payload=x`), weight: 1 },
      { arbitrary: generic.map((b) => b.toString('latin1')), weight: 1 },
    );
    const signing = fc.oneof(
      { arbitrary: fc.constant('signed'), weight: 8 },
      { arbitrary: fc.constantFrom('unsigned', 'stale', 'bad-signature', 'bad-timestamp'), weight: 1 },
    );
    await fuzz(
      'slack',
      fc.tuple(form, signing).map(([f, s]) => {
        const body = Buffer.from(f, 'latin1');
        const ts = s === 'stale' ? Math.floor(now() / 1000) - 3600 : Math.floor(now() / 1000);
        const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
        if (s !== 'unsigned') {
          headers['x-slack-request-timestamp'] = s === 'bad-timestamp' ? 'soon' : String(ts);
          headers['x-slack-signature'] = s === 'bad-signature' ? `v0=${'0'.repeat(64)}` : signSlackRequest(SIGNING_SECRET, ts, body);
        }
        return { path: '/v1/slack/interactions', headers, body };
      }),
    );
  }, 60_000);

  it('POST /v1/gate/flagger/*: webhook bodies with any field replaced', async () => {
    const body = fc.oneof(
      { arbitrary: flaggerPayload.map((s) => Buffer.from(s)), weight: 4 },
      { arbitrary: mutated(flaggerPayload.map((s) => Buffer.from(s))), weight: 1 },
      { arbitrary: generic, weight: 2 },
    );
    await fuzz(
      'flagger',
      fc
        .tuple(fc.constantFrom('confirm-rollout', 'confirm-promotion', 'rollback'), fc.oneof(body, fc.constant(Buffer.from('null'))))
        .map(([hook, b]) => ({ path: `/v1/gate/flagger/${hook}`, headers: { 'content-type': 'application/json' }, body: b })),
    );
  }, 60_000);

  it('any method on any path: 404 or 405 with a reason, never a 5xx', async () => {
    const path = fc.oneof(
      fc.webPath(),
      fc
        .constantFrom('/v1/samples', '/healthz', '/v1/recommendations/x/approve', '/api/v1/write', '/v1/gate')
        .chain((p) => fc.webQueryParameters().map((q) => `${p}?${q}`)),
      fc.constantFrom('/v1/gate?service=checkout&stack=canary&step=', '/v1/recommendations?since=yesterday', '/v1/gate?service=a&stack=b&step=1e999'),
      fc.oneof(fc.webSegment(), fc.constantFrom('%E0', '%', '%zz', '%C0%AF', 'inc-1')).map((seg) => `/v1/incidents/${seg}/series`),
    );
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS');
    await fuzz(
      'routes',
      fc
        .tuple(
          method,
          fc.oneof(
            path.map((p) => (p.startsWith('/') ? p : `/${p}`)),
            fc.constantFrom('//', '///', '////%F2'),
          ),
          fc.uint8Array({ maxLength: 64 }),
        )
        .map(([m, p, b]) => ({ method: m, path: p, body: Buffer.from(b) })),
    );
  }, 60_000);

  it('afterwards a valid request to each endpoint still works, and /metrics counted no 5xx', async () => {
    const samples = await send({ path: '/v1/samples', headers: { 'content-type': 'application/x-ndjson' }, body: Buffer.from(validSampleLine()) });
    expect(samples.status).toBe(200);
    expect(JSON.parse(samples.text).accepted).toBe(1);
    const event = { type: 'event', ts: new Date(now()).toISOString(), kind: 'deployment', id: 'fuzz-deploy-1', stack: 'us-east-1', service: 'checkout' };
    const events = await send({ path: '/v1/events', body: Buffer.from(JSON.stringify(event)) });
    expect(events.status).toBe(200);
    expect(JSON.parse(events.text).accepted).toBe(1);
    const alert = {
      version: '4',
      groupKey: '{}:{alertname="HighErrorRate"}',
      status: 'firing',
      receiver: 'harbinger',
      groupLabels: {},
      commonLabels: {},
      commonAnnotations: {},
      externalURL: 'http://alertmanager:9093',
      alerts: [
        {
          status: 'firing',
          labels: { alertname: 'HighErrorRate', stack: 'us-east-1', service: 'checkout' },
          annotations: {},
          startsAt: new Date(now()).toISOString(),
          fingerprint: 'fuzzvalid0000001',
        },
      ],
    };
    const am = await send({ path: '/v1/alertmanager', body: Buffer.from(JSON.stringify(alert)) });
    expect(am.status).toBe(200);
    const wr = encodeWriteRequest({
      timeseries: [
        {
          labels: [
            { name: '__name__', value: 'http_requests_total' },
            { name: 'stack', value: 'us-east-1' },
          ],
          samples: [{ value: 1, timestamp: now() }],
        },
      ],
    });
    const rw = await send({
      path: '/api/v1/write',
      headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' },
      body: snappy(Buffer.from(wr)),
    });
    expect(rw.status).toBe(204);
    const decide = await send({ path: '/v1/recommendations/no-such-recommendation/approve', body: Buffer.from('{"by":"alice@example.com"}') });
    expect(decide.status).toBe(404);
    expect(JSON.parse(decide.text).code).toBe('unknown_recommendation');
    const form = Buffer.from(
      `payload=${encodeURIComponent(JSON.stringify({ type: 'block_actions', user: { id: 'U024BE7LH', username: 'alice' }, actions: [{ action_id: APPROVE_ACTION_ID, value: 'no-such-recommendation' }] }))}`,
    );
    const ts = Math.floor(now() / 1000);
    const slack = await send({
      path: '/v1/slack/interactions',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': signSlackRequest(SIGNING_SECRET, ts, form),
      },
      body: form,
    });
    expect(slack.status).toBe(200);
    const gate = await send({
      path: '/v1/gate/flagger/confirm-rollout',
      body: Buffer.from('{"name":"checkout","namespace":"shop","phase":"Progressing","metadata":{}}'),
    });
    expect([200, 412]).toContain(gate.status);
    expect(['promote', 'hold', 'rollback']).toContain(JSON.parse(gate.text).verdict);
    await healthy();
    const metrics = await send({ method: 'GET', path: '/metrics', body: Buffer.alloc(0) });
    const fiveXX = metrics.text.split('\n').filter((l) => l.startsWith('harbinger_http_requests_total') && /code="5\d\d"/.test(l));
    expect(fiveXX).toEqual([]);
  });

  /** Was a 500 (`payload.metadata` read on a JSON null). */
  it('answers a Flagger webhook whose body is JSON null with a 400 and its reason', async () => {
    const r = await send({ path: '/v1/gate/flagger/confirm-rollout', headers: { 'content-type': 'application/json' }, body: Buffer.from('null') });
    expect(r.status).toBe(400);
  });

  /** Was a 500 (`decodeURIComponent(id)` threw URIError). */
  it('answers GET /v1/incidents/%E0/series (a malformed escape in the id) with a 4xx and its reason', async () => {
    const r = await send({ method: 'GET', path: '/v1/incidents/%E0/series', body: Buffer.alloc(0) });
    expect(r.status).toBeLessThan(500);
  });

  /** Was a 500 (the refusal quoted `type` with JSON.stringify, which overflowed the stack). */
  it('answers a signed Slack interaction whose type is nested 30,000 levels deep with a 400', async () => {
    // Unescaped brackets are read as they are in a form body: 60 KB, within the endpoint's 64 KiB.
    const deep = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;
    const body = Buffer.from(`payload={"type":${deep}}`);
    const ts = Math.floor(now() / 1000);
    const r = await send({
      path: '/v1/slack/interactions',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': signSlackRequest(SIGNING_SECRET, ts, body),
      },
      body,
    });
    expect(r.status).toBe(400);
  });

  /**
   * Was a crash: `new URL(req.url, ...)` ran outside the handler's catch, so one unauthenticated
   * `GET //` ended `harbinger serve`. Against a child process, so a regression cannot take this
   * worker with it.
   */
  it('survives a request whose target is "//" (serve child process)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hb-fuzz-url-'));
    trackTempDir(dir);
    const { proc, port: childPort } = await spawnServe('serve-url', { dataDir: dir, env: { HARBINGER_API_TOKEN: TOKEN } });
    try {
      const answer = await new Promise<string>((resolve) => {
        const c = createConnection(childPort, '127.0.0.1', () => c.end('GET // HTTP/1.1\r\nHost: localhost\r\n\r\n'));
        let got = '';
        c.on('data', (d: Buffer) => (got += d.toString('utf8')));
        c.on('close', () => resolve(got));
        c.on('error', () => resolve(got));
      });
      await sleep(300);
      expect(proc.exitInfo()).toBeUndefined();
      expect(answer).toMatch(/^HTTP\/1\.1 400/);
      expect(answer).toContain('invalid request target');
    } finally {
      await proc.stop();
    }
  }, 60_000);
});

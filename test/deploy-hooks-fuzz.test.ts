import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AxiosInstance } from 'axios';
import { HarbingerService } from '../src/app/service.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { fromArgoCd } from '../src/adapters/deploy-hooks/argocd.js';
import { deployHooksConfigSchema } from '../src/adapters/deploy-hooks/config.js';
import { fromFlagger } from '../src/adapters/deploy-hooks/flagger.js';
import { fromGitHub } from '../src/adapters/deploy-hooks/github.js';
import { signGitHubPayload, verifyGitHubSignature } from '../src/adapters/deploy-hooks/github-signature.js';
import type { HookResult } from '../src/adapters/deploy-hooks/hook-result.js';
import { parseRecord } from '../src/ingest/record-parser.js';
import { apiClient } from './support/index.js';
import { argoCdNotification, flaggerEvent, githubDeployment, githubDeploymentStatus } from './support/deploy-hook-payloads.js';

/**
 * The new parsers never throw and never lose other data: arbitrary JSON and real payloads with any
 * field replaced, into the pure mappings; arbitrary bodies, signed and unsigned, into the routes of
 * a running service (never a 5xx, every 4xx with a JSON reason); garbage lines between valid ones
 * on /v1/ingest (every valid line still taken, every other one refused with its line number); and
 * after all of it a valid delivery still lands in the context index.
 * Seeded: HARBINGER_FUZZ_SEED (default 4242), HARBINGER_FUZZ_RUNS (default 300).
 */
const SEED = Number(process.env['HARBINGER_FUZZ_SEED'] ?? 4242);
const RUNS = Number(process.env['HARBINGER_FUZZ_RUNS'] ?? 300);
const TOKEN = 'fuzz-token-0123456789abcdef';
const SECRET = 'fuzz-github-secret-0123456789';
const cfg = deployHooksConfigSchema.parse({});

const T = Date.UTC(2026, 2, 2, 10, 1, 20);
const deploy = { id: 77, sha: 'e83c5163316f89bfbde7d9ab23ca2e25604af290', environment: 'us-west-2', createdAt: new Date(T).toISOString() };
const realPayloads: [string, unknown][] = [
  ['github:deployment', githubDeployment(deploy)],
  ['github:deployment_status', githubDeploymentStatus(deploy, { id: 78, state: 'success', createdAt: new Date(T + 180_000).toISOString() })],
  [
    'argocd',
    argoCdNotification({
      app: 'checkout',
      phase: 'Succeeded',
      revision: 'c3f1e2a',
      history: ['a11aa11', 'c3f1e2a'],
      startedAt: '2026-03-02T10:01:20Z',
      finishedAt: '2026-03-02T10:03:05Z',
    }),
  ],
  ['flagger', flaggerEvent({ phase: 'Progressing', message: 'New revision detected! Scaling up podinfo.test', ts: T })],
];

const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(null, '', '<no value>', -1, 1e308, Number.MAX_SAFE_INTEGER, '9'.repeat(400), 'x'.repeat(5000)),
  fc.string({ unit: 'binary', maxLength: 80 }),
);

/** A real payload with one field, at any depth, replaced by anything (or removed). */
function mutate(value: unknown, path: number[], replacement: unknown): unknown {
  if (value === null || typeof value !== 'object' || path.length === 0) return replacement;
  const keys = Object.keys(value);
  if (keys.length === 0) return value;
  const k = keys[path[0]! % keys.length]!;
  const copy: Record<string, unknown> = Array.isArray(value) ? ([...value] as unknown as Record<string, unknown>) : { ...(value as object) };
  if (path.length === 1 && replacement === undefined) delete copy[k];
  else copy[k] = mutate((value as Record<string, unknown>)[k], path.slice(1), replacement);
  return copy;
}

const map = (which: string, payload: unknown): HookResult =>
  which.startsWith('github:')
    ? fromGitHub(which.slice(7), payload, cfg.github)
    : which === 'argocd'
      ? fromArgoCd(payload, cfg.argocd)
      : fromFlagger(payload, cfg.flagger);

/** Every outcome is one of the three, and every event record either passes the record parser or is refused with a reason. */
function wellFormed(r: HookResult): void {
  expect(['events', 'ignored', 'invalid']).toContain(r.kind);
  if (r.kind !== 'events') {
    expect(typeof r.reason === 'string' && r.reason.length > 0).toBe(true);
    return;
  }
  for (const rec of r.records) {
    const p = parseRecord(rec);
    if (!p.ok) expect(p.reason.length).toBeGreaterThan(0);
  }
}

describe('deploy hook mappings, fuzzed', () => {
  it('never throw on arbitrary JSON, for any event name', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('github:deployment', 'github:deployment_status', 'github:ping', 'github:x', 'argocd', 'flagger'),
        anyJson,
        (which, payload) => {
          wellFormed(map(which, payload));
        },
      ),
      { seed: SEED, numRuns: RUNS * 4 },
    );
  });

  it('never throw on a real payload with any field replaced or removed', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...realPayloads),
        fc.array(fc.nat(40), { minLength: 1, maxLength: 5 }),
        fc.option(anyJson, { nil: undefined }),
        ([which, payload], path, replacement) => {
          wellFormed(map(which, mutate(payload, path, replacement)));
        },
      ),
      { seed: SEED, numRuns: RUNS * 4 },
    );
  });

  it('GitHub signature check: never throws, never accepts a signature made without the secret', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.constant(undefined), fc.array(fc.string(), { maxLength: 3 })), fc.uint8Array({ maxLength: 200 }), (header, body) => {
        const r = verifyGitHubSignature(SECRET, header, Buffer.from(body));
        expect(r.ok).toBe(false);
        expect(verifyGitHubSignature(SECRET, signGitHubPayload(SECRET, Buffer.from(body)), Buffer.from(body)).ok).toBe(true);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

describe('deploy hook routes and /v1/ingest, fuzzed on a running service', () => {
  let service: HarbingerService;
  let http: AxiosInstance;
  /** Minutes of event time the valid /v1/ingest lines have used. */
  let minute = 0;

  beforeAll(async () => {
    service = new HarbingerService({
      config: parseConfig({ server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-hooks-fuzz-')), wallClockWatermark: false } }),
      log: createLogger('silent'),
      apiToken: TOKEN,
      githubWebhookSecret: SECRET,
    });
    const { port } = await service.start();
    http = apiClient(port, TOKEN);
  });
  afterAll(async () => {
    await service?.stop();
  });

  /** Every answer a 2xx or a 4xx with a JSON reason; never a 5xx. */
  const answered = (r: { status: number; data: unknown }, what: string): void => {
    if (r.status >= 500 || r.status < 200) throw new Error(`${r.status} for ${what}: ${JSON.stringify(r.data).slice(0, 300)}`);
    if (r.status >= 400) expect(typeof (r.data as { error?: unknown }).error, what).toBe('string');
  };
  const bodies = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
    anyJson.map((v) => Buffer.from(JSON.stringify(v) ?? 'undefined')),
    fc
      .tuple(fc.constantFrom(...realPayloads), fc.array(fc.nat(40), { minLength: 1, maxLength: 4 }), fc.option(anyJson, { nil: undefined }))
      .map(([[, p], path, v]) => Buffer.from(JSON.stringify(mutate(p, path, v)) ?? 'null')),
  );

  it('the three routes answer every body with a 2xx or a 4xx and its reason', async () => {
    await fc.assert(
      fc.asyncProperty(bodies, fc.constantFrom('deployment', 'deployment_status', 'ping', 'issues'), fc.boolean(), async (body, event, signed) => {
        const gh = await http.post('/v1/hooks/github', body, {
          headers: {
            'content-type': 'application/json',
            'x-github-event': event,
            ...(signed ? { 'x-hub-signature-256': signGitHubPayload(SECRET, body) } : {}),
          },
          transformRequest: (d) => d,
        });
        answered(gh, `github ${event} ${body.subarray(0, 100).toString()}`);
        if (!signed) expect(gh.status).toBe(401);
        for (const route of ['argocd', 'flagger']) {
          const r = await http.post(`/v1/hooks/${route}`, body, { headers: { 'content-type': 'application/json' }, transformRequest: (d) => d });
          answered(r, `${route} ${body.subarray(0, 100).toString()}`);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );
    expect((await http.get('/healthz')).status).toBe(200);
  }, 120_000);

  it('/v1/ingest takes every valid line among garbage ones, and refuses each of the others with its line number', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.constant(null),
            fc.string({ unit: 'binary', maxLength: 120 }),
            anyJson.map((v) => JSON.stringify(v) ?? ''),
          ),
          { minLength: 1, maxLength: 12 },
        ),
        async (junk) => {
          // Valid lines, one each minute of event time (never late), interleaved with the junk (null: a valid line's place).
          const lines = junk.map((j) => {
            if (j !== null) return j.replace(/\n/g, ' ');
            minute++;
            const ts = T + minute * 60_000;
            return minute % 5 === 0
              ? JSON.stringify({ type: 'event', ts, kind: 'config_change', id: `cfg-${minute}`, stack: 'a', service: 's' })
              : JSON.stringify({ type: 'sample', ts, signal: 'latency', metric: 'p99_ms', stack: 'a', service: 's', value: 100 + minute });
          });
          const valid = junk.filter((j) => j === null).length;
          const r = await http.post('/v1/ingest', lines.join('\n'), { headers: { 'content-type': 'application/x-ndjson' } });
          answered(r, lines.join('\\n').slice(0, 300));
          if (r.status === 200) expect(r.data.accepted + r.data.late).toBeGreaterThanOrEqual(valid);
          else expect(valid).toBe(0);
          // A body that is one JSON array is read as an array (its refusals by position); any other body as lines.
          const isArray = (() => {
            try {
              return Array.isArray(JSON.parse(lines.join('\n')));
            } catch {
              return false;
            }
          })();
          for (const x of r.data.rejected ?? []) {
            if (!isArray) expect(lines[x.index - 1]!.trim()).not.toBe('');
            expect(x.reason.length).toBeGreaterThan(0);
          }
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  }, 120_000);

  it('after all of it, a valid delivery still lands in the context index', async () => {
    const at = T + (minute + 10) * 60_000;
    const late = { ...deploy, id: 4242, createdAt: new Date(at).toISOString() };
    const body = JSON.stringify(githubDeployment(late));
    const r = await http.post('/v1/hooks/github', body, {
      headers: { 'content-type': 'application/json', 'x-github-event': 'deployment', 'x-hub-signature-256': signGitHubPayload(SECRET, body) },
      transformRequest: (d) => d,
    });
    expect(r.data).toMatchObject({ accepted: 1, late: 0 });
    await http.post(
      '/v1/ingest',
      JSON.stringify({ type: 'sample', ts: at + 10 * 60_000, signal: 'latency', metric: 'p99_ms', stack: 'a', service: 's', value: 1 }),
    );
    expect(service.runtime.decision.snapshot().context.events.some((e) => e.id === 'github-acme/checkout-4242')).toBe(true);
  });
});

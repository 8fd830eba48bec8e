/**
 * Health checks against real parts on loopback: an HTTP server, open and closed TCP ports, a TLS
 * server with a certificate made by openssl at test time. The schedule runs on a virtual clock
 * (no waiting for intervals); the I/O and its durations are real.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { HealthProber, offsetOf } from '../src/adapters/health-checks/prober.js';
import { healthChecksConfigSchema } from '../src/adapters/health-checks/config.js';
import { type ConfigError, parseConfig } from '../src/config/load.js';
import type { Sample } from '../src/domain/types.js';
import { HarbingerService } from '../src/app/service.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { freePort } from './support/ports.js';
import { waitFor } from './support/process.js';
import { capturedLogger, startProbeTarget, type ProbeTarget } from './support/probe-target.js';
import { VirtualClock } from './support/virtual-clock.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
let target: ProbeTarget;
beforeAll(async () => {
  target = await startProbeTarget();
});
afterAll(() => target.close());

/** Runs `probes` for `seconds` of virtual time; returns the samples by metric and the log lines. */
async function probe(probes: Record<string, unknown>[], seconds = 60, extra: Record<string, unknown> = {}, settle?: (p: HealthProber) => Promise<void>) {
  const clock = new VirtualClock(T0);
  const { log, lines } = capturedLogger();
  const samples: Sample[] = [];
  const cfg = healthChecksConfigSchema.parse({ ...extra, probes: probes.map((p) => ({ stack: 'east', service: 'shop', intervalSeconds: 60, ...p })) });
  const prober = new HealthProber(cfg, (s) => samples.push(...s), log, { now: clock.now, timers: clock });
  prober.start();
  await clock.advanceTo(T0 + seconds * 1000, () => (settle ?? ((p) => p.idle()))(prober));
  await prober.stop();
  const by = (metric: string): number[] => samples.filter((s) => s.metric === metric).map((s) => s.value);
  return { samples, by, lines, clock };
}

describe('health checks against loopback servers', () => {
  it('http: status, body text, JSON value and latency', async () => {
    const { by, lines } = await probe([
      { name: 'ok', kind: 'http', url: `${target.url}/ok`, bodyContains: '"up"', json: { path: 'db.replicas.0.lag', equals: 0 } },
      { name: 'slow', kind: 'http', url: `${target.url}/slow` },
      { name: 'down', kind: 'http', url: `${target.url}/fail` },
      { name: 'wrong_body', kind: 'http', url: `${target.url}/ok`, bodyContains: 'maintenance' },
      { name: 'wrong_json', kind: 'http', url: `${target.url}/ok`, json: { path: 'db.ok', equals: false } },
      { name: 'accepts_503', kind: 'http', url: `${target.url}/fail`, expectStatus: [503] },
    ]);
    expect(by('probe_ok_failed_ratio')).toEqual([0]);
    expect(by('probe_slow_failed_ratio')).toEqual([0]);
    expect(by('probe_slow_duration_ms')[0]).toBeGreaterThanOrEqual(140);
    expect(by('probe_ok_duration_ms')[0]).toBeLessThan(by('probe_slow_duration_ms')[0]!);
    expect(by('probe_down_failed_ratio')).toEqual([1]);
    expect(by('probe_down_duration_ms')).toEqual([]); // a failure's duration says nothing about latency: a gap
    expect(by('probe_wrong_body_failed_ratio')).toEqual([1]);
    expect(by('probe_wrong_json_failed_ratio')).toEqual([1]);
    expect(by('probe_accepts_503_failed_ratio')).toEqual([0]);
    const reasons = lines.map((l) => JSON.parse(l) as { msg: string; probe?: string; reason?: string }).filter((l) => l.msg === 'health check failing');
    expect(Object.fromEntries(reasons.map((r) => [r.probe, r.reason]))).toEqual({
      'down@east/shop': 'HTTP 503',
      'wrong_body@east/shop': 'body does not contain "maintenance"',
      'wrong_json@east/shop': 'db.ok is true, expected false',
    });
  });

  it('http steps: a later step sends what an earlier response gave; the failing step is named', async () => {
    const steps = (login: string) => [
      { method: 'POST', url: `${target.url}/${login}`, capture: { token: 'session.token' } },
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the probe's own placeholder, filled from step 1's capture
      { url: `${target.url}/orders`, headers: { authorization: 'Bearer ${token}' }, json: { path: 'items.0.id' } },
    ];
    const { by, lines } = await probe([
      { name: 'checkout_api', kind: 'http', layer: 'api', steps: steps('login') },
      { name: 'stale_session', kind: 'http', layer: 'api', steps: steps('login-wrong') },
    ]);
    expect(by('probe_checkout_api_failed_ratio')).toEqual([0]);
    expect(by('probe_stale_session_failed_ratio')).toEqual([1]);
    expect(lines.join('\n')).toContain('step 2: HTTP 401');
  });

  it('tcp: an open port passes, a closed one fails', async () => {
    const closed = await freePort();
    const { by } = await probe([
      { name: 'open', kind: 'tcp', host: '127.0.0.1', port: target.port },
      { name: 'closed', kind: 'tcp', host: '127.0.0.1', port: closed },
    ]);
    expect(by('probe_open_failed_ratio')).toEqual([0]);
    expect(by('probe_open_duration_ms')).toHaveLength(1);
    expect(by('probe_closed_failed_ratio')).toEqual([1]);
  });

  it('a probe that never answers is a failed sample at its timeout, at most maxConcurrent run, the loop goes on', async () => {
    const hang = Array.from({ length: 5 }, (_, i) => ({ name: `hang${i}`, kind: 'http', url: `${target.url}/hang`, timeoutSeconds: 4, intervalSeconds: 10 }));
    // Hung runs end only when virtual time reaches their timeout: settle on a short real pause, not on idle.
    const pause = (p: HealthProber) => Promise.race([p.idle(), new Promise<void>((r) => setTimeout(r, 15))]);
    const { samples } = await probe(hang, 40, { maxConcurrent: 2 }, pause);
    const runs = samples.filter((s) => s.signal === 'reliability');
    expect(runs.every((s) => s.value === 1)).toBe(true);
    expect(samples.filter((s) => s.signal === 'latency')).toEqual([]);
    // Each run lasts exactly its timeout, [ts, ts + 4 s): never more than two at once.
    const overlap = Math.max(...runs.map((r) => runs.filter((o) => o.ts <= r.ts && r.ts < o.ts + 4000).length));
    expect(overlap).toBe(2);
    // Five probes of 4 s every 10 s need 20 s of a slot per interval, and two slots have 20: nobody starves.
    for (let i = 0; i < 5; i++) expect(runs.filter((s) => s.metric === `probe_hang${i}_failed_ratio`).length).toBeGreaterThanOrEqual(3);
    expect(target.hanging.max).toBeGreaterThanOrEqual(2);
  });

  it('spreads probes over their interval, each at the same offset every time', () => {
    const interval = 60_000;
    const offsets = Array.from({ length: 300 }, (_, i) => offsetOf(`probe${i}@stack${i % 3}/shop`, interval));
    expect(offsets.every((o) => o >= 0 && o < interval)).toBe(true);
    const tenths = new Array<number>(10).fill(0);
    for (const o of offsets) tenths[Math.floor(o / (interval / 10))]!++;
    expect(Math.min(...tenths)).toBeGreaterThan(10); // 30 expected in each tenth
    expect(offsetOf('probe7@stack1/shop', interval)).toBe(offsets[7]);
  });

  it('samples are stamped with the slot the probe ran in: its offset within each interval', async () => {
    const { samples } = await probe([{ name: 'ok', kind: 'http', url: `${target.url}/ok` }], 180);
    const offset = offsetOf('ok@east/shop', 60_000);
    expect(samples.filter((s) => s.signal === 'reliability').map((s) => s.ts - T0)).toEqual([offset, offset + 60_000, offset + 120_000]);
    expect(samples[0]).toMatchObject({ stack: 'east', service: 'shop', signal: 'reliability' });
  });
});

describe('in serve', () => {
  it('starts the prober when healthChecks is set, its samples counted as source health-check, and stops it', async () => {
    const config = parseConfig({
      server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-hc-')) },
      healthChecks: {
        probes: [{ name: 'ok', kind: 'http', url: `${target.url}/ok`, stack: 'east', service: 'shop', intervalSeconds: 0.2, timeoutSeconds: 0.2 }],
      },
    });
    const service = new HarbingerService({ config, log: createLogger('silent'), apiToken: undefined });
    await service.start();
    try {
      const received = async () => (await service.metrics.samplesReceived.get()).values.find((v) => v.labels['source'] === 'health-check')?.value ?? 0;
      // Two samples a run (failed ratio, duration): at least two runs.
      await waitFor(async () => (await received()) >= 4, 5000, { description: 'health-check samples ingested' });
    } finally {
      await service.stop();
    }
  });
});

describe('tls', () => {
  let openssl = true;
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch {
    openssl = false;
    process.stderr.write('[skipped] tls health checks: no openssl to make a test certificate (apt-get install openssl)\n');
  }
  let server: Server;
  let port = 0;
  let caFile = '';
  beforeAll(async () => {
    if (!openssl) return;
    const dir = mkdtempSync(join(tmpdir(), 'hb-tls-'));
    caFile = join(dir, 'cert.pem');
    // Self-signed for localhost, valid two days: trusted through caFile, and "expiring" for minCertDays 7.
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        caFile,
        '-days',
        '2',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(caFile) }, (_, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => (openssl ? new Promise<void>((resolve) => server.close(() => resolve())) : undefined));

  it.skipIf(!openssl)('passes a trusted handshake and fails an untrusted certificate', async () => {
    const base = { kind: 'tls', host: '127.0.0.1', servername: 'localhost' };
    const clock = await probe([
      { ...base, name: 'trusted', port, caFile },
      { ...base, name: 'untrusted', port },
    ]);
    expect(clock.by('probe_trusted_failed_ratio')).toEqual([0]);
    expect(clock.by('probe_untrusted_failed_ratio')).toEqual([1]);
    expect(clock.lines.join('\n')).toMatch(/untrusted@east\/shop.*self[- ]signed/);
  });

  it.skipIf(!openssl)('fails a certificate that expires within minCertDays (judged on the prober clock)', async () => {
    const { log, lines } = capturedLogger();
    const samples: Sample[] = [];
    const clock = new VirtualClock(Date.now());
    const cfg = healthChecksConfigSchema.parse({
      probes: [
        {
          name: 'expiring',
          kind: 'tls',
          host: '127.0.0.1',
          servername: 'localhost',
          port,
          caFile,
          minCertDays: 7,
          stack: 'east',
          service: 'shop',
          intervalSeconds: 60,
        },
      ],
    });
    const prober = new HealthProber(cfg, (s) => samples.push(...s), log, { now: clock.now, timers: clock });
    prober.start();
    await clock.advanceTo(clock.now() + 60_000, () => prober.idle());
    await prober.stop();
    expect(samples.find((s) => s.metric === 'probe_expiring_failed_ratio')?.value).toBe(1);
    expect(lines.join('\n')).toMatch(/certificate expires in [12]\.\d days \(minCertDays 7\)/);
  });
});

describe('healthChecks configuration', () => {
  const problems = (healthChecks: unknown): string[] => {
    try {
      parseConfig({ healthChecks });
      return [];
    } catch (e) {
      return (e as ConfigError).problems;
    }
  };
  const at = { stack: 'east', service: 'shop' };

  it.each([
    ['no url nor steps', { name: 'a', kind: 'http', ...at }, 'healthChecks.probes.0.url: give either url (one request) or steps'],
    [
      'a timeout longer than the interval',
      { name: 'a', kind: 'tcp', host: 'db', port: 5432, intervalSeconds: 5, timeoutSeconds: 10, ...at },
      'healthChecks.probes.0.timeoutSeconds: must not exceed intervalSeconds',
    ],
    [
      'a name that cannot be in a metric',
      { name: 'Orders-Index', kind: 'tcp', host: 'db', port: 5432, ...at },
      'healthChecks.probes.0.name: lower-case letters',
    ],
    [
      'both a connection and its env variable',
      {
        name: 'a',
        kind: 'integrity',
        left: { sql: 'select 1', connection: 'postgres://x', connectionEnv: 'PG_URL' },
        right: { http: 'http://i/c', path: 'count' },
        ...at,
      },
      'healthChecks.probes.0.left',
    ],
    ['an unknown kind field', { name: 'a', kind: 'tcp', host: 'db', port: 5432, url: 'http://x', ...at }, "healthChecks.probes.0: unknown key 'url'"],
    [
      'an integrity layer on an HTTP check',
      { name: 'a', kind: 'http', url: 'http://x/', layer: 'integrity', ...at },
      'healthChecks.probes.0.layer: integrity is the layer of integrity probes',
    ],
  ])('refuses %s, naming the field', (_, p, message) => {
    expect(problems({ probes: [p] }).join('\n')).toContain(message);
  });

  it('accepts the README example', () => {
    const readme = readFileSync('README.md', 'utf8');
    const block = /### Layered health checks[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block).toBeDefined();
    expect(() => parseConfig(parseYaml(block!))).not.toThrow();
  });
});

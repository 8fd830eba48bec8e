/**
 * `harbinger backfill` against a real Prometheus 2.42 on loopback, holding 2.5 days of history
 * written into its TSDB beforehand with `promtool tsdb create-blocks-from openmetrics`.
 */
import { CheckpointFile } from '../src/adapters/state/checkpoint-file.js';
import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrometheus, trackTempDir, type PrometheusHandle } from './support/index.js';
import { missing } from './support/requires.js';
import { backfill, type BackfillSource } from '../src/app/backfill.js';
import { EmbeddedRuntime } from '../src/app/runtime/embedded-runtime.js';
import { HarbingerService } from '../src/app/service.js';
import { parseConfig, withServeDefaults, type HarbingerConfig } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import type { Sample } from '../src/domain/types.js';
import type { DecisionEvent } from '../src/domain/decision.js';

const CLI = 'dist/src/cli/main.js';
const STEP = 60;
const MIN = 60_000;
const DAY = 86_400_000;
/** The history ends 4 h ago (the live part of the test runs after it, still in the past). */
const UNTIL = Math.floor((Date.now() - 4 * 3_600_000) / (STEP * 1000)) * STEP * 1000;
const FROM = UNTIL - 2.5 * DAY;
const STACKS = ['east', 'west'] as const;

/** p99 latency of one stack at `t`: a daily season, a little deterministic noise. */
function p99(stack: string, t: number): number {
  const k = stack === 'east' ? 1 : 2;
  const season = 1 + 0.25 * Math.sin((2 * Math.PI * t) / DAY);
  const noise = 1 + 0.04 * Math.sin(t / 97_000 + k) * Math.cos(t / 311_000 + 3 * k);
  return 200 * season * noise;
}

const log = createLogger('silent');
const cleanups: (() => Promise<void>)[] = [];
let prom: PrometheusHandle;

const promSection = () => ({ url: prom.url, stepSeconds: STEP, queries: [{ query: 'http_p99_ms', signal: 'latency', metric: 'http_p99_ms' }] });

function config(dataDir: string, extra: Record<string, unknown> = {}): HarbingerConfig {
  return parseConfig(withServeDefaults({ server: { dataDir }, prometheus: promSection(), ...extra }));
}

/** query_range requests Prometheus has answered, from its own /metrics. */
async function rangeRequests(): Promise<number> {
  const text = await (await fetch(`${prom.url}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(/^prometheus_http_requests_total\{code="\d+",handler="\/api\/v1\/query_range"\} (\d+)/gm)) n += Number(m[1]);
  return n;
}

const fresh = (): string => mkdtempSync(join(tmpdir(), 'hb-backfill-'));
const source = (chunkMs = 6 * 3_600_000): BackfillSource => ({ kind: 'prometheus', from: FROM, until: UNTIL, chunkMs });

/**
 * Live data after the history: `normalMin` minutes as before, then west's p99 steps up 2.5x.
 * Returns the minutes from the step to the first incident and to the first recommendation naming west.
 */
function live(
  runtime: EmbeddedRuntime,
  events: DecisionEvent[],
  normalMin: number,
  afterMin: number,
  factor = 2.5,
): { incident?: number; recommendation?: number } {
  const stepAt = UNTIL + normalMin * MIN;
  for (let t = UNTIL; t < stepAt + afterMin * MIN; t += STEP * 1000) {
    const samples: Sample[] = STACKS.map((stack) => ({
      ts: t,
      signal: 'latency',
      metric: 'http_p99_ms',
      stack,
      service: 'checkout',
      value: p99(stack, t) * (stack === 'west' && t >= stepAt ? factor : 1),
    }));
    runtime.ingest(samples, []);
  }
  const minutes = (e: DecisionEvent | undefined): number | undefined => (e === undefined ? undefined : (e.ts - stepAt) / MIN);
  return {
    incident: minutes(events.find((e) => e.type === 'incident' && e.incident.stack === 'west' && e.ts >= stepAt)),
    recommendation: minutes(events.find((e) => e.type === 'recommendation' && e.stack === 'west' && e.ts >= stepAt)),
  };
}

function runtimeAt(dataDir: string): { runtime: EmbeddedRuntime; events: DecisionEvent[] } {
  const events: DecisionEvent[] = [];
  const runtime = new EmbeddedRuntime(config(dataDir), log, { onDecision: (e) => events.push(e), onRejected: () => undefined }, () => UNTIL);
  runtime.recover();
  cleanups.push(async () => runtime.close());
  return { runtime, events };
}

function harbinger(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'backfill', ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, LOG_LEVEL: 'silent' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * A recording proxy on loopback in front of Prometheus: counts query_range requests, can slow each
 * one down (so a child process can be stopped mid-backfill) or answer 503 (Prometheus down).
 */
async function startProxy(): Promise<{
  url: string;
  ranges: number;
  delayMs: number;
  failing: boolean;
  onRange?: (n: number) => void;
  close(): Promise<void>;
}> {
  const state = {
    url: '',
    ranges: 0,
    delayMs: 0,
    failing: false,
    onRange: undefined as ((n: number) => void) | undefined,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.url?.startsWith('/api/v1/query_range') === true) {
        state.ranges++;
        state.onRange?.(state.ranges);
        if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
      }
      if (state.failing) {
        res.writeHead(503).end('down');
        return;
      }
      const upstream = await fetch(`${prom.url}${req.url ?? '/'}`);
      res
        .writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' })
        .end(Buffer.from(await upstream.arrayBuffer()));
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/** The CLI as a child process; `during` may signal it while it runs. */
function harbingerChild(
  args: string[],
  during: (child: ReturnType<typeof spawn>) => void = () => undefined,
): Promise<{ status: number | null; signal: string | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, 'backfill', ...args], { env: { ...process.env, LOG_LEVEL: 'silent' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  during(child);
  return new Promise((resolve) => child.on('close', (status, signal) => resolve({ status, signal, stdout, stderr })));
}

/** The metric groups of a checkpoint (the baselines), without its head. */
const groups = (dir: string): string[] => checkpointLines(dir).slice(1);

/** A checkpoint's lines, head first, whichever form it was written in. */
const checkpointLines = (dir: string): string[] => [...new CheckpointFile(join(dir, 'state.json')).lines()];

describe.skipIf(missing('prometheus', 'promtool'))('harbinger backfill from a real Prometheus', () => {
  beforeAll(async () => {
    // 2.5 days of one-minute history for two stacks, as TSDB blocks Prometheus opens at start.
    const dir = mkdtempSync(join(tmpdir(), 'hb-backfill-tsdb-'));
    cleanups.push(trackTempDir(dir));
    const lines = ['# HELP http_p99_ms p99 latency', '# TYPE http_p99_ms gauge'];
    for (let t = FROM; t <= UNTIL; t += STEP * 1000)
      for (const stack of STACKS) lines.push(`http_p99_ms{stack="${stack}",service="checkout"} ${p99(stack, t).toFixed(3)} ${t / 1000}`);
    lines.push('# EOF');
    writeFileSync(join(dir, 'history.om'), `${lines.join('\n')}\n`);
    const made = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'history.om'), join(dir, 'data')], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`promtool: ${made.stderr}`);
    prom = await startPrometheus({ extraArgs: [`--storage.tsdb.path=${join(dir, 'data')}`] });
    cleanups.push(() => prom.stop());
  }, 120_000);

  afterAll(async () => {
    for (const stop of cleanups.splice(0).reverse()) await stop().catch(() => {});
  });

  it('learns 2.5 days in chunks into the checkpoint serve restores, and then a step on one stack is caught much sooner than from a cold start', async () => {
    const dir = fresh();
    const before = await rangeRequests();
    const chunks: number[] = [];
    const result = await backfill({ config: config(dir), source: source(), log, onChunk: (done) => chunks.push(done) });
    expect(result.status).toBe('done');
    // 60 h in 6 h chunks: 10 chunks, one query_range each (one query).
    expect(result.totalChunks).toBe(10);
    expect(chunks).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect((await rangeRequests()) - before).toBe(10);
    expect(result.samples).toBeGreaterThanOrEqual(2 * 3600);
    expect(result.series).toBe(2);
    expect(JSON.parse(readFileSync(join(dir, 'backfill.json'), 'utf8'))).toMatchObject({ complete: true, doneUntil: UNTIL });

    // Restored as serve restores: the history is in the baselines, no decision was kept.
    const warm = runtimeAt(dir);
    expect(warm.runtime.restoredFrom).toContain('checkpoint');
    for (const s of warm.runtime.series()) expect(s.baseline.points).toBeGreaterThan(1000);
    expect(warm.runtime.decision.snapshot()).toMatchObject({ open: [], history: [], recommendations: [] });
    const cold = runtimeAt(fresh());
    // The case: p99 200 -> 500 ms on one stack, 5 minutes after going live.
    const afterWarm = live(warm.runtime, warm.events, 5, 180);
    const afterCold = live(cold.runtime, cold.events, 5, 180);
    process.stderr.write(
      `[backfill] west p99 x2.5 after 5 min of live data: warm (2.5 d backfilled) incident ${afterWarm.incident ?? 'none'} min, recommendation ${
        afterWarm.recommendation ?? 'none'
      } min; cold start incident ${afterCold.incident ?? 'none'} min, recommendation ${afterCold.recommendation ?? 'none'} min (of 180)\n`,
    );
    expect(afterWarm.incident).toBeDefined();
    expect(afterWarm.incident!).toBeLessThanOrEqual(5);
    expect(afterWarm.recommendation!).toBeLessThanOrEqual(5);
    // Nothing was opened about east, nor about the past.
    expect(warm.events.filter((e) => e.type === 'incident' && e.incident.stack === 'east')).toEqual([]);
    // Cold, 5 minutes of history are all it has: the step becomes its baseline (measured: never in 180 min).
    expect(afterCold.incident === undefined || afterCold.incident > afterWarm.incident! + 10).toBe(true);
  }, 120_000);

  it('resumes after an interruption: the rerun fetches only the chunks left and ends with the same state as an uninterrupted run', async () => {
    const whole = fresh();
    await backfill({ config: config(whole), source: source(), log });

    const dir = fresh();
    const abort = new AbortController();
    let before = await rangeRequests();
    const first = await backfill({
      config: config(dir),
      source: source(),
      log,
      signal: abort.signal,
      onChunk: (done) => {
        if (done === 4) abort.abort();
      },
    });
    expect(first).toMatchObject({ status: 'interrupted', chunks: 4, totalChunks: 10 });
    expect((await rangeRequests()) - before).toBe(4);
    expect(JSON.parse(readFileSync(join(dir, 'backfill.json'), 'utf8'))).toMatchObject({ complete: false, doneUntil: FROM + 4 * 6 * 3_600_000 });

    before = await rangeRequests();
    const second = await backfill({ config: config(dir), source: source(), log });
    expect(second).toMatchObject({ status: 'done', resumedChunks: 4, chunks: 6 });
    expect((await rangeRequests()) - before).toBe(6);
    // The same checkpoint, byte for byte, as the run that was never interrupted.
    // Every metric group (the baselines) byte for byte; the head too, but for the merge stage's
    // diagnostic outOfOrder counter (a restored merge counts a chunk's first samples differently).
    const [headA, ...groupsA] = checkpointLines(dir);
    const [headB, ...groupsB] = checkpointLines(whole);
    expect(groupsA.length).toBeGreaterThan(0);
    expect(groupsA).toEqual(groupsB);
    const noStats = (h: string | undefined) => h!.replace(/"outOfOrder":\d+/, '');
    expect(noStats(headA)).toBe(noStats(headB));

    // Once done, a rerun has nothing to fetch.
    before = await rangeRequests();
    expect((await backfill({ config: config(dir), source: source(), log })).status).toBe('already-done');
    expect((await rangeRequests()) - before).toBe(0);
  }, 120_000);

  it('a killed child (SIGKILL mid-chunk), Ctrl-C and a Prometheus outage: each rerun fetches only the chunks left, and the state ends as one uninterrupted run', async () => {
    const proxy = await startProxy();
    cleanups.push(() => proxy.close());
    const hourly = fresh();
    await backfill({ config: config(hourly), source: source(3_600_000), log });
    const dir = fresh();
    const cfgFile = join(dir, 'harbinger.yaml');
    writeFileSync(
      cfgFile,
      JSON.stringify({
        prometheus: {
          url: proxy.url,
          stepSeconds: STEP,
          retries: 1,
          backoffMillis: 50,
          queries: [{ query: 'http_p99_ms', signal: 'latency', metric: 'http_p99_ms' }],
        },
      }),
    );
    const args = [
      '--config',
      cfgFile,
      '--since',
      new Date(FROM).toISOString(),
      '--until',
      new Date(UNTIL).toISOString(),
      '--chunk',
      '1h',
      '--state',
      join(dir, 'state'),
    ];
    const progress = (): { doneUntil: number; complete: boolean } => JSON.parse(readFileSync(join(dir, 'state', 'backfill.json'), 'utf8'));
    const chunksDone = (): number => Math.round((progress().doneUntil - FROM) / 3_600_000);

    // 1. Killed (SIGKILL: no handler runs) while its 16th request is in flight: 15 chunks were checkpointed.
    proxy.delayMs = 100;
    const killed = await harbingerChild(args, (child) => {
      proxy.onRange = (n) => {
        if (n === 16) child.kill('SIGKILL');
      };
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(chunksDone()).toBe(15);
    const afterKill = proxy.ranges;

    // 2. Resumed, then Ctrl-C while the 31st chunk is fetched: that chunk is finished and checkpointed, then it stops.
    const interrupted = await harbingerChild(args, (child) => {
      proxy.onRange = (n) => {
        if (n === afterKill + 16) child.kill('SIGINT');
      };
    });
    expect(interrupted.stderr).toContain('interrupted after chunk 31 of 60: run the same command again to resume');
    expect(interrupted.stdout).toContain('resumed after 15 chunks');
    expect(interrupted.status).toBe(1);
    expect(proxy.ranges - afterKill).toBe(16);
    expect(chunksDone()).toBe(31);

    // 3. Prometheus goes away at the 41st chunk: exit 1, nothing of that chunk kept.
    proxy.delayMs = 0;
    const beforeOutage = proxy.ranges;
    const outage = await harbingerChild(args, () => {
      proxy.onRange = (n) => {
        if (n === beforeOutage + 10) proxy.failing = true;
      };
    });
    expect(outage.status).toBe(1);
    expect(outage.stderr).toMatch(
      /query_range failed after its retries for the chunk from .*the 40 chunks before it are checkpointed: run the same command again to resume/,
    );
    expect(chunksDone()).toBe(40);

    // 4. Back up: the last 20 chunks, 20 requests, and the same baselines as the run never interrupted.
    proxy.failing = false;
    proxy.onRange = undefined;
    const beforeLast = proxy.ranges;
    const last = await harbingerChild(args);
    expect(last.status).toBe(0);
    expect(last.stdout).toContain('in 20 chunks (resumed after 40 chunks done earlier)');
    expect(proxy.ranges - beforeLast).toBe(20);
    expect(progress().complete).toBe(true);
    expect(groups(join(dir, 'state'))).toEqual(groups(hourly));
  }, 180_000);

  it('refuses to rewind live state unless --force, which moves it aside', async () => {
    const dir = fresh();
    await backfill({ config: config(dir), source: source(), log });
    // serve starts there: it restores the backfill's checkpoint (and so does not warm-start again).
    const service = new HarbingerService({
      config: config(dir, { server: { dataDir: dir, port: 0 }, prometheus: { ...promSection(), warmStartHours: 1 } }),
      log,
      apiToken: undefined,
    });
    await service.start();
    expect(service.runtime.restoredFrom).toMatch(/^checkpoint of /);
    // Ready once its first poll of Prometheus has come back (a moment after start() on a loaded machine).
    const deadline = Date.now() + 15_000;
    while (!service.ready().ready && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(service.ready().reason).toContain('state restored from checkpoint');
    for (const s of service.runtime.series()) expect(s.baseline.points).toBeGreaterThan(1000);
    expect((await service.metrics.samplesReceived.get()).values.find((v) => v.labels['source'] === 'prometheus_history')).toBeUndefined();
    await service.stop();
    // It checkpointed at its stop: live state, which a backfill would rewind.
    await expect(backfill({ config: config(dir), source: source(), log })).rejects.toThrow(/holds live state.*--force/);
    // So does a serve that ingested (its write-ahead log) and died before checkpointing.
    const other = fresh();
    await backfill({ config: config(other), source: source(), log });
    const served = runtimeAt(other);
    live(served.runtime, served.events, 10, 0);
    served.runtime.close();
    await expect(backfill({ config: config(other), source: source(), log })).rejects.toThrow(/holds live state.*--force/);
    const forced = await backfill({ config: config(dir), source: source(), log, force: true });
    expect(forced).toMatchObject({ status: 'done', chunks: 10, resumedChunks: 0 });
  }, 120_000);

  it('the CLI: --help, progress, bad arguments as one clean line, and --jsonl', async () => {
    const help = harbinger(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('--since');
    const dir = fresh();
    const cfgFile = join(dir, 'harbinger.yaml');
    writeFileSync(
      cfgFile,
      JSON.stringify({
        prometheus: { url: 'http://127.0.0.1:9', stepSeconds: STEP, queries: [{ query: 'http_p99_ms', signal: 'latency', metric: 'http_p99_ms' }] },
      }),
    );
    const state = join(dir, 'state');
    const run = harbinger([
      '--config',
      cfgFile,
      '--prometheus',
      prom.url,
      '--since',
      new Date(FROM).toISOString(),
      '--until',
      new Date(UNTIL).toISOString(),
      '--chunk',
      '12h',
      '--state',
      state,
      '--progress',
    ]);
    expect(run.stderr).toContain('backfill [');
    expect(run.stdout).toMatch(/backfill: [\d,]+ samples of .* learned by 2 series in 5 chunks/);
    expect(run.status).toBe(0);
    expect(existsSync(join(state, 'state.json'))).toBe(true);
    const again = harbinger(['--config', cfgFile, '--prometheus', prom.url, '--since', '1d', '--chunk', '12h', '--state', state]);
    expect(again.stdout).toMatch(/backfill: [\d,]+ samples .* in 1 chunk \(resumed after 5 chunks done earlier\)/);
    // A relative --since on a finished backfill tops it up to now (from the original start).
    expect(again.status).toBe(0);

    const bad: [string[], RegExp][] = [
      [['--since', 'yesterday', '--config', cfgFile], /--since yesterday: not a duration/],
      [['--config', cfgFile], /missing --since/],
      [['--since', '2d', '--until', '3d', '--config', cfgFile], /is not before/],
      [['--since', '2d'], /no --config/],
      [['--since', '2d', '--config', join(dir, 'nope.yaml')], /nope.yaml: does not exist/],
      [['--since', '2d', '--config', cfgFile, '--prometheus', 'localhost:9090'], /not an http\(s\) URL/],
      [['--jsonl', join(dir, 'missing.jsonl')], /missing.jsonl: does not exist/],
      [['--jsonl', cfgFile, '--since', '1d'], /do not go together/],
      [['--since', '2d', '--config', cfgFile, '--state', state], /holds live state|backfill of something else|nothing to do/],
      [['--bogus'], /Unknown option/],
    ];
    for (const [args, message] of bad) {
      const r = harbinger(args);
      expect(r.stderr, args.join(' ')).not.toMatch(/\n\s+at /);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr + r.stdout, args.join(' ')).toMatch(message);
    }

    // --jsonl: the samples of a file, learned into the checkpoint; its incident is not kept.
    const jsonlState = join(dir, 'jsonl-state');
    const j = harbinger(['--jsonl', 'fixtures/scenarios/bad-deploy.jsonl', '--state', jsonlState]);
    expect(j.stderr).toBe('');
    expect(j.status).toBe(0);
    expect(j.stdout).toMatch(/backfill: [\d,]+ samples .* learned by \d+ series/);
    const restored = runtimeAt(jsonlState);
    expect([...restored.runtime.series()].length).toBeGreaterThan(0);
    expect(restored.runtime.decision.snapshot()).toMatchObject({ open: [], history: [], recommendations: [] });
  }, 180_000);
});

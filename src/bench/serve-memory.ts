/**
 * `npm run bench:serve`: what `harbinger serve` holds in memory and on disk for a platform's
 * series, measured on the real process. It starts `serve` with a capped old space (the goal of
 * issue 14: 20,000 series of eight days of 15-minute data inside 256 MB), feeds it over HTTP as a
 * Prometheus-fed sidecar would be fed, lets checkpoints run meanwhile (they stream, every 30 s
 * by default), and reads the process's own /metrics: resident set, V8 heap in use, array buffers
 * (the seasonal buckets live there), the last checkpoint's size, and the write-ahead log on disk.
 *
 *   npm run bench:serve -- [--series 20000] [--days 8] [--old-space-mb 256] [--json]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { positiveOption } from './bench-options.js';

const HELP = `Usage: npm run bench:serve -- [--series N] [--days D] [--old-space-mb MB] [--json]

Starts \`harbinger serve\` with --max-old-space-size=MB (default 256), feeds it N series (default 20000)
× D days (default 8) of 15-minute data over POST /v1/ingest, and prints the process's memory per
series (resident, V8 heap in use, array buffers), the checkpoint's size per series and the
write-ahead log's size on disk, read from its own /metrics. With --json, ends with one JSON line.
`;

const STEP_MS = 15 * 60_000;
/** Lines per POST: about 0.6 MB, under the default 1 MiB body limit. */
const LINES_PER_POST = 5_000;
/**
 * The four signals in turn, each under a name its default SLO gate recognises and at a level a
 * real one has (a 0.1 % error ratio, 180 ms p99, 40 % CPU, 300 orders a minute), with a daily curve.
 */
const KINDS = [
  { signal: 'reliability', metric: 'http_error_ratio', level: 0.001 },
  { signal: 'latency', metric: 'http_latency_p99_ms', level: 180 },
  { signal: 'capacity', metric: 'cpu_utilization', level: 40 },
  { signal: 'business', metric: 'orders_per_min', level: 300 },
] as const;

interface ProcessMemory {
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  checkpointBytes: number;
  series: number;
}

export interface ServeMemoryFigures {
  series: number;
  days: number;
  oldSpaceMb: number;
  samples: number;
  /** Samples/s over HTTP, client and server on the same machine. */
  samplesPerSec: number;
  /** Before any sample, and after the feed and one more checkpoint. */
  before: ProcessMemory;
  after: ProcessMemory;
  peakRssBytes: number;
  /** (after − before) / series. */
  rssBytesPerSeries: number;
  heapBytesPerSeries: number;
  arrayBufferBytesPerSeries: number;
  checkpointBytesPerSeries: number;
  /** wal.sqlite at the end: its high-water mark, set by the samples between two checkpoints. */
  walBytes: number;
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function call(port: number, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, method, path, agent, headers: body === undefined ? {} : { 'content-type': 'application/x-ndjson' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** One sample value of an unlabelled (or any-labelled) metric in the exposition text; NaN when absent. */
function gauge(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m === null ? Number.NaN : Number(m[1]);
}

async function memoryOf(port: number): Promise<ProcessMemory> {
  const text = (await call(port, 'GET', '/metrics')).body;
  return {
    rssBytes: gauge(text, 'process_resident_memory_bytes'),
    heapUsedBytes: gauge(text, 'nodejs_heap_size_used_bytes'),
    externalBytes: gauge(text, 'nodejs_external_memory_bytes'),
    checkpointBytes: gauge(text, 'harbinger_checkpoint_bytes'),
    series: gauge(text, 'harbinger_series'),
  };
}

interface FedSeries {
  prefix: string;
  level: number;
}

/** The series: 50 services × 4 stacks × metrics (`routeN_` + a gated name), the four kinds in turn. */
function fedSeries(count: number): FedSeries[] {
  const stacks = 4;
  const services = 50;
  const perServiceStack = Math.ceil(count / (services * stacks));
  const out: FedSeries[] = [];
  for (let s = 0; s < services; s++)
    for (let k = 0; k < stacks; k++)
      for (let m = 0; m < perServiceStack && out.length < count; m++) {
        const kind = KINDS[m % KINDS.length]!;
        out.push({ prefix: `"signal":"${kind.signal}","metric":"route${m}_${kind.metric}","stack":"stack-${k}","service":"svc-${s}"`, level: kind.level });
      }
  return out;
}

export async function benchServeMemory(series: number, days: number, oldSpaceMb: number, log: (line: string) => void): Promise<ServeMemoryFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'harbinger-serve-bench-'));
  // History is sent as fast as the machine takes it: event time follows the data, not the wall clock.
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ server: { wallClockWatermark: false, consoleFeed: false } }));
  const main = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [`--max-old-space-size=${oldSpaceMb}`, main, 'serve', '--port', '0', '--data-dir', dir, '--config', join(dir, 'config.json')],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let exit: string | undefined;
  let stderrTail = '';
  child.on('exit', (code, signal) => (exit = `code ${code}, signal ${signal}`));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderrTail = (stderrTail + d).slice(-4000)));
  try {
    const port = await listeningPort(child.stdout, () => exit);
    const before = await memoryOf(port);
    const fed = fedSeries(series);
    const points = days * 96;
    const first = Math.floor((Date.now() - points * STEP_MS) / STEP_MS) * STEP_MS;
    let samples = 0;
    let peakRss = before.rssBytes;
    const started = performance.now();
    for (let p = 0; p < points && exit === undefined; p++) {
      const ts = first + p * STEP_MS;
      const stamp = new Date(ts).toISOString();
      const dayPhase = (2 * Math.PI * (ts % 86_400_000)) / 86_400_000;
      for (let from = 0; from < fed.length && exit === undefined; from += LINES_PER_POST) {
        const lines: string[] = [];
        for (let i = from; i < Math.min(from + LINES_PER_POST, fed.length); i++) {
          // A daily curve with its own phase per series, and noise: the buckets learn real values.
          const f = fed[i]!;
          const value = f.level * (1 + 0.3 * Math.sin(dayPhase + i) + 0.05 * Math.random());
          lines.push(`{"type":"sample","ts":"${stamp}",${f.prefix},"value":${value.toPrecision(6)}}`);
        }
        const res = await call(port, 'POST', '/v1/ingest', lines.join('\n'));
        const answer = res.status === 200 ? (JSON.parse(res.body) as { accepted: number }) : undefined;
        if (answer?.accepted !== lines.length)
          throw new Error(`POST /v1/ingest did not take all ${lines.length} samples (${res.status}): ${res.body.slice(0, 300)}`);
        samples += lines.length;
      }
      if (p % 96 === 95) {
        const m = await memoryOf(port);
        peakRss = Math.max(peakRss, m.rssBytes);
        log(
          `  day ${(p + 1) / 96}: ${samples.toLocaleString('en-US')} samples, ${Math.round(samples / ((performance.now() - started) / 1000)).toLocaleString('en-US')}/s, RSS ${mib(m.rssBytes)}, heap in use ${mib(m.heapUsedBytes)}, array buffers ${mib(m.externalBytes)}`,
        );
      }
    }
    const samplesPerSec = samples / ((performance.now() - started) / 1000);
    if (exit !== undefined) throw new Error(`serve exited during the feed (${exit}):\n${stderrTail}`);
    // One more checkpoint after the last sample, so the checkpoint holds every series at its fullest.
    const fedAt = Date.now();
    while (exit === undefined && (statSync(join(dir, 'state.json'), { throwIfNoEntry: false })?.mtimeMs ?? 0) < fedAt) await sleep(500);
    // And a tick (every 5 s by default), which sets harbinger_series.
    await sleep(6_000);
    if (exit !== undefined) throw new Error(`serve exited after the feed (${exit}):\n${stderrTail}`);
    const after = await memoryOf(port);
    peakRss = Math.max(peakRss, after.rssBytes);
    const per = (a: number, b: number): number => (a - b) / series;
    return {
      series,
      days,
      oldSpaceMb,
      samples,
      samplesPerSec,
      before,
      after,
      peakRssBytes: peakRss,
      rssBytesPerSeries: per(after.rssBytes, before.rssBytes),
      heapBytesPerSeries: per(after.heapUsedBytes, before.heapUsedBytes),
      arrayBufferBytesPerSeries: per(after.externalBytes, before.externalBytes),
      checkpointBytesPerSeries: after.checkpointBytes / series,
      walBytes: statSync(join(dir, 'wal.sqlite'), { throwIfNoEntry: false })?.size ?? 0,
    };
  } finally {
    child.kill('SIGTERM');
    if (exit === undefined) await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The port `serve --port 0` picked, from its structured start-up log. */
function listeningPort(stdout: NodeJS.ReadableStream, exited: () => string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`serve did not log its port within 30 s:\n${text.slice(-2000)}`)), 30_000);
    stdout.setEncoding('utf8');
    let found = false;
    // Kept reading to the end (a full pipe would stall the child), but only the first match is kept.
    stdout.on('data', (d: string) => {
      if (found) return;
      text += d;
      const m = /"port":(\d+)/.exec(text);
      if (m !== null) {
        found = true;
        clearTimeout(timer);
        resolve(Number(m[1]));
      } else if (exited() !== undefined) reject(new Error(`serve exited before listening (${exited()})`));
    });
  });
}

function mib(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(0)} MiB`;
}

async function mainCli(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(HELP);
    return;
  }
  const series = positiveOption('--series', 20_000);
  const days = positiveOption('--days', 8);
  const oldSpaceMb = positiveOption('--old-space-mb', 256);
  console.log(
    `harbinger serve, old space capped at ${oldSpaceMb} MB: ${series.toLocaleString('en-US')} series × ${days} days of 15-minute data over POST /v1/ingest`,
  );
  const f = await benchServeMemory(series, days, oldSpaceMb, (l) => console.log(l));
  const b = (x: number): string => `${Math.round(x).toLocaleString('en-US')} B`;
  console.log(
    `held: ${f.samples.toLocaleString('en-US')} samples at ${Math.round(f.samplesPerSec).toLocaleString('en-US')}/s; RSS ${mib(f.before.rssBytes)} → ${mib(f.after.rssBytes)} (peak ${mib(f.peakRssBytes)})\n` +
      `per series: RSS ${b(f.rssBytesPerSeries)}, heap in use ${b(f.heapBytesPerSeries)}, array buffers ${b(f.arrayBufferBytesPerSeries)}; checkpoint ${b(f.checkpointBytesPerSeries)}; write-ahead log on disk ${mib(f.walBytes)}`,
  );
  if (process.argv.includes('--json')) console.log(JSON.stringify({ serveMemory: f }));
}

mainCli().catch((e: unknown) => {
  console.error((e as Error).message);
  process.exitCode = 1;
});

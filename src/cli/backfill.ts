import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, parseConfig, withServeDefaults, type HarbingerConfig } from '../config/load.js';
import { createLogger } from '../adapters/log/logger.js';
import { backfill, BackfillRefused, type BackfillResult, type BackfillSource } from '../app/backfill.js';
import { ProgressBar } from '../report/progress.js';
import { complain, EXIT, usageError, type Command } from './command.js';
import { unreadable, unwritableDir } from './paths.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** `14d`, `36h`, `90m`, `30s`, `2w` in milliseconds; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text.trim());
  if (m === null) return undefined;
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  return ms > 0 ? ms : undefined;
}

/** A point in time: a duration ago (`14d`), an ISO 8601 time, or epoch seconds. */
export function parseInstant(text: string, now: number): number | undefined {
  const ago = parseDuration(text);
  if (ago !== undefined) return now - ago;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const t = Date.parse(text);
  return Number.isFinite(t) ? t : undefined;
}

export const backfillCommand: Command = {
  name: 'backfill',
  summary: 'learn the baselines from history (Prometheus or JSONL) into the checkpoint serve starts from',
  usage: `Usage: harbinger backfill --config <file> --since <14d|36h|90m> [--until <t>] [--prometheus <url>] [--state <dir>]
       harbinger backfill --config <file> --jsonl <file> [--state <dir>]

Warms a new deployment: the baselines learn the history that already exists, and the state is
written to the checkpoint (<state dir>/state.json) that 'harbinger serve' restores at start, so
serve is not blind for its first day. The history goes through detection only, as serve's warm
start does: nothing it would have decided (incidents, recommendations, actions) is kept or sent.

From Prometheus: the config's prometheus.queries, at prometheus.stepSeconds, over query_range in
chunks (--chunk, at most 10,000 steps each: Prometheus answers at most 11,000 points per series).
After every chunk the state is checkpointed (fsynced, then renamed into place) and
<state dir>/backfill.json records the backfill. Interrupted (Ctrl-C, a crash, a lost connection),
the same command run again goes on after the last completed chunk; run again once done, it fetches
only what is newer than the last run's end (or nothing).

From JSONL: samples, one JSON object per line as 'replay' reads them ('.gz' too), in one pass;
context events and invalid lines are counted and skipped.

A state directory where serve has run (its checkpoint, or commands in its write-ahead log) is
refused: backfilling it would rewind live state. --force moves the files there aside
(state.json.replaced-<time>, ...) and starts over; so does a backfill of another source.

Exit status: 0 done (or nothing left to do); 1 failed, or interrupted (rerun to resume); 2 usage.

Options:
  --config <file>      serve's configuration: prometheus queries and step, detection settings,
                       server.dataDir (the state directory)
  --prometheus <url>   the Prometheus to read (default: the config's prometheus.url)
  --since <t>          start of the history: a duration ago (14d, 36h, 90m), an ISO time or epoch seconds
  --until <t>          end of the history (default: now), same forms
  --chunk <d>          history per query_range request (default 6h; at most 10,000 steps)
  --jsonl <file>       learn from the samples of a JSONL file instead of Prometheus
  --state <dir>        the state directory (default: the config's server.dataDir, else .harbinger)
  --force              replace live state or another backfill's (moved aside, not deleted)
  --progress           force the progress bar (default: only on a terminal)
  -h, --help           show this help`,
  options: {
    config: { type: 'string' },
    prometheus: { type: 'string' },
    since: { type: 'string' },
    until: { type: 'string' },
    chunk: { type: 'string' },
    jsonl: { type: 'string' },
    state: { type: 'string' },
    force: { type: 'boolean' },
    progress: { type: 'boolean' },
  },
  maxPositionals: 0,
  async run(values) {
    const now = Date.now();
    const str = (k: string): string | undefined => values[k] as string | undefined;
    const jsonl = str('jsonl');
    let source: BackfillSource;
    if (jsonl !== undefined) {
      for (const k of ['since', 'until', 'prometheus', 'chunk'])
        if (str(k) !== undefined) return usageError(this.name, `--jsonl and --${k} do not go together`);
      const problem = unreadable(jsonl, 'file');
      if (problem !== undefined) return complain(this.name, `--jsonl ${jsonl}: ${problem}`, EXIT.usage);
      source = { kind: 'jsonl', path: jsonl };
    } else {
      const since = str('since');
      if (since === undefined) return usageError(this.name, 'missing --since (e.g. --since 14d) or --jsonl <file>');
      const from = parseInstant(since, now);
      if (from === undefined) return usageError(this.name, `--since ${since}: not a duration (14d, 36h, 90m), an ISO time nor epoch seconds`);
      const untilText = str('until');
      const until = untilText === undefined ? now : parseInstant(untilText, now);
      if (until === undefined) return usageError(this.name, `--until ${untilText}: not a duration (14d, 36h, 90m), an ISO time nor epoch seconds`);
      if (until > now + 60_000) return usageError(this.name, `--until ${untilText}: in the future`);
      if (from >= until) return usageError(this.name, `--since ${since} is not before --until ${untilText ?? 'now'}`);
      const chunkText = str('chunk');
      const chunkMs = chunkText === undefined ? undefined : parseDuration(chunkText);
      if (chunkText !== undefined && chunkMs === undefined) return usageError(this.name, `--chunk ${chunkText}: not a duration (6h, 90m)`);
      const url = str('prometheus');
      if (url !== undefined && !/^https?:\/\/[^/]/.test(url)) return usageError(this.name, `--prometheus ${url}: not an http(s) URL`);
      source = { kind: 'prometheus', from, until, ...(chunkMs !== undefined ? { chunkMs } : {}) };
    }
    const config = load(values, source.kind === 'prometheus');
    if (typeof config === 'string') {
      process.stderr.write(`${config}\n`);
      return EXIT.usage;
    }
    const dir = config.server.dataDir;
    const unwrit = unwritableDir(dir);
    if (unwrit !== undefined) return complain(this.name, `state directory ${dir}: ${unwrit}`, EXIT.usage);

    // Ctrl-C stops after the chunk in flight (its checkpoint written); a second one stops at once
    // (the previous chunk's checkpoint is on disk: the rerun resumes from there).
    const abort = new AbortController();
    const onInt = (): void => {
      if (abort.signal.aborted) process.exit(EXIT.failed);
      process.stderr.write('\rbackfill: stopping after the chunk in flight (Ctrl-C again to stop now)\n');
      abort.abort();
    };
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onInt);
    const drawn = values['progress'] === true || process.stderr.isTTY === true;
    const bar = new ProgressBar('backfill', drawn);
    // Off a terminal (a Kubernetes Job, systemd), one plain line every 30 s instead of the bar.
    let lastLine = Date.now();
    let result: BackfillResult;
    try {
      result = await backfill({
        config,
        source,
        force: values['force'] === true,
        log: createLogger(process.env['LOG_LEVEL'] ?? 'warn'),
        signal: abort.signal,
        onChunk: (done, total, p) => {
          const detail =
            source.kind === 'prometheus'
              ? `chunk ${done}/${total} to ${Number.isFinite(p.doneUntil) ? new Date(p.doneUntil).toISOString().slice(0, 16) : '-'}Z, ${p.samples.toLocaleString('en-US')} samples`
              : `${p.samples.toLocaleString('en-US')} samples`;
          bar.update(done, total, detail);
          if (!drawn && Date.now() - lastLine >= 30_000) {
            lastLine = Date.now();
            process.stderr.write(`backfill: ${detail}\n`);
          }
        },
      });
    } catch (e) {
      bar.done();
      if (e instanceof BackfillRefused) return complain(this.name, e.message, EXIT.usage);
      throw e;
    } finally {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onInt);
    }
    bar.done();
    const span = `${new Date(result.from).toISOString()} to ${new Date(result.until).toISOString()}`;
    if (result.status === 'already-done') {
      process.stdout.write(`backfill: nothing to do: ${result.checkpoint} already holds ${span}\n`);
      return EXIT.ok;
    }
    const resumed =
      result.resumedChunks > 0
        ? ` (resumed after ${result.resumedChunks} chunks done earlier)`
        : source.kind === 'jsonl'
          ? ` (${result.invalid ?? 0} invalid lines and ${result.events ?? 0} context events skipped)`
          : '';
    process.stdout.write(
      `backfill: ${result.samples.toLocaleString('en-US')} samples of ${span} learned by ${result.series} series in ${result.chunks} chunk${result.chunks === 1 ? '' : 's'}${resumed}, ${result.seconds.toFixed(1)} s; checkpoint ${result.checkpoint}\n`,
    );
    if (result.status === 'failed')
      return complain(
        this.name,
        `query_range failed after its retries for the chunk from ${new Date(result.failedAt ?? 0).toISOString()} (see the log above); the ${result.resumedChunks + result.chunks} chunks before it are checkpointed: run the same command again to resume`,
        EXIT.failed,
      );
    if (result.status === 'interrupted')
      return complain(
        this.name,
        `interrupted after chunk ${result.resumedChunks + result.chunks} of ${result.totalChunks}: run the same command again to resume`,
        EXIT.failed,
      );
    return EXIT.ok;
  },
};

/** serve's configuration as serve reads it (its defaults), with --state and --prometheus applied; or what is wrong. */
function load(values: Record<string, unknown>, needsPrometheus: boolean): HarbingerConfig | string {
  const file = values['config'] as string | undefined;
  let raw: Record<string, unknown> = {};
  if (file !== undefined) {
    const problem = unreadable(file, 'file');
    if (problem !== undefined) return `harbinger backfill: --config ${file}: ${problem}`;
    try {
      raw = (parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown> | null) ?? {};
    } catch (e) {
      return `harbinger backfill: cannot read config ${file}: ${(e as Error).message}`;
    }
  }
  raw = withServeDefaults(raw);
  if (values['state'] !== undefined) raw = { ...raw, server: { ...((raw['server'] ?? {}) as Record<string, unknown>), dataDir: values['state'] } };
  const url = values['prometheus'] as string | undefined;
  if (needsPrometheus) {
    const prom = raw['prometheus'] as Record<string, unknown> | undefined;
    if (prom === undefined || prom['queries'] === undefined)
      return `harbinger backfill: ${file === undefined ? 'no --config' : `${file} has no prometheus.queries`}: the queries to backfill come from serve's config (prometheus: {url, stepSeconds, queries})`;
    if (url !== undefined) raw = { ...raw, prometheus: { ...prom, url } };
  }
  try {
    return parseConfig(raw, file ?? 'command line');
  } catch (e) {
    return e instanceof ConfigError ? e.message : `harbinger backfill: ${(e as Error).message}`;
  }
}

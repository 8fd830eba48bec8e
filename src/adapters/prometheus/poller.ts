import { backoffDelayMs, backoffPolicy, type BackoffPolicy } from '../delivery/backoff.js';
import axios, { type AxiosInstance } from 'axios';
import type { PrometheusConfig } from './config.js';
import type { Sample } from '../../domain/types.js';
import type { Logger } from '../log/logger.js';

interface VectorResult {
  metric: Record<string, string>;
  value: [number, string];
}

interface MatrixResult {
  metric: Record<string, string>;
  values: [number, string][];
}

/** Why one query failed, classified so only transient failures are retried. */
class QueryError extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
  ) {
    super(message);
  }
}

/**
 * Polls Prometheus with instant queries at a fixed step and turns each result series into a
 * sample. A series missing from a result is a gap, and stays a gap: nothing is interpolated, and
 * the stack's data completeness (hence confidence) drops.
 */
export class PrometheusPoller {
  private readonly http: AxiosInstance;
  private readonly backoff: BackoffPolicy;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  lastSuccess = 0;

  constructor(
    private readonly cfg: PrometheusConfig,
    private readonly emit: (samples: Sample[]) => void,
    private readonly log: Logger,
    private readonly onPoll: (seconds: number, failed: number) => void = () => {},
    /** The service's clock (tests move it; the instant a poll queries). */
    private readonly now: () => number = Date.now,
  ) {
    this.http = axios.create({ baseURL: cfg.url.replace(/\/$/, ''), timeout: cfg.timeoutSeconds * 1000, validateStatus: () => true });
    // The delivery stage's policy: doubling from backoffMillis, and never a wait past half a step
    // (a query still retrying when the next poll is due only delays that one). No jitter: one
    // poller, one Prometheus.
    this.backoff = backoffPolicy({ baseMs: cfg.backoffMillis, capMs: Math.max(cfg.backoffMillis, (cfg.stepSeconds * 1000) / 2), jitter: 0 });
  }

  start(): void {
    const tick = (): void => {
      if (this.running) return;
      this.running = true;
      this.pollOnce(this.now())
        .catch((e: Error) => this.log.error({ err: e.message }, 'prometheus poll failed'))
        .finally(() => {
          this.running = false;
        });
    };
    tick();
    this.timer = setInterval(tick, this.cfg.stepSeconds * 1000);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  /** One poll of every query at `now` (epoch ms). Returns the samples it produced. */
  async pollOnce(now: number): Promise<Sample[]> {
    const started = performance.now();
    const time = Math.floor(now / 1000 / this.cfg.stepSeconds) * this.cfg.stepSeconds;
    const out: Sample[] = [];
    const failed = await this.eachQuery(
      (q) => this.query(q.query, time),
      'prometheus query failed after retries: a gap, not a guess',
      (q, r: VectorResult) => {
        const at = seriesOf(q, r.metric);
        const value = Number(r.value[1]);
        if (at !== undefined && Number.isFinite(value)) out.push({ ts: Math.round(r.value[0] * 1000), signal: q.signal, metric: q.metric, ...at, value });
      },
    );
    if (failed < this.cfg.queries.length) this.lastSuccess = now;
    this.onPoll((performance.now() - started) / 1000, failed);
    if (out.length > 0) this.emit(out);
    return out;
  }

  /**
   * The configured queries over [from, to) at the poll step, as samples in time order, window by
   * window (Prometheus answers at most 11,000 points per series per range query): `onWindow` gets
   * each window's samples, so a week of history never sits in memory at once. Warm start uses it.
   * A query that fails after its retries leaves that window a gap, as a failed poll does.
   */
  async history(from: number, to: number, onWindow: (samples: Sample[]) => void): Promise<{ samples: number; failedQueries: number }> {
    const step = this.cfg.stepSeconds;
    const span = 10_000 * step * 1000;
    let samples = 0;
    let failedQueries = 0;
    for (let start = from; start < to; start += span) {
      const end = Math.min(to, start + span);
      const out: Sample[] = [];
      failedQueries += await this.eachQuery(
        (q) => this.queryRange(q.query, start / 1000, (end - 1) / 1000, step),
        'prometheus history query failed after retries: that window stays a gap',
        (q, r: MatrixResult) => {
          const at = seriesOf(q, r.metric);
          if (at === undefined) return;
          for (const [t, v] of r.values) {
            const value = Number(v);
            if (Number.isFinite(value)) out.push({ ts: Math.round(t * 1000), signal: q.signal, metric: q.metric, ...at, value });
          }
        },
      );
      out.sort((a, b) => a.ts - b.ts);
      samples += out.length;
      if (out.length > 0) onWindow(out);
    }
    return { samples, failedQueries };
  }

  /** Every configured query through `run`, retried; one that still fails is a gap, logged with `gap` and counted. */
  private async eachQuery<R>(run: (q: Query) => Promise<R[]>, gap: string, use: (q: Query, r: R) => void): Promise<number> {
    let failed = 0;
    for (const q of this.cfg.queries) {
      let results: R[];
      try {
        results = await this.withRetries(() => run(q));
      } catch (e) {
        failed++;
        this.log.warn({ query: q.query, err: (e as Error).message }, gap);
        continue;
      }
      for (const r of results) use(q, r);
    }
    return failed;
  }

  private async queryRange(query: string, start: number, end: number, step: number): Promise<MatrixResult[]> {
    const body = await this.get('/api/v1/query_range', { query, start, end, step });
    if (body.data?.resultType !== 'matrix') throw new QueryError(`expected a range vector, got ${body.data?.resultType ?? 'nothing'}`, false);
    return body.data.result as MatrixResult[];
  }

  private async get(path: string, params: Record<string, string | number>): Promise<{ data?: { resultType?: string; result?: unknown } }> {
    let res;
    try {
      res = await this.http.get(path, { params });
    } catch (e) {
      throw new QueryError(`network: ${(e as Error).message}`, true);
    }
    if (res.status >= 500 || res.status === 429) throw new QueryError(`HTTP ${res.status}`, true);
    const body = res.data as { status?: string; error?: string; data?: { resultType?: string; result?: unknown } };
    if (res.status !== 200 || body.status !== 'success') throw new QueryError(`HTTP ${res.status}: ${body.error ?? 'query failed'}`, false);
    return body;
  }

  private async query(query: string, time: number): Promise<VectorResult[]> {
    const body = await this.get('/api/v1/query', { query, time });
    if (body.data?.resultType !== 'vector') throw new QueryError(`expected an instant vector, got ${body.data?.resultType ?? 'nothing'}`, false);
    return body.data.result as VectorResult[];
  }

  private async withRetries<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof QueryError) || !e.retriable || attempt >= this.cfg.retries) throw e;
        await new Promise((r) => setTimeout(r, backoffDelayMs(this.backoff, attempt + 1, Math.random)));
      }
    }
  }
}

type Query = PrometheusConfig['queries'][number];

/** The stack and service a result series belongs to, from the query's labels; undefined without a stack. */
function seriesOf(q: Query, labels: Record<string, string>): { stack: string; service: string } | undefined {
  const stack = labels[q.stackLabel];
  return stack === undefined ? undefined : { stack, service: labels[q.serviceLabel] ?? q.service ?? 'default' };
}

import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { spawnDaemon, trackTempDir } from './process.js';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

export interface PrometheusOptions {
  /** One scrape job per entry; `target` is `host:port` (metrics path `/metrics`). */
  scrapeTargets?: { job: string; target: string }[];
  /** Global scrape interval (default 1). scrape_timeout is set to the same value. */
  scrapeIntervalSeconds?: number;
  /** Global rule evaluation interval (default 1). */
  evaluationIntervalSeconds?: number;
  /** Rule files (YAML text) written to `<dir>/rules/<name>` and listed in `rule_files`. */
  ruleFiles?: { name: string; content: string }[];
  /** Alertmanager base URL, e.g. `http://127.0.0.1:9093` (a path becomes `path_prefix`). */
  alertmanagerUrl?: string;
  /** remote_write queues; bearerToken becomes `authorization: { type: Bearer, credentials }`. */
  remoteWrite?: { url: string; bearerToken?: string; batchSendDeadlineSeconds?: number }[];
  /** Extra command-line flags; a flag given here replaces the harness default of the same name. */
  extraArgs?: string[];
  /** Ready timeout in ms (default 30000). */
  readyTimeoutMs?: number;
}

export interface PrometheusHandle {
  url: string;
  port: number;
  /** Temp dir holding prometheus.yml, rules/ and data/ (removed by stop()). */
  dir: string;
  configPath: string;
  /** Stops the process (SIGTERM, SIGKILL after 5 s) and removes `dir` (unless HARBINGER_KEEP_TMP=1). */
  stop(): Promise<void>;
  /** Last ~200 log lines. */
  logs(): string;
  /** Instant query via `/api/v1/query`; returns `data.result` (vector results). */
  query(expr: string): Promise<PromVectorSample[]>;
  /** POST /-/reload (lifecycle API is enabled by the harness) after editing files in `dir`. */
  reload(): Promise<void>;
}

export interface PromVectorSample {
  metric: Record<string, string>;
  /** [unix seconds, value as string] */
  value: [number, string];
}

/** Prometheus/Alertmanager duration string; milliseconds keep fractional seconds exact. */
export function duration(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** Splits an Alertmanager URL into Prometheus `alertmanagers` fields. */
export function alertmanagerTarget(url: string): { scheme: string; target: string; pathPrefix?: string } {
  const u = new URL(url);
  const defaultPort = u.protocol === 'https:' ? '443' : '80';
  const target = `${u.hostname.includes(':') ? `[${u.hostname}]` : u.hostname}:${u.port || defaultPort}`;
  const path = u.pathname.replace(/\/+$/, '');
  return { scheme: u.protocol.replace(':', ''), target, ...(path ? { pathPrefix: path } : {}) };
}

export function buildPrometheusConfig(opts: PrometheusOptions, ruleFilePaths: string[]): Record<string, unknown> {
  const scrape = opts.scrapeIntervalSeconds ?? 1;
  const evaluation = opts.evaluationIntervalSeconds ?? 1;
  const config: Record<string, unknown> = {
    global: {
      scrape_interval: duration(scrape),
      scrape_timeout: duration(scrape),
      evaluation_interval: duration(evaluation),
    },
    scrape_configs: (opts.scrapeTargets ?? []).map((t) => ({
      job_name: t.job,
      static_configs: [{ targets: [t.target] }],
    })),
  };
  if (ruleFilePaths.length > 0) config.rule_files = ruleFilePaths;
  if (opts.alertmanagerUrl !== undefined) {
    const am = alertmanagerTarget(opts.alertmanagerUrl);
    config.alerting = {
      alertmanagers: [
        {
          scheme: am.scheme,
          api_version: 'v2',
          timeout: '5s',
          ...(am.pathPrefix !== undefined ? { path_prefix: am.pathPrefix } : {}),
          static_configs: [{ targets: [am.target] }],
        },
      ],
    };
  }
  if (opts.remoteWrite !== undefined && opts.remoteWrite.length > 0) {
    config.remote_write = opts.remoteWrite.map((rw) => ({
      url: rw.url,
      remote_timeout: '5s',
      ...(rw.bearerToken !== undefined ? { authorization: { type: 'Bearer', credentials: rw.bearerToken } } : {}),
      queue_config: {
        batch_send_deadline: duration(rw.batchSendDeadlineSeconds ?? 1),
        min_backoff: '100ms',
        max_backoff: '1s',
      },
    }));
  }
  return config;
}

/** Starts a real Prometheus on 127.0.0.1 with a generated config; resolves once /-/ready is 200. */
export async function startPrometheus(opts: PrometheusOptions = {}): Promise<PrometheusHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'harbinger-prom-'));
  const removeDir = trackTempDir(dir);
  try {
    const rulesDir = join(dir, 'rules');
    const ruleFilePaths: string[] = [];
    if (opts.ruleFiles && opts.ruleFiles.length > 0) {
      await mkdir(rulesDir);
      for (const rf of opts.ruleFiles) {
        if (rf.name.includes('/') || rf.name.startsWith('.')) throw new Error(`bad rule file name ${rf.name}`);
        const p = join(rulesDir, rf.name);
        await writeFile(p, rf.content);
        ruleFilePaths.push(p);
      }
    }
    const configPath = join(dir, 'prometheus.yml');
    await writeFile(configPath, stringify(buildPrometheusConfig(opts, ruleFilePaths)));

    const { proc, port } = await spawnDaemon({
      name: 'prometheus',
      bin: PROMETHEUS_BIN,
      dir,
      extra: opts.extraArgs ?? [],
      readyPath: '/-/ready',
      readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
      defaults: (p) => [
        `--config.file=${configPath}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${p}`,
        '--web.enable-lifecycle',
        // Default 1m: re-sends to Alertmanager (and resolved notifications) would lag a minute.
        '--rules.alert.resend-delay=1s',
      ],
    });
    const url = `http://127.0.0.1:${port}`;
    return {
      url,
      port,
      dir,
      configPath,
      logs: () => proc.logs(),
      stop: async () => {
        await proc.stop();
        await removeDir();
      },
      query: async (expr) => {
        const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(expr)}`);
        const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: unknown } };
        if (!res.ok || body.status !== 'success' || body.data === undefined) {
          throw new Error(`query ${expr} failed: HTTP ${res.status} ${body.error ?? ''}`);
        }
        if (body.data.resultType !== 'vector') throw new Error(`query ${expr}: expected vector, got ${body.data.resultType}`);
        return body.data.result as PromVectorSample[];
      },
      reload: async () => {
        const res = await fetch(`${url}/-/reload`, { method: 'POST' });
        if (!res.ok) throw new Error(`reload failed: HTTP ${res.status} ${await res.text()}\n${proc.logs()}`);
      },
    };
  } catch (err) {
    await removeDir();
    throw err;
  }
}

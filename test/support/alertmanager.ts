import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { spawnDaemon, trackTempDir } from './process.js';
import { duration } from './prometheus.js';

export const ALERTMANAGER_BIN = process.env.ALERTMANAGER_BIN ?? '/usr/bin/prometheus-alertmanager';

export interface AlertmanagerOptions {
  /** Where the single webhook receiver posts (version "4" JSON). */
  webhookUrl: string;
  /** Sent as `Authorization: Bearer <token>` (http_config.authorization). */
  bearerToken?: string;
  /** Sent as HTTP basic auth (http_config.basic_auth). Mutually exclusive with bearerToken. */
  basicAuth?: { username: string; password: string };
  groupWaitSeconds?: number; // default 1
  groupIntervalSeconds?: number; // default 1
  repeatIntervalSeconds?: number; // default 3600
  sendResolved?: boolean; // default true
  /** global.resolve_timeout (default 60); only matters for alerts posted without endsAt. */
  resolveTimeoutSeconds?: number;
  /** route.group_by (default ['alertname', 'stack']). */
  groupBy?: string[];
  extraArgs?: string[];
  readyTimeoutMs?: number; // default 30000
}

export interface AlertmanagerHandle {
  url: string;
  port: number;
  dir: string;
  configPath: string;
  stop(): Promise<void>;
  logs(): string;
}

export function buildAlertmanagerConfig(opts: AlertmanagerOptions): Record<string, unknown> {
  if (opts.bearerToken !== undefined && opts.basicAuth !== undefined) {
    throw new Error('startAlertmanager: bearerToken and basicAuth are mutually exclusive');
  }
  const httpConfig: Record<string, unknown> = {};
  if (opts.bearerToken !== undefined) httpConfig.authorization = { type: 'Bearer', credentials: opts.bearerToken };
  if (opts.basicAuth !== undefined) httpConfig.basic_auth = { username: opts.basicAuth.username, password: opts.basicAuth.password };
  return {
    global: { resolve_timeout: duration(opts.resolveTimeoutSeconds ?? 60) },
    route: {
      receiver: 'webhook',
      group_by: opts.groupBy ?? ['alertname', 'stack'],
      group_wait: duration(opts.groupWaitSeconds ?? 1),
      group_interval: duration(opts.groupIntervalSeconds ?? 1),
      repeat_interval: duration(opts.repeatIntervalSeconds ?? 3600),
    },
    receivers: [
      {
        name: 'webhook',
        webhook_configs: [
          {
            url: opts.webhookUrl,
            send_resolved: opts.sendResolved ?? true,
            ...(Object.keys(httpConfig).length > 0 ? { http_config: httpConfig } : {}),
          },
        ],
      },
    ],
  };
}

/** Starts a real Alertmanager (gossip off) on 127.0.0.1; resolves once /-/ready is 200. */
export async function startAlertmanager(opts: AlertmanagerOptions): Promise<AlertmanagerHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'harbinger-am-'));
  const removeDir = trackTempDir(dir);
  try {
    const configPath = join(dir, 'alertmanager.yml');
    await writeFile(configPath, stringify(buildAlertmanagerConfig(opts)));
    const { proc, port } = await spawnDaemon({
      name: 'alertmanager',
      bin: ALERTMANAGER_BIN,
      dir,
      extra: opts.extraArgs ?? [],
      readyPath: '/-/ready',
      readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
      defaults: (p) => [
        `--config.file=${configPath}`,
        `--storage.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${p}`,
        '--cluster.listen-address=', // empty: no gossip listener on :9094
      ],
    });
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      dir,
      configPath,
      logs: () => proc.logs(),
      stop: async () => {
        await proc.stop();
        await removeDir();
      },
    };
  } catch (err) {
    await removeDir();
    throw err;
  }
}

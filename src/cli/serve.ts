import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, parseConfig, withServeDefaults } from '../config/load.js';
import { readApiToken, readSecret } from '../config/secrets.js';
import { createLogger } from '../adapters/log/logger.js';
import { HarbingerService } from '../app/service.js';
import type { Command } from './command.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the service: HTTP ingest and API, remote_write, Alertmanager webhook, Prometheus poller, /metrics',
  usage: `Usage: harbinger serve [--port N] [--data-dir DIR] [--config FILE]

The embedded default needs no configuration and no external service: HTTP ingest, in-process
pipeline, file-backed state under the data directory (state.json, audit.jsonl, recommendations.jsonl),
recommendations on the console and in the JSONL feed, and a dry-run routing controller.

Endpoints: POST /v1/samples, POST /v1/events (JSON array or NDJSON), GET /v1/incidents,
GET /v1/recommendations, POST /v1/recommendations/{id}/approve|reject, POST /api/v1/write
(Prometheus remote-write 1.0), POST /v1/alertmanager (webhook v4), GET /healthz, /readyz, /metrics.

Secrets (environment, or NAME_FILE pointing at a file): HARBINGER_API_TOKEN (bearer token for the API,
remote_write and Alertmanager, 16 characters or more; without it Harbinger listens on 127.0.0.1 only);
HARBINGER_AUDIT_KEY (HMAC key authenticating every audit entry); SLACK_BOT_TOKEN or
SLACK_WEBHOOK_URL (the Slack feed) and SLACK_SIGNING_SECRET (POST /v1/slack/interactions);
HARBINGER_ROUTING_WEBHOOK_TOKEN (the webhook routing controller).

Options:
  --port <n>         listen port (default 8080; 0 picks a free one)
  --data-dir <dir>   state, audit log and feed (default .harbinger)
  --config <file>    YAML or JSON configuration, validated at start
  -h, --help         show this help`,
  options: { port: { type: 'string' }, 'data-dir': { type: 'string' }, config: { type: 'string' } },
  async run(values) {
    const log = createLogger();
    let raw: Record<string, unknown> = {};
    const file = values['config'] as string | undefined;
    try {
      if (file !== undefined) raw = (parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown> | null) ?? {};
    } catch (e) {
      process.stderr.write(`harbinger serve: cannot read config ${file}: ${(e as Error).message}\n`);
      return 2;
    }
    raw = withServeDefaults(raw);
    const server = { ...((raw['server'] ?? {}) as Record<string, unknown>) };
    if (values['port'] !== undefined) server['port'] = Number(values['port']);
    if (values['data-dir'] !== undefined) server['dataDir'] = values['data-dir'];
    raw = { ...raw, server };
    let config;
    let token;
    let auditKey: string | undefined;
    const slack: { botToken?: string; webhookUrl?: string; signingSecret?: string } = {};
    try {
      config = parseConfig(raw, file ?? 'command line');
      token = readApiToken();
      const bot = readSecret('SLACK_BOT_TOKEN');
      const hook = readSecret('SLACK_WEBHOOK_URL');
      const signing = readSecret('SLACK_SIGNING_SECRET');
      auditKey = readSecret('HARBINGER_AUDIT_KEY')?.value;
      if (bot !== undefined) slack.botToken = bot.value;
      if (hook !== undefined) slack.webhookUrl = hook.value;
      if (signing !== undefined) slack.signingSecret = signing.value;
    } catch (e) {
      process.stderr.write(`${e instanceof ConfigError ? e.message : `harbinger serve: ${(e as Error).message}`}\n`);
      return 2;
    }
    const service = new HarbingerService({ config, log, apiToken: token?.value, slack, ...(auditKey !== undefined ? { auditKey } : {}) });
    if (token !== undefined) log.info({ source: token.source }, 'API token loaded');
    await service.start();
    await new Promise<void>((resolve) => {
      const shutdown = (signal: string): void => {
        log.info({ signal }, 'shutting down');
        service.stop().then(resolve, (e: Error) => {
          log.error({ err: e.message }, 'unclean shutdown');
          resolve();
        });
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    });
    return 0;
  },
};

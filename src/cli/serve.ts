import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError, parseConfig, withServeDefaults } from '../config/load.js';
import { readApiToken, readSecret } from '../config/secrets.js';
import { createLogger } from '../adapters/log/logger.js';
import { HarbingerService, type ServiceOptions } from '../app/service.js';
import { complain, EXIT, type Command } from './command.js';
import { unwritableDir } from './paths.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the service: HTTP ingest and API, remote_write, Alertmanager webhook, Prometheus poller, /metrics',
  usage: `Usage: harbinger serve [--port N] [--data-dir DIR] [--config FILE]

The embedded default needs no configuration and no external service: HTTP ingest, in-process
pipeline, file-backed state under the data directory (state.json, audit.jsonl, recommendations.jsonl),
recommendations on the console and in the JSONL feed, and a dry-run routing controller.

Endpoints: POST /v1/samples, POST /v1/events, POST /v1/ingest (JSON array or NDJSON; /v1/ingest:
mixed lines read as replay reads them), POST /v1/hooks/github|argocd|flagger (deploy tools' webhooks),
GET /v1/incidents,
GET /v1/recommendations, POST /v1/recommendations/{id}/approve|reject, POST /api/v1/write
(Prometheus remote-write 1.0), POST /v1/alertmanager (webhook v4), GET /healthz, /readyz, /metrics.

Signals: SIGTERM/SIGINT stop gracefully (state checkpointed); SIGHUP reloads the configuration and
secrets (validated first: an invalid one is refused and the service keeps running as it was).

Secrets (environment, or NAME_FILE pointing at a file): HARBINGER_API_TOKEN (bearer token for the API,
remote_write and Alertmanager, 16 characters or more; without it Harbinger listens on 127.0.0.1 only);
HARBINGER_INGEST_TOKEN, HARBINGER_READ_TOKEN, HARBINGER_APPROVER_TOKEN (tokens limited to sending
data, reading state, or approving/rejecting); HARBINGER_AUDIT_KEY (HMAC key authenticating every
audit entry); SLACK_BOT_TOKEN or
SLACK_WEBHOOK_URL (the Slack feed) and SLACK_SIGNING_SECRET (POST /v1/slack/interactions);
HARBINGER_ROUTING_WEBHOOK_TOKEN (the webhook routing controller); HARBINGER_GITHUB_WEBHOOK_SECRET
(the GitHub webhook's secret: turns on POST /v1/hooks/github).

Options:
  --port <n>         listen port (default 8080; 0 picks a free one)
  --host <addr>      listen address (default 0.0.0.0 with an API token, 127.0.0.1 without one; any
                     non-loopback address needs HARBINGER_API_TOKEN, or server.allowUnauthenticated)
  --data-dir <dir>   state, audit log and feed (default .harbinger)
  --config <file>    YAML or JSON configuration, validated at start
  -h, --help         show this help`,
  options: { port: { type: 'string' }, host: { type: 'string' }, 'data-dir': { type: 'string' }, config: { type: 'string' } },
  maxPositionals: 0,
  async run(values) {
    const log = createLogger();
    const file = values['config'] as string | undefined;
    const loaded = load(values, file);
    if (typeof loaded === 'string') {
      process.stderr.write(`${loaded}\n`);
      return EXIT.usage;
    }
    // The data directory is created at start: a path that cannot be is said now, in one line.
    const dataDir = loaded.config.server.dataDir;
    const unwrit = unwritableDir(dataDir);
    if (unwrit !== undefined) return complain(this.name, `data directory ${dataDir}: ${unwrit}`, EXIT.usage);
    let current = loaded;
    // POST /-/reload runs the same reload as SIGHUP (defined below; the services reach it through this).
    const onReload = (): void => reload();
    let service = new HarbingerService({ ...current, log, onReload });
    if (loaded.apiToken !== undefined) log.info('API token loaded');
    // SIGHUP reloads: the configuration and secrets are read and validated again; a valid one
    // replaces the running service (state checkpointed, then restored with the new settings),
    // an invalid one is refused with its problems and the service keeps running as it was.
    // Handled from the start (the default action would kill the process), queued behind it.
    let reloading: Promise<unknown> = service.start();
    const reload = (): void => {
      reloading = reloading
        .catch(() => undefined)
        .then(async () => {
          const next = load(values, file);
          if (typeof next === 'string') {
            log.error({ problems: next }, 'SIGHUP: configuration reload refused; still running on the previous configuration');
            return;
          }
          log.info({ config: file ?? null }, 'reloading the configuration (SIGHUP or POST /-/reload)');
          await service.stop();
          try {
            service = new HarbingerService({ ...next, log, onReload });
            await service.start();
            current = next;
            log.info('configuration reloaded');
          } catch (e) {
            // The new settings validated but do not run (the port is taken...): back to the previous ones.
            log.error({ err: (e as Error).message }, 'SIGHUP: the new configuration does not start; restarting on the previous one');
            await service.stop().catch(() => undefined);
            service = new HarbingerService({ ...current, log, onReload });
            await service.start();
          }
        });
      reloading.catch((e: Error) => log.error({ err: e.message }, 'SIGHUP: reload failed'));
    };
    process.on('SIGHUP', reload);
    // SIGTERM/SIGINT are handled from the start too: /healthz answers once the port listens, before
    // start() has resolved (the confidence model is still loading), and a signal then must stop
    // gracefully, queued behind the start, not take the default action and die uncheckpointed.
    let stopped: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (stopped = resolve));
    const shutdown = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      process.off('SIGHUP', reload);
      const deadlineMs = current.config.server.shutdownTimeoutSeconds * 1000;
      const deadline = setTimeout(() => {
        log.error(
          { deadlineSeconds: deadlineMs / 1000 },
          'shutdown took longer than server.shutdownTimeoutSeconds: exiting (the write-ahead log holds what was acknowledged)',
        );
        // Whatever still holds the event loop (a controller call, a Slack flush) is abandoned.
        process.exit(EXIT.failed);
      }, deadlineMs);
      deadline.unref();
      reloading
        .catch(() => undefined)
        .then(() => service.stop())
        .then(
          () => {
            clearTimeout(deadline);
            stopped();
          },
          (e: Error) => {
            clearTimeout(deadline);
            log.error({ err: e.message }, 'unclean shutdown');
            stopped();
          },
        );
    };
    const onTerm = (): void => shutdown('SIGTERM');
    const onInt = (): void => shutdown('SIGINT');
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onInt);
    try {
      await reloading;
    } catch (e) {
      // A refusal to start is a message, not a stack trace. Refused on its settings (no token for a
      // public address, an audit log that fails verification): usage; the system said no (the port
      // taken, the data directory not writable: an errno code): failed.
      process.off('SIGHUP', reload);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      await service.stop().catch(() => undefined);
      return complain(this.name, (e as Error).message, (e as NodeJS.ErrnoException).code !== undefined ? EXIT.failed : EXIT.usage);
    }
    await done;
    return EXIT.ok;
  },
};

/** Configuration file, command-line overrides and secrets, validated; or the message saying what is wrong. */
function load(values: Record<string, unknown>, file: string | undefined): Omit<ServiceOptions, 'log'> | string {
  let raw: Record<string, unknown> = {};
  try {
    if (file !== undefined) raw = (parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown> | null) ?? {};
  } catch (e) {
    return `harbinger serve: cannot read config ${file}: ${(e as Error).message}`;
  }
  raw = withServeDefaults(raw);
  const server = { ...((raw['server'] ?? {}) as Record<string, unknown>) };
  if (values['port'] !== undefined) server['port'] = Number(values['port']);
  if (values['host'] !== undefined) server['host'] = values['host'];
  if (values['data-dir'] !== undefined) server['dataDir'] = values['data-dir'];
  raw = { ...raw, server };
  try {
    const config = parseConfig(raw, file ?? 'command line');
    const token = readApiToken();
    const slack: { botToken?: string; webhookUrl?: string; signingSecret?: string } = {};
    const bot = readSecret('SLACK_BOT_TOKEN');
    const hook = readSecret('SLACK_WEBHOOK_URL');
    const signing = readSecret('SLACK_SIGNING_SECRET');
    if (bot !== undefined) slack.botToken = bot.value;
    if (hook !== undefined) slack.webhookUrl = hook.value;
    if (signing !== undefined) slack.signingSecret = signing.value;
    const auditKey = readSecret('HARBINGER_AUDIT_KEY')?.value;
    const githubWebhookSecret = readSecret('HARBINGER_GITHUB_WEBHOOK_SECRET')?.value;
    const ingest = readApiToken(process.env, 'HARBINGER_INGEST_TOKEN')?.value;
    const read = readApiToken(process.env, 'HARBINGER_READ_TOKEN')?.value;
    const approve = readApiToken(process.env, 'HARBINGER_APPROVER_TOKEN')?.value;
    const roleTokens = { ...(ingest !== undefined ? { ingest } : {}), ...(read !== undefined ? { read } : {}), ...(approve !== undefined ? { approve } : {}) };
    const slackProblem = slackMisconfiguration(config, slack);
    if (slackProblem !== undefined) return `harbinger serve: ${slackProblem}`;
    return {
      config,
      apiToken: token?.value,
      slack,
      roleTokens,
      ...(auditKey !== undefined ? { auditKey } : {}),
      ...(githubWebhookSecret !== undefined ? { githubWebhookSecret } : {}),
    };
  } catch (e) {
    return e instanceof ConfigError ? e.message : `harbinger serve: ${(e as Error).message}`;
  }
}

/** Slack settings that would start "slack: on" and fail later (buttons whose clicks 404, no channel): said at start. */
function slackMisconfiguration(
  config: ServiceOptions['config'],
  slack: { botToken?: string; webhookUrl?: string; signingSecret?: string },
): string | undefined {
  if (slack.botToken === undefined && slack.webhookUrl === undefined) return undefined;
  const mode = config.slack.mode ?? (slack.botToken !== undefined ? 'bot' : 'webhook');
  if (mode === 'webhook') return slack.webhookUrl === undefined ? 'slack.mode webhook needs SLACK_WEBHOOK_URL' : undefined;
  if (slack.botToken === undefined) return 'slack.mode bot needs SLACK_BOT_TOKEN';
  if (config.slack.channel === undefined || config.slack.channel === '') return 'Slack bot mode needs slack.channel (the channel id or name to post to)';
  if (slack.signingSecret === undefined)
    return 'Slack bot mode posts Approve/Reject buttons, and without SLACK_SIGNING_SECRET their clicks cannot be verified: set it (Slack app > Basic Information), or use webhook mode';
  return undefined;
}

import { join } from 'node:path';
import type { HarbingerConfig } from '../config/load.js';
import { SlackFeed } from '../adapters/slack/slack-feed.js';
import type { ServiceMetrics } from '../adapters/http/metrics.js';
import type { Logger } from '../adapters/log/logger.js';

/** The Slack feed the secrets ask for (bot or incoming webhook), or none without them. */
export function createSlackFeed(
  cfg: HarbingerConfig,
  secrets: { botToken?: string; webhookUrl?: string; signingSecret?: string },
  metrics: ServiceMetrics,
  log: Logger,
): SlackFeed | undefined {
  if (secrets.botToken === undefined && secrets.webhookUrl === undefined) return undefined;
  const mode = cfg.slack.mode ?? (secrets.botToken !== undefined ? 'bot' : 'webhook');
  return new SlackFeed({
    config: {
      mode,
      baseUrl: cfg.slack.baseUrl,
      includeInformational: cfg.slack.includeInformational,
      outboxPath: join(cfg.server.dataDir, 'outbox', 'slack.sqlite'),
      // Versions before the delivery stage kept a JSON-lines outbox here: moved in once.
      legacyOutboxPath: join(cfg.server.dataDir, 'slack-outbox.jsonl'),
      ...(cfg.slack.channel !== undefined ? { channel: cfg.slack.channel } : {}),
    },
    secrets,
    logger: log,
    observer: metrics.delivery,
    onSent: (i) => metrics.slack.messages.inc({ kind: i.kind, result: 'sent' }),
    onFailed: (i) => metrics.slack.messages.inc({ kind: i.kind, result: 'failed' }),
    onRetry: (i) => metrics.slack.messages.inc({ kind: i.kind, result: 'retried' }),
  });
}

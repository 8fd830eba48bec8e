import { join } from 'node:path';
import type { DeliveryObserver } from '../delivery/delivery-stage.js';
import type { Logger } from '../log/logger.js';
import type { SlackSection } from './config.js';
import { SlackFeed } from './slack-feed.js';
import type { SlackMetrics } from './slack-metrics.js';

/**
 * The Slack feed from its config section and the secrets (bot token or incoming webhook), or none
 * without them. Its outbox lives at <dataDir>/outbox/slack.sqlite.
 */
export function slackFeedFromConfig(
  section: SlackSection,
  dataDir: string,
  secrets: { botToken?: string; webhookUrl?: string; signingSecret?: string },
  metrics: { delivery: DeliveryObserver; slack: SlackMetrics },
  log: Logger,
): SlackFeed | undefined {
  if (secrets.botToken === undefined && secrets.webhookUrl === undefined) return undefined;
  const mode = section.mode ?? (secrets.botToken !== undefined ? 'bot' : 'webhook');
  return new SlackFeed({
    config: {
      mode,
      baseUrl: section.baseUrl,
      includeInformational: section.includeInformational,
      outboxPath: join(dataDir, 'outbox', 'slack.sqlite'),
      // Versions before the delivery stage kept a JSON-lines outbox here: moved in once.
      legacyOutboxPath: join(dataDir, 'slack-outbox.jsonl'),
      ...(section.channel !== undefined ? { channel: section.channel } : {}),
    },
    secrets,
    logger: log,
    observer: metrics.delivery,
    onSent: (i) => metrics.slack.messages.inc({ kind: i.kind, result: 'sent' }),
    onFailed: (i) => metrics.slack.messages.inc({ kind: i.kind, result: 'failed' }),
    onRetry: (i) => metrics.slack.messages.inc({ kind: i.kind, result: 'retried' }),
  });
}

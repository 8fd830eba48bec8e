import type { DeliveryObserver } from '../delivery/delivery-stage.js';
import type { Logger } from '../log/logger.js';
import type { SlackTransport } from './slack-client.js';
import type { OutboxKind } from './slack-outbox.js';

/** The Slack feed's settings, secrets, hooks and counters (see ./slack-feed.ts). */

export interface SlackConfig {
  mode: 'bot' | 'webhook';
  /** Bot mode: channel id (C…) or name to post to. */
  channel?: string;
  /** Bot mode: Web API base URL (default https://slack.com). */
  baseUrl?: string;
  /** Also post `none` and `observe` recommendations whose cause is 'explained' or 'global' (a downstream impact of another service's incident; default false). */
  includeInformational?: boolean;
  /** The outbox, an SQLite file (created with its directory if missing). */
  outboxPath: string;
  /** An older version's JSON-lines outbox: imported into `outboxPath` once, then removed. */
  legacyOutboxPath?: string;
}

/** Secrets, kept apart from the config so the config can be logged. */
export interface SlackSecrets {
  botToken?: string;
  webhookUrl?: string;
  signingSecret?: string;
}

export interface DeliveryInfo {
  id: string;
  kind: OutboxKind;
  recommendationId: string;
  attempts: number;
}

export interface SlackFeedStats {
  queueDepth: number;
  sent: number;
  /** Permanent failures (gave up). */
  failed: number;
  /** Evicted because the queue was full. */
  dropped: number;
  /** Updates made pointless by a later state of the same recommendation. */
  superseded: number;
  retries: number;
  persistErrors: number;
}

export interface SlackFeedOptions {
  config: SlackConfig;
  secrets: SlackSecrets;
  logger?: Logger;
  /** Replaces the transport built from config+secrets (tests, custom clients). */
  transport?: SlackTransport;
  /** Wall clock, ms (default Date.now). */
  now?: () => number;
  /** Delay between attempts (default setTimeout); tests inject a recorder. */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0,1) (default Math.random). */
  random?: () => number;
  /** Max queued items (default 1000). */
  maxQueue?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Give up on an item after this many retriable failures (default: never). */
  maxAttempts?: number;
  /** Link for an incident, shown in the message footer. */
  incidentUrl?: (incidentId: string) => string | undefined;
  onSent?: (info: DeliveryInfo) => void;
  onFailed?: (info: DeliveryInfo & { error: string }) => void;
  onRetry?: (info: DeliveryInfo & { error: string; delayMs: number }) => void;
  /** The delivery stage's metrics (harbinger_delivery_*{target="slack"}). */
  observer?: DeliveryObserver;
}

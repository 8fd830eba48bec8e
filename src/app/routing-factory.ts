import { join } from 'node:path';
import type { DeliveryObserver } from '../adapters/delivery/delivery-stage.js';
import type { RoutingConfig } from '../adapters/routing/config.js';
import { readSecret } from '../config/secrets.js';
import type { Logger } from '../adapters/log/logger.js';
import { DryRunController, type RoutingController } from '../adapters/routing/routing-controller.js';
import { WebhookController } from '../adapters/routing/webhook-controller.js';
import { HaproxyController } from '../adapters/routing/haproxy-controller.js';

/**
 * Builds the configured routing controller; the webhook token comes from
 * HARBINGER_ROUTING_WEBHOOK_TOKEN(_FILE), its outbox lives at <dataDir>/outbox/routing-webhook.sqlite.
 */
export function createRoutingController(cfg: RoutingConfig, log: Logger, dataDir?: string, delivery?: DeliveryObserver): RoutingController {
  switch (cfg.controller) {
    case 'dry-run':
      return new DryRunController(log);
    case 'webhook': {
      const token = readSecret('HARBINGER_ROUTING_WEBHOOK_TOKEN');
      return new WebhookController({
        url: cfg.webhook!.url,
        timeoutMs: cfg.webhook!.timeoutSeconds * 1000,
        maxAttempts: cfg.webhook!.retries + 1,
        log,
        ...(dataDir !== undefined ? { outboxPath: join(dataDir, 'outbox', 'routing-webhook.sqlite') } : {}),
        ...(delivery !== undefined ? { observer: delivery } : {}),
        ...(token !== undefined ? { token: token.value } : {}),
      });
    }
    case 'haproxy':
      return new HaproxyController({
        socketPath: cfg.haproxy!.socketPath,
        backend: cfg.haproxy!.backend,
        servers: cfg.haproxy!.servers,
        log,
        ...(dataDir !== undefined ? { appliedPath: join(dataDir, 'haproxy-applied.json') } : {}),
      });
  }
}

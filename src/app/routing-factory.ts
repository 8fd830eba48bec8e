import type { DeliveryObserver } from '../adapters/delivery/delivery-stage.js';
import type { RoutingConfig } from '../adapters/routing/config.js';
import type { Logger } from '../adapters/log/logger.js';
import type { RoutingController } from '../adapters/routing/routing-controller.js';
import { ROUTING_CONTROLLERS } from '../adapters/routing/registry.js';

/** Builds the configured routing controller from the registry (see adapters/routing/registry.ts). */
export function createRoutingController(cfg: RoutingConfig, log: Logger, dataDir?: string, delivery?: DeliveryObserver): RoutingController {
  const m = ROUTING_CONTROLLERS[cfg.controller] as { create(section: unknown, ctx: unknown): RoutingController };
  return m.create((cfg as Record<string, unknown>)[cfg.controller], {
    log,
    ...(dataDir !== undefined ? { dataDir } : {}),
    ...(delivery !== undefined ? { delivery } : {}),
  });
}

import type { DeliveryObserver } from '../delivery/delivery-stage.js';
import type { Logger } from '../log/logger.js';

/** What every routing controller is built with, beside its own config section. */
export interface ControllerContext {
  log: Logger;
  /** Where a controller keeps what must survive a restart (an outbox, what it applied); absent: memory only. */
  dataDir?: string;
  /** Delivery counters for /metrics (controllers that deliver through the durable stage). */
  delivery?: DeliveryObserver;
}

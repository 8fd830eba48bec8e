import { Counter, Gauge, type Registry } from 'prom-client';
import type { DeliveryResultKind } from './delivery-result.js';
import type { DeliveryObserver, DropReason } from './delivery-stage.js';

/**
 * The delivery stage's metrics, one family each, labelled by target (`slack`, `routing-webhook`).
 * What an operator alerts on when a receiver is down: `harbinger_delivery_queued` growing and
 * `harbinger_delivery_oldest_queued_age_seconds` rising, `attempts_total{result="retry_later"}`
 * climbing; lost deliveries are `harbinger_delivery_dropped_total` by reason.
 */
export class DeliveryMetrics implements DeliveryObserver {
  private readonly oldest = new Map<string, number | undefined>();
  readonly queuedGauge: Gauge<'target'>;
  readonly oldestAge: Gauge<'target'>;
  readonly attempts: Counter<'target' | 'result'>;
  readonly drops: Counter<'target' | 'reason'>;

  constructor(registry: Registry, now: () => number = Date.now) {
    this.queuedGauge = new Gauge({
      name: 'harbinger_delivery_queued',
      help: 'Deliveries waiting in the outbox (on disk), by target.',
      labelNames: ['target'],
      registers: [registry],
    });
    const oldest = this.oldest;
    this.oldestAge = new Gauge({
      name: 'harbinger_delivery_oldest_queued_age_seconds',
      help: 'Age of the oldest delivery waiting in the outbox, by target (0 when empty): how long a receiver has been missing.',
      labelNames: ['target'],
      registers: [registry],
      collect() {
        // Read at scrape time: an age pushed at enqueue would stand still while the receiver stays down.
        for (const [target, at] of oldest) this.set({ target }, at === undefined ? 0 : Math.max(0, (now() - at) / 1000));
      },
    });
    this.attempts = new Counter({
      name: 'harbinger_delivery_attempts_total',
      help: 'Delivery attempts by target and result (delivered, retry_later, permanent_failure).',
      labelNames: ['target', 'result'],
      registers: [registry],
    });
    this.drops = new Counter({
      name: 'harbinger_delivery_dropped_total',
      help: 'Deliveries lost, by target and reason (queue_full, permanent_failure, attempts_exhausted).',
      labelNames: ['target', 'reason'],
      registers: [registry],
    });
  }

  attempt(target: string, result: DeliveryResultKind): void {
    this.attempts.inc({ target, result });
  }

  dropped(target: string, reason: DropReason): void {
    this.drops.inc({ target, reason });
  }

  queued(target: string, depth: number, oldestEnqueuedAt: number | undefined): void {
    this.queuedGauge.set({ target }, depth);
    this.oldest.set(target, oldestEnqueuedAt);
  }
}

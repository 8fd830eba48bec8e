import type { ServiceMetrics } from '../adapters/http/metrics.js';
import type { Runtime } from './runtime/runtime.js';

/**
 * The decision state as gauges and counters on /metrics, refreshed on the service's tick. The
 * engine's counts restart with it (a reload or a restore): a counter is fed only their growth.
 */
export class DecisionGauges {
  private refusedSeen = 0;
  private evictedSeen = 0;

  update(runtime: Runtime, metrics: ServiceMetrics, slackQueueDepth: number | undefined): void {
    const decision = runtime.decision;
    metrics.incidentsOpen.set(decision.incidents().filter((i) => i.status !== 'resolved').length);
    metrics.awaitingApproval.set(decision.allRecommendations().filter((r) => r.status === 'awaiting_approval').length);
    const refused = decision.refusedIncidents;
    if (refused > this.refusedSeen) metrics.incidentsRefused.inc(refused - this.refusedSeen);
    this.refusedSeen = refused;
    const evicted = decision.evictedContextEvents;
    if (evicted > this.evictedSeen) metrics.contextEventsEvicted.inc(evicted - this.evictedSeen);
    this.evictedSeen = evicted;
    if (slackQueueDepth !== undefined) metrics.slack.outbox.set(slackQueueDepth);
  }
}

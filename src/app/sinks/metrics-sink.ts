import type { ServiceMetrics } from '../../adapters/http/metrics.js';
import type { Logger } from '../../adapters/log/logger.js';
import type { DecisionSink } from './decision-sink.js';

/** Counts recommendations and outcomes on /metrics and, with `server.consoleFeed`, logs each recommendation. */
export function metricsSink(metrics: ServiceMetrics, log: Logger, consoleFeed: boolean): DecisionSink {
  return {
    name: 'metrics',
    decision: (e) => {
      if (e.type === 'outcome') metrics.outcomes.inc({ outcome: e.outcome });
      if (e.type === 'incident') metrics.incidentTransitions.inc({ transition: e.transition });
      if (e.type !== 'recommendation') return;
      metrics.recommendations.inc({ action: e.action, status: e.status });
      if (consoleFeed) {
        const { id: recommendation, incidentId: incident, stack, action, percent, status, confidence, blockedBy } = e;
        log.info({ recommendation, incident, stack, action, percent, status, confidence, blockedBy }, e.reason);
      }
    },
  };
}

import { Counter, Histogram, type Registry } from 'prom-client';

/** The Prometheus poller's families (harbinger_prometheus_*). */
export function pollMetrics(registry: Registry) {
  return {
    errors: new Counter({
      name: 'harbinger_prometheus_poll_errors_total',
      help: 'Failed Prometheus queries after retries.',
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'harbinger_prometheus_poll_duration_seconds',
      help: 'Duration of one Prometheus poll of all queries.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}

export type PollMetrics = ReturnType<typeof pollMetrics>;

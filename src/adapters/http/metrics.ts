import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DeliveryMetrics } from '../delivery/delivery-metrics.js';
import { kafkaMetrics } from '../kafka/kafka-metrics.js';
import { pollMetrics } from '../prometheus/poll-metrics.js';
import { slackMetrics } from '../slack/slack-metrics.js';

/** Harbinger's own metrics, Prometheus naming: `harbinger_` prefix, units and `_total` suffixes. */
const NON_COUNTERS_NAMED_TOTAL = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly samplesReceived = new Counter({
    name: 'harbinger_samples_received_total',
    help: 'Samples accepted into the pipeline, by source.',
    labelNames: ['source'],
    registers: [this.registry],
  });
  readonly eventsReceived = new Counter({
    name: 'harbinger_context_events_received_total',
    help: 'Context events accepted, by source.',
    labelNames: ['source'],
    registers: [this.registry],
  });
  readonly rejected = new Counter({
    name: 'harbinger_records_rejected_total',
    help: 'Records refused, by source and reason.',
    labelNames: ['source', 'reason'],
    registers: [this.registry],
  });
  readonly eventTimeLag = new Gauge({
    name: 'harbinger_event_time_lag_seconds',
    help: 'Wall clock minus the newest event time seen.',
    registers: [this.registry],
  });
  readonly watermarkLag = new Gauge({
    name: 'harbinger_watermark_lag_seconds',
    help: 'Wall clock minus the event-time watermark.',
    registers: [this.registry],
  });
  readonly series = new Gauge({ name: 'harbinger_series', help: 'Series with baseline state.', registers: [this.registry] });
  readonly incidentsOpen = new Gauge({ name: 'harbinger_incidents_open', help: 'Incidents not yet resolved.', registers: [this.registry] });
  readonly awaitingApproval = new Gauge({
    name: 'harbinger_recommendations_awaiting_approval',
    help: 'Recommendations waiting for a human now.',
    registers: [this.registry],
  });
  readonly incidentTransitions = new Counter({
    name: 'harbinger_incident_transitions_total',
    help: 'Incidents opened, mitigated and resolved (Grafana annotations read this).',
    labelNames: ['transition'] as const,
    registers: [this.registry],
  });
  /** 1, labelled with what runs (Prometheus' convention: join it onto other series to tell versions apart). */
  readonly buildInfo = new Gauge({
    name: 'harbinger_build_info',
    help: 'Always 1; the labels say which Harbinger and Node.js versions are running.',
    labelNames: ['version', 'nodejs_version'] as const,
    registers: [this.registry],
  });
  readonly incidentsRefused = new Counter({
    name: 'harbinger_incidents_refused_total',
    help: 'Evidence that could not open an incident because limits.maxOpenIncidents were open.',
    registers: [this.registry],
  });
  readonly contextEventsEvicted = new Counter({
    name: 'harbinger_context_events_evicted_total',
    help: 'Context events pushed out before their 24 h because limits.maxContextEvents were kept (the oldest go first).',
    registers: [this.registry],
  });
  readonly auditEntries = new Gauge({
    name: 'harbinger_audit_entries',
    help: 'Entries in the audit log (the head of its hash chain; the head hash is logged at each checkpoint).',
    registers: [this.registry],
  });
  readonly persistenceHealthy = new Gauge({
    name: 'harbinger_persistence_healthy',
    help: '1 while state and audit log are being written; 0 after a write failed (ingest answers 503 until one succeeds).',
    registers: [this.registry],
  });
  readonly recommendations = new Counter({
    name: 'harbinger_recommendations_total',
    help: 'Recommendations emitted, by action and status.',
    labelNames: ['action', 'status'],
    registers: [this.registry],
  });
  readonly outcomes = new Counter({
    name: 'harbinger_recommendation_outcomes_total',
    help: 'Approvals, rejections, expiries and post-action validations.',
    labelNames: ['outcome'],
    registers: [this.registry],
  });
  readonly alerts = new Counter({
    name: 'harbinger_alerts_received_total',
    help: 'Alertmanager alerts received, by status and result.',
    labelNames: ['status', 'result'],
    registers: [this.registry],
  });
  readonly checkpointDuration = new Histogram({
    name: 'harbinger_checkpoint_duration_seconds',
    help: 'Time to write the state checkpoint, start to rename (ingest goes on meanwhile: it is streamed).',
    buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly checkpointLongestSlice = new Histogram({
    name: 'harbinger_checkpoint_longest_slice_seconds',
    help: 'Per checkpoint, the longest time it held the event loop between two yields (what ingest waited at most).',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  readonly checkpointBytes = new Gauge({
    name: 'harbinger_checkpoint_bytes',
    help: 'Size of the last state checkpoint written.',
    registers: [this.registry],
  });
  readonly confidenceModel = new Gauge({
    name: 'harbinger_confidence_model_info',
    help: 'The confidence model in use (1 for the current one).',
    labelNames: ['source', 'version', 'backend'],
    registers: [this.registry],
  });
  readonly httpRequests = new Counter({
    name: 'harbinger_http_requests_total',
    help: 'HTTP requests, by route and status code.',
    labelNames: ['route', 'code'],
    registers: [this.registry],
  });

  /** Each integration's families, registered by its own module. */
  readonly delivery = new DeliveryMetrics(this.registry);
  readonly prometheus = pollMetrics(this.registry);
  readonly slack = slackMetrics(this.registry);
  readonly kafka = kafkaMetrics(this.registry);

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    // prom-client names three gauges with a counter's `_total` suffix, which `promtool check metrics`
    // rejects; nodejs_active_handles / _requests / _resources carry the same numbers under valid names.
    for (const name of NON_COUNTERS_NAMED_TOTAL) this.registry.removeSingleMetric(name);
  }
  /**
   * Families of features that are off are not exported: a Kafka lag stuck at 0 on an embedded
   * service, or a Slack outbox on one without Slack, reads as a broken part on a dashboard.
   */
  exportOnly(features: { slack: boolean; kafka: boolean; prometheus: boolean; delivery?: boolean }): void {
    const off = [
      ...((features.delivery ?? features.slack) ? [] : ['harbinger_delivery_']),
      ...(features.slack ? [] : ['harbinger_slack_']),
      ...(features.kafka ? [] : ['harbinger_kafka_']),
      ...(features.prometheus ? [] : ['harbinger_prometheus_']),
    ];
    for (const m of this.registry.getMetricsAsArray()) if (off.some((p) => m.name.startsWith(p))) this.registry.removeSingleMetric(m.name);
  }
}

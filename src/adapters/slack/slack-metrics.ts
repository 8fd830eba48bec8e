import { Counter, Gauge, type Registry } from 'prom-client';

/** The Slack feed's families (harbinger_slack_*). */
export function slackMetrics(registry: Registry) {
  return {
    messages: new Counter({
      name: 'harbinger_slack_messages_total',
      help: 'Slack deliveries (post, update, reply) by result.',
      labelNames: ['kind', 'result'],
      registers: [registry],
    }),
    outbox: new Gauge({ name: 'harbinger_slack_outbox_depth', help: 'Slack messages waiting in the outbox.', registers: [registry] }),
  };
}

export type SlackMetrics = ReturnType<typeof slackMetrics>;

import { join } from 'node:path';
import type { HarbingerConfig } from '../../config/load.js';
import type { DecisionEvent, Recommendation } from '../../domain/decision.js';
import type { FileAuditLog } from '../../adapters/file/audit-log.js';
import type { ServiceMetrics } from '../../adapters/http/metrics.js';
import type { Logger } from '../../adapters/log/logger.js';
import type { SlackFeed } from '../../adapters/slack/slack-feed.js';
import { auditSink } from './audit-sink.js';
import type { DecisionSink } from './decision-sink.js';
import { feedSink } from './feed-sink.js';
import { metricsSink } from './metrics-sink.js';
import type { routingSink } from './routing-sink.js';
import { trainingLogSink } from './training-log-sink.js';

/**
 * The decision sinks `serve` runs, from its configuration, in order: the audit entry is on disk
 * before anything acts on the decision (feed, Slack, metrics, the routing controller, the
 * training log).
 */
export function decisionSinks(p: {
  cfg: HarbingerConfig;
  audit: FileAuditLog;
  slack: SlackFeed | undefined;
  routing: ReturnType<typeof routingSink>;
  recommendation: (id: string) => Recommendation | undefined;
  metrics: ServiceMetrics;
  log: Logger;
}): DecisionSink[] {
  const { cfg, slack } = p;
  const dir = cfg.server.dataDir;
  return [
    auditSink(p.audit),
    feedSink(join(dir, 'recommendations.jsonl'), cfg.server.logs.feed),
    ...(slack !== undefined ? [{ name: 'slack', decision: (e: DecisionEvent) => slack.onDecision(e) }] : []),
    metricsSink(p.metrics, p.log, cfg.server.consoleFeed),
    p.routing,
    trainingLogSink(dir, p.recommendation, p.log, cfg.server.logs.trainingLog),
  ];
}

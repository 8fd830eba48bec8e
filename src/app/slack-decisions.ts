import type { IncomingMessage } from 'node:http';
import type { DecisionResult } from '../domain/decision.js';
import type { ServiceMetrics } from '../adapters/http/metrics.js';
import type { Logger } from '../adapters/log/logger.js';
import type { SlackApprovers } from '../adapters/slack/approvers.js';
import type { SlackFeed } from '../adapters/slack/slack-feed.js';

type Decide = (id: string, verdict: 'approve' | 'reject', by: string) => DecisionResult | Promise<DecisionResult>;

/**
 * Slack's interactivity endpoint: verify the signature on the raw body (the feed does, with its
 * replay window), acknowledge at once (Slack wants an answer within 3 seconds), and apply the
 * decision right after, if the person who clicked may decide (slack.approvers).
 */
export async function slackInteraction(
  slack: SlackFeed | undefined,
  approvers: SlackApprovers | undefined,
  req: IncomingMessage,
  body: Buffer,
  nowMs: number,
  decide: Decide,
  metrics: ServiceMetrics,
  log: Logger,
): Promise<{ status: number; body: unknown }> {
  if (slack === undefined)
    return { status: 404, body: { error: 'Slack is not configured (set SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL, and SLACK_SIGNING_SECRET)' } };
  const r = slack.handleInteraction({ headers: req.headers, rawBody: body, nowSeconds: Math.floor(nowMs / 1000) });
  // Only the listed people (or members of the listed user groups) may approve or reject; a click
  // from anyone else in the channel changes nothing.
  const allowed = r.decision !== undefined && approvers !== undefined ? await approvers.allows(r.decision.userId) : undefined;
  if (r.decision !== undefined && allowed?.allowed === false) {
    log.warn(
      { recommendation: r.decision.recommendationId, user: r.decision.userId, verdict: r.decision.verdict, why: allowed.reason },
      'Slack decision from a user not in slack.approvers: ignored',
    );
    metrics.slack.messages.inc({ kind: 'decision', result: 'refused' });
    return {
      status: 200,
      body: { response_type: 'ephemeral', replace_original: false, text: 'You are not in the approvers for Harbinger recommendations: nothing was changed.' },
    };
  }
  if (r.decision !== undefined) {
    const d = r.decision;
    setImmediate(() => {
      new Promise<DecisionResult>((resolve) => resolve(decide(d.recommendationId, d.verdict, d.userId))).then(
        (res) => log.info({ recommendation: d.recommendationId, verdict: d.verdict, user: d.userId, result: res.reason }, 'decision from Slack'),
        (err: Error) => log.error({ recommendation: d.recommendationId, err: err.message }, 'decision from Slack failed'),
      );
    });
  }
  return { status: r.status, body: r.body };
}

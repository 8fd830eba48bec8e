import type { Logger } from '../log/logger.js';
import { parseInteraction, type SlackDecision } from './interaction.js';
import { verifySlackSignature } from './signature.js';

export interface InteractionRequest {
  /** Node's (lower-cased) header map; any case is accepted. */
  headers: Record<string, string | string[] | undefined>;
  rawBody: string | Buffer;
  nowSeconds: number;
}

export interface InteractionResponse {
  status: number;
  body: unknown;
  /** Present when a signed, valid Approve/Reject click arrived: apply it after acknowledging. */
  decision?: SlackDecision;
}

function header(headers: InteractionRequest['headers'], name: string): string | string[] | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

/**
 * Verifies and parses a Slack interactivity request; returns at once. The caller answers
 * `status`/`body` (200 within Slack's 3 s) and applies `decision` afterwards.
 */
export function answerInteraction(req: InteractionRequest, signingSecret: string | undefined, log: Pick<Logger, 'info' | 'warn'>): InteractionResponse {
  if (signingSecret === undefined || signingSecret === '') return { status: 404, body: { error: 'slack interactivity is not configured (no signing secret)' } };
  const verdict = verifySlackSignature({
    signingSecret,
    timestampHeader: header(req.headers, 'x-slack-request-timestamp'),
    signatureHeader: header(req.headers, 'x-slack-signature'),
    rawBody: req.rawBody,
    nowSeconds: req.nowSeconds,
  });
  if (!verdict.ok) {
    log.warn({ reason: verdict.reason }, 'slack: refused an interaction request');
    return { status: 401, body: { error: verdict.reason } };
  }
  const parsed = parseInteraction(req.rawBody);
  if (!parsed.ok) {
    log.warn({ reason: parsed.reason }, 'slack: unusable interaction payload');
    return { status: 400, body: { error: parsed.reason } };
  }
  const d = parsed.decision;
  log.info({ recommendation: d.recommendationId, verdict: d.verdict, user: d.user, userId: d.userId }, 'slack: decision received');
  return { status: 200, body: '', decision: d };
}

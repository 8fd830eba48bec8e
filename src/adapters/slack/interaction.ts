import { z } from 'zod';
import { APPROVE_ACTION_ID, REJECT_ACTION_ID } from './blocks.js';

/**
 * Slack interactivity requests: `application/x-www-form-urlencoded` with one `payload` field
 * holding JSON. We accept only `block_actions` from our own Approve/Reject buttons.
 */

export interface SlackDecision {
  recommendationId: string;
  verdict: 'approve' | 'reject';
  /** Who clicked: Slack username (or display name), falling back to the user id. */
  user: string;
  /** Stable Slack user id (U…/W…), for the audit log. */
  userId: string;
  teamId?: string;
  channel?: string;
  messageTs?: string;
  responseUrl?: string;
}

export type ParseInteractionResult = { ok: true; decision: SlackDecision } | { ok: false; reason: string };

const BlockActions = z.object({
  type: z.literal('block_actions'),
  user: z.object({
    id: z.string().min(1).max(64),
    username: z.string().max(256).optional(),
    name: z.string().max(256).optional(),
    team_id: z.string().max(64).optional(),
  }),
  team: z.object({ id: z.string().max(64) }).nullish(),
  actions: z
    .array(
      z.object({
        action_id: z.string().max(255),
        value: z.string().max(2000).optional(),
        type: z.string().optional(),
      }),
    )
    .min(1),
  container: z.object({ message_ts: z.string().max(64).optional(), channel_id: z.string().max(64).optional() }).nullish(),
  channel: z.object({ id: z.string().max(64) }).nullish(),
  message: z.object({ ts: z.string().max(64).optional() }).nullish(),
  response_url: z.string().max(2000).optional(),
});

const VERDICTS: Record<string, SlackDecision['verdict']> = { [APPROVE_ACTION_ID]: 'approve', [REJECT_ACTION_ID]: 'reject' };

/** Parses the raw (already signature-verified) body of a Slack interactivity request. */
export function parseInteraction(rawBody: string | Buffer): ParseInteractionResult {
  const body = typeof rawBody === 'string' ? rawBody : rawBody.toString('utf8');
  const payloadText = new URLSearchParams(body).get('payload');
  if (payloadText === null || payloadText === '') return { ok: false, reason: 'no payload field in the form body' };

  let json: unknown;
  try {
    json = JSON.parse(payloadText);
  } catch {
    return { ok: false, reason: 'payload is not valid JSON' };
  }
  if (typeof json === 'object' && json !== null && 'type' in json && (json as { type: unknown }).type !== 'block_actions') {
    // Quoted only when it is a short string: serializing whatever was sent could overflow the stack.
    const type = (json as { type: unknown }).type;
    return {
      ok: false,
      reason: `unsupported interaction type ${typeof type === 'string' ? JSON.stringify(type.slice(0, 60)) : `(a ${Array.isArray(type) ? 'list' : typeof type})`}`,
    };
  }
  const parsed = BlockActions.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `invalid block_actions payload${issue !== undefined ? `: ${issue.path.join('.') || '(root)'}: ${issue.message}` : ''}` };
  }
  const p = parsed.data;
  const action = p.actions.find((a) => VERDICTS[a.action_id] !== undefined);
  if (action === undefined) return { ok: false, reason: `no Harbinger action in payload (got ${p.actions.map((a) => a.action_id).join(', ')})` };
  const recommendationId = action.value?.trim() ?? '';
  if (recommendationId === '') return { ok: false, reason: 'action has no recommendation id value' };

  const decision: SlackDecision = {
    recommendationId,
    verdict: VERDICTS[action.action_id]!,
    user: p.user.username ?? p.user.name ?? p.user.id,
    userId: p.user.id,
  };
  const teamId = p.team?.id ?? p.user.team_id;
  if (teamId !== undefined) decision.teamId = teamId;
  const channel = p.channel?.id ?? p.container?.channel_id;
  if (channel !== undefined) decision.channel = channel;
  const messageTs = p.container?.message_ts ?? p.message?.ts;
  if (messageTs !== undefined) decision.messageTs = messageTs;
  if (p.response_url !== undefined) decision.responseUrl = p.response_url;
  return { ok: true, decision };
}

import { MITIGATIONS, type OutcomeEvent, type PhaseResult, type Recommendation, type RecommendationStatus } from '../../domain/decision.js';
import { hhmm } from '../../core/clock-text.js';

/**
 * Slack Block Kit rendering of recommendations and outcomes. Pure: no I/O, no clock.
 *
 * Limits (Slack Block Kit reference): header plain_text ≤ 150 chars, section text ≤ 3000,
 * section fields ≤ 10 items of ≤ 2000, context ≤ 10 elements, button text ≤ 75, action_id ≤ 255,
 * button value ≤ 2000, block_id ≤ 255, at most 50 blocks per message; confirm dialog title ≤ 100,
 * text ≤ 300, confirm/deny ≤ 30. Every string built here is clamped to stay inside them, whatever
 * the evidence strings hold.
 */
export const SLACK_LIMITS = {
  maxBlocks: 50,
  headerText: 150,
  sectionText: 3000,
  fieldText: 2000,
  maxFields: 10,
  contextElements: 10,
  contextText: 3000,
  buttonText: 75,
  actionId: 255,
  actionValue: 2000,
  blockId: 255,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  /** Our own cap for the notification fallback `text` (Slack truncates at 40,000). */
  fallbackText: 3000,
} as const;

export const APPROVE_ACTION_ID = 'harbinger_approve';
export const REJECT_ACTION_ID = 'harbinger_reject';

export interface SlackMessage {
  /** Plain fallback, shown in notifications and by clients that cannot render blocks. */
  text: string;
  blocks: unknown[];
}

export interface RecommendationMessageOptions {
  /** Approve/Reject buttons (bot mode only; incoming webhooks cannot take interactivity). */
  withButtons: boolean;
  /** Link to the incident (console, dashboard); shown in the footer. */
  incidentUrl?: string;
  /** Who decided (shown with approved/rejected states), e.g. a Slack user id or name. */
  decidedBy?: string;
}

const MARK: Record<PhaseResult, string> = { pass: '✓', fail: '✗', stop: '■', skip: '·', pending: '…' };

const STATUS_LABEL: Record<RecommendationStatus, string> = {
  awaiting_approval: ':hourglass_flowing_sand: awaiting approval',
  approved: ':white_check_mark: approved',
  rejected: ':no_entry_sign: rejected',
  executed: ':gear: executed',
  failed: ':boom: failed (the routing controller could not apply it)',
  blocked: ':octagonal_sign: blocked by guardrail',
  expired: ':hourglass: expired (no decision in time)',
  informational: ':information_source: informational',
};

const STATUS_PLAIN: Record<RecommendationStatus, string> = {
  awaiting_approval: 'AWAITING APPROVAL',
  approved: 'approved',
  rejected: 'rejected',
  executed: 'executed',
  failed: 'FAILED',
  blocked: 'blocked',
  expired: 'expired',
  informational: 'informational',
};

// ---------------------------------------------------------------------------------------------
// text helpers

/** Cuts `s` to at most `max` UTF-16 units, ending with '…', never splitting a surrogate pair. */
export function clamp(s: string, max: number): string {
  if (s.length <= max) return s;
  if (max <= 0) return '';
  let cut = max - 1;
  const code = s.charCodeAt(cut - 1);
  if (cut > 0 && code >= 0xd800 && code <= 0xdbff) cut -= 1; // high surrogate left dangling
  return `${s.slice(0, cut)}…`;
}

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Escaped and clamped. */
function md(s: string, max: number): string {
  return clampEscaped(escapeMrkdwn(s), max);
}

/** Clamp already-escaped mrkdwn without cutting an HTML entity (&amp; &lt; &gt;) in half. */
function clampEscaped(escaped: string, max: number): string {
  if (escaped.length <= max) return escaped;
  let out = clamp(escaped, max);
  // an entity is at most 5 chars (&amp;): drop a partial one just before the ellipsis
  const body = out.slice(0, -1);
  const amp = body.lastIndexOf('&');
  if (amp !== -1 && amp >= body.length - 5 && !body.slice(amp).includes(';')) out = `${body.slice(0, amp)}…`;
  return out;
}

/** Plain text (header, buttons): no escaping needed, control characters flattened. */
function plain(s: string, max: number): string {
  return clamp(s.replace(/[\r\n\t]+/g, ' '), max);
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').trim();
}

function utc(ts: number): string {
  return new Date(ts).toISOString().slice(0, 16).replace('T', ' ');
}

function humanPhase(name: string): string {
  return name.replace(/_/g, ' ');
}

// ---------------------------------------------------------------------------------------------
// recommendation message

/** "Shift 20 % of checkout traffic away from us-west-2" and friends. */
export function headline(rec: Recommendation): string {
  switch (rec.action) {
    case 'shift_traffic':
      return `Shift ${rec.percent} % of ${rec.service} traffic away from ${rec.stack}`;
    case 'rollback':
      return `Roll back ${rec.service} on ${rec.stack}`;
    case 'pause_rollout':
      return `Pause the ${rec.service} rollout on ${rec.stack}`;
    case 'pre_scale':
      return `Pre-scale ${rec.service} on ${rec.stack} to ×${rec.capacity?.factor.toFixed(2) ?? '?'} capacity${rec.capacity?.targetUnits !== undefined ? ` (${rec.capacity.targetUnits})` : ''} before ${rec.forecast?.eventId ?? 'the scheduled event'}`;
    case 'observe':
      return `Watching ${rec.service} on ${rec.stack}`;
    case 'none':
      return `No action needed: ${rec.service} on ${rec.stack}`;
  }
}

function breachText(rec: Recommendation): string {
  if (rec.predictedBreachAt === null) return 'none predicted';
  const mins = Math.round((rec.predictedBreachAt - rec.ts) / 60_000);
  if (mins <= 0) return `${hhmm(rec.predictedBreachAt)} UTC (already breached)`;
  return `${hhmm(rec.predictedBreachAt)} UTC (in ${mins} min)`;
}

function guardrailText(rec: Recommendation): string {
  const rule = rec.blockedBy !== null ? `:octagonal_sign: blocked by ${md(oneLine(rec.blockedBy), 600)}` : 'within guardrails';
  return `${rule}\n${rec.requiresApproval ? 'human approval required' : 'no approval required'}`;
}

function phasesText(rec: Recommendation): string {
  if (rec.phases.length === 0) return '*ITR phases*\n_none recorded_';
  const head = '*ITR phases*\n';
  const n = rec.phases.length;
  // share the section budget between the phases; each line is "✓ *name*  evidence"
  const perLine = Math.max(40, Math.floor((SLACK_LIMITS.sectionText - head.length - n) / n));
  const lines = rec.phases.map((p) => {
    const label = `${MARK[p.result]} *${humanPhase(p.name)}*`;
    const room = Math.max(0, perLine - label.length - 2);
    const ev = oneLine(p.evidence);
    return ev === '' ? label : `${label}  ${md(ev, room)}`;
  });
  return clampLines(head + lines.join('\n'), SLACK_LIMITS.sectionText);
}

/** Clamp an already-escaped mrkdwn string at a line boundary when possible. */
function clampLines(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.lastIndexOf('\n', max - 2);
  return cut > 0 ? `${s.slice(0, cut)}\n…` : clampEscaped(s, max);
}

function finalState(rec: Recommendation, decidedBy: string | undefined): string | null {
  const who = decidedBy !== undefined && decidedBy !== '' ? ` by ${userRef(decidedBy)}` : '';
  switch (rec.status) {
    case 'approved':
      return `:white_check_mark: *Approved*${who}; waiting for execution.`;
    case 'executed':
      return `:gear: *Executed*${who}${rec.action === 'shift_traffic' ? `: ${rec.percent} % of traffic moved off ${md(rec.stack, 200)}` : ''}. Post-action validation follows in the thread.`;
    case 'rejected':
      return `:no_entry_sign: *Rejected*${who}. No change was made.`;
    case 'expired':
      return ':hourglass: *Expired*: no decision within the approval window. No change was made.';
    case 'blocked':
      return `:octagonal_sign: *Blocked* by guardrail${rec.blockedBy !== null ? ` \`${md(oneLine(rec.blockedBy), 600)}\`` : ''}. No change was made.`;
    default:
      return null;
  }
}

/** `<@U123>` for Slack user ids, escaped text otherwise. */
function userRef(by: string): string {
  if (/^[UW][A-Z0-9]{2,20}$/.test(by)) return `<@${by}>`;
  return md(oneLine(by), 200);
}

function fallback(rec: Recommendation): string {
  const mitigation = MITIGATIONS.has(rec.action);
  const parts = [`${mitigation ? '[Harbinger] ' : '[Harbinger info] '}${headline(rec)}`, STATUS_PLAIN[rec.status], `confidence ${rec.confidence.toFixed(2)}`];
  if (rec.predictedBreachAt !== null) parts.push(`SLO breach predicted ${breachText(rec)}`);
  if (rec.blockedBy !== null) parts.push(`blocked by ${oneLine(rec.blockedBy)}`);
  return md(parts.join(' | '), SLACK_LIMITS.fallbackText);
}

/**
 * The message for one recommendation. Awaiting approval with `withButtons`: Approve/Reject
 * buttons (action_id `harbinger_approve` / `harbinger_reject`, value = recommendation id).
 * Decided (approved/executed/rejected/expired/blocked): the final state instead of buttons, so
 * the same function renders the chat.update that closes the decision.
 */
export function recommendationMessage(rec: Recommendation, opts: RecommendationMessageOptions): SlackMessage {
  const blocks: unknown[] = [];
  blocks.push({ type: 'header', text: { type: 'plain_text', text: plain(headline(rec), SLACK_LIMITS.headerText), emoji: true } });

  const reason = oneLine(rec.reason);
  const summary = `*Status:* ${STATUS_LABEL[rec.status]}${rec.reverts !== undefined ? `  (reverts \`${md(rec.reverts, 200)}\`)` : ''}\n${md(reason, 2400)}`;
  const fields = [
    { type: 'mrkdwn', text: `*Confidence*\n${rec.confidence.toFixed(2)}` },
    { type: 'mrkdwn', text: `*Predicted SLO breach*\n${breachText(rec)}` },
    { type: 'mrkdwn', text: `*Guardrails*\n${guardrailText(rec)}` },
    { type: 'mrkdwn', text: `*Cause* (${rec.cause.kind.replace(/_/g, ' ')})\n${md(oneLine(rec.cause.reason), 1500)}` },
  ];
  if (rec.targets.length > 0) fields.push({ type: 'mrkdwn', text: `*Targets*\n${md(rec.targets.join(', '), 1500)}` });
  blocks.push({
    type: 'section',
    text: { type: 'mrkdwn', text: clampEscaped(summary, SLACK_LIMITS.sectionText) },
    fields: fields.map((f) => ({ ...f, text: clampEscaped(f.text, SLACK_LIMITS.fieldText) })),
  });

  if (rec.phases.length > 0 || MITIGATIONS.has(rec.action)) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: phasesText(rec) } });
  }

  const final = finalState(rec, opts.decidedBy);
  if (final !== null) {
    blocks.push({ type: 'divider' });
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clampEscaped(final, SLACK_LIMITS.sectionText) } });
  } else if (rec.status === 'awaiting_approval') {
    if (opts.withButtons) {
      blocks.push({
        type: 'actions',
        elements: [
          {
            type: 'button',
            action_id: APPROVE_ACTION_ID,
            text: { type: 'plain_text', text: 'Approve', emoji: true },
            style: 'primary',
            value: rec.id.slice(0, SLACK_LIMITS.actionValue),
            confirm: {
              title: { type: 'plain_text', text: 'Approve this mitigation?' },
              text: { type: 'mrkdwn', text: md(`${headline(rec)} (confidence ${rec.confidence.toFixed(2)}).`, SLACK_LIMITS.confirmText) },
              confirm: { type: 'plain_text', text: 'Approve' },
              deny: { type: 'plain_text', text: 'Cancel' },
            },
          },
          {
            type: 'button',
            action_id: REJECT_ACTION_ID,
            text: { type: 'plain_text', text: 'Reject', emoji: true },
            style: 'danger',
            value: rec.id.slice(0, SLACK_LIMITS.actionValue),
          },
        ],
      });
    } else {
      blocks.push({
        type: 'section',
        text: { type: 'mrkdwn', text: `:hourglass_flowing_sand: *Approval needed*: approve or reject recommendation \`${md(rec.id, 400)}\` in Harbinger.` },
      });
    }
  }

  const footer = [`Harbinger · ${utc(rec.ts)} UTC`, `rec \`${md(rec.id, 300)}\``, `incident \`${md(rec.incidentId, 300)}\``];
  if (opts.incidentUrl !== undefined && /^https?:\/\/[^\s|<>]+$/.test(opts.incidentUrl) && opts.incidentUrl.length <= 2000) {
    footer.push(`<${opts.incidentUrl}|open incident>`);
  }
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: clampEscaped(footer.join(' · '), SLACK_LIMITS.contextText) }] });

  return { text: fallback(rec), blocks: blocks.slice(0, SLACK_LIMITS.maxBlocks) };
}

// ---------------------------------------------------------------------------------------------
// outcomes

/** One thread reply for a workflow outcome (post-action validation, approvals with who). */
export function outcomeText(o: OutcomeEvent): string {
  const who = o.by !== undefined && o.by !== '' ? ` by ${userRef(o.by)}` : '';
  const reason = md(oneLine(o.reason), 2500);
  const at = `${hhmm(o.ts)} UTC`;
  let line: string;
  switch (o.outcome) {
    case 'effective':
      line = `:white_check_mark: *Post-action validation: effective* (${at}). ${reason}`;
      break;
    case 'ineffective':
      line = `:x: *Post-action validation: INEFFECTIVE* (${at}). ${reason} Consider reverting.`;
      break;
    case 'approved':
      line = `:white_check_mark: *Approved*${who} (${at}). ${reason}`;
      break;
    case 'rejected':
      line = `:no_entry_sign: *Rejected*${who} (${at}). ${reason}`;
      break;
    case 'executed':
      line = `:gear: *Executed*${who} (${at}). ${reason}`;
      break;
    case 'expired':
      line = `:hourglass: *Expired* (${at}): ${reason}`;
      break;
    case 'inconclusive':
      line = `:grey_question: *Post-action validation: inconclusive* (${at}). ${reason}`;
      break;
    case 'failed':
      line = `:boom: *Execution failed* (${at}). ${reason}`;
      break;
  }
  return clampEscaped(line.trim(), SLACK_LIMITS.sectionText);
}

import { randomUUID } from 'node:crypto';
import { MITIGATIONS, type DecisionEvent, type OutcomeEvent, type Recommendation, type RecommendationStatus } from '../../domain/decision.js';
import { backoffPolicy } from '../delivery/backoff.js';
import type { DeliveryResult } from '../delivery/delivery-result.js';
import { DeliveryStage, type Settlement } from '../delivery/delivery-stage.js';
import { SqliteOutbox } from '../delivery/sqlite-outbox.js';
import type { Logger } from '../log/logger.js';
import { clamp, escapeMrkdwn, outcomeText, recommendationMessage, type SlackMessage } from './blocks.js';
import type { DeliveryInfo, SlackConfig, SlackFeedOptions, SlackFeedStats, SlackSecrets } from './feed-options.js';
import { answerInteraction, type InteractionRequest, type InteractionResponse } from './interaction-request.js';
import { BotTokenTransport, WebhookTransport, type SendResult, type SlackTransport } from './slack-client.js';
import { MessageStates } from './message-states.js';
import { importLegacyOutbox, leastImportant, type SlackItem, type SlackRow } from './slack-outbox.js';

export type { OutboxKind } from './slack-outbox.js';

/**
 * The Slack sink of the decision stream. One message per recommendation that needs a human
 * (mitigations, plus explained/global "no action" notes when configured), updated in place
 * (bot mode: chat.update on the stored channel+ts) when its status changes, with outcomes as
 * thread replies. Never one message per sample.
 *
 * Delivery goes through the delivery stage (src/adapters/delivery/): an outbox on disk, so a
 * Slack outage or a restart loses nothing (at-least-once: an item in flight when the process
 * dies is sent again), one sender in order, Retry-After on 429, exponential backoff with jitter
 * on 5xx/network errors, no retry of permanent errors. What is Slack's own: which decisions make
 * a message, that a newer state of a message makes older queued ones pointless (coalesced), what
 * to drop first when full, and where each message lives. `onDecision` only enqueues: it never
 * waits for Slack.
 *
 * One SlackFeed per outbox file (no cross-process locking).
 */

export type { DeliveryInfo, SlackConfig, SlackFeedOptions, SlackFeedStats, SlackSecrets } from './feed-options.js';
export type { InteractionRequest, InteractionResponse } from './interaction-request.js';

const OUTCOME_STATUS: Partial<Record<OutcomeEvent['outcome'], RecommendationStatus>> = {
  approved: 'approved',
  rejected: 'rejected',
  expired: 'expired',
  executed: 'executed',
};

/** chat.update errors after which the message can only be re-posted. */
const UPDATE_GONE = new Set(['message_not_found', 'cant_update_message', 'edit_window_closed', 'channel_not_found', 'is_archived']);

const noopLogger = { debug() {}, info() {}, warn() {}, error() {} };
type FeedLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export class SlackFeed {
  private readonly cfg: SlackConfig;
  private readonly transport: SlackTransport;
  private readonly log: FeedLogger;
  private readonly now: () => number;
  private readonly outbox: SqliteOutbox<SlackItem>;
  private readonly stage: DeliveryStage<SlackItem>;
  private readonly states: MessageStates;

  constructor(private readonly opts: SlackFeedOptions) {
    this.cfg = opts.config;
    this.log = opts.logger ?? noopLogger;
    this.now = opts.now ?? Date.now;
    this.transport = opts.transport ?? SlackFeed.buildTransport(opts.config, opts.secrets);
    this.outbox = new SqliteOutbox<SlackItem>(this.cfg.outboxPath);
    if (this.cfg.legacyOutboxPath !== undefined) {
      const moved = importLegacyOutbox(this.cfg.legacyOutboxPath, this.outbox);
      if (moved > 0) this.log.info({ moved }, 'slack: moved undelivered messages from the old JSON-lines outbox');
    }
    // `stage` is not built yet while the receipts load: nothing is queued then.
    this.states = new MessageStates(this.outbox, this.log, () => (this.stage as typeof this.stage | undefined)?.pending().map((i) => i.payload.recId) ?? []);
    this.stage = new DeliveryStage<SlackItem>({
      target: 'slack',
      outbox: this.outbox,
      send: (item, later) => this.deliver(item, later.at(-1) ?? item).then(classify),
      policy: backoffPolicy({ baseMs: opts.backoffBaseMs ?? 1000, capMs: opts.backoffCapMs ?? 60_000, jitter: 0.5 }),
      maxQueued: Math.max(1, opts.maxQueue ?? 1000),
      ...(opts.maxAttempts !== undefined ? { maxAttempts: opts.maxAttempts } : {}),
      // A newer state of the same message is sent in place of the older ones; replies each stand alone.
      coalesceKey: (p) => (p.kind === 'reply' ? undefined : p.recId),
      chooseVictim: leastImportant,
      onSettled: (item, s) => this.settled(item, s),
      onRetry: (item, r, attempts, delayMs) => {
        const info = this.info(item, attempts);
        this.log.warn({ recommendation: info.recommendationId, kind: info.kind, attempts, error: r.reason, delayMs }, 'slack: delivery failed, retrying');
        this.opts.onRetry?.({ ...info, error: r.reason, delayMs });
      },
      log: this.log,
      now: this.now,
      ...(opts.observer !== undefined ? { observer: opts.observer } : {}),
      ...(opts.sleep !== undefined ? { sleep: opts.sleep } : {}),
      ...(opts.random !== undefined ? { random: opts.random } : {}),
    });
    this.states.restore(this.stage.pending().map((i) => i.payload));
  }

  private static buildTransport(cfg: SlackConfig, secrets: SlackSecrets): SlackTransport {
    if (cfg.mode === 'bot') {
      if (secrets.botToken === undefined || secrets.botToken === '') throw new Error('slack: mode "bot" needs a bot token (SLACK_BOT_TOKEN)');
      if (cfg.channel === undefined || cfg.channel === '') throw new Error('slack: mode "bot" needs a channel');
      return new BotTokenTransport({ token: secrets.botToken, channel: cfg.channel, ...(cfg.baseUrl !== undefined ? { baseUrl: cfg.baseUrl } : {}) });
    }
    if (secrets.webhookUrl === undefined || secrets.webhookUrl === '')
      throw new Error('slack: mode "webhook" needs an incoming-webhook URL (SLACK_WEBHOOK_URL)');
    return new WebhookTransport({ url: secrets.webhookUrl });
  }

  private get bot(): boolean {
    return this.transport.mode === 'bot' && this.transport.update !== undefined;
  }

  // -------------------------------------------------------------------------------------------
  // public API

  /**
   * Bot mode: asks Slack's `auth.test` whether the token is accepted. Returns the reason when Slack
   * refuses it (a revoked or mistyped token: every message would fail); undefined when accepted, in
   * webhook mode, or when Slack cannot be reached now (the outbox retries, so that is no reason to
   * refuse to start: it is logged).
   */
  async verify(): Promise<string | undefined> {
    const r = await this.transport.authTest?.();
    if (r === undefined || r.ok) return undefined;
    if (!/^auth\.test: (invalid_auth|not_authed|account_inactive|token_revoked|token_expired)$/.test(r.error ?? '')) {
      this.log.warn({ err: r.error }, 'slack: auth.test could not be checked now; messages will be retried');
      return undefined;
    }
    return `Slack refused the bot token (${r.error}): check SLACK_BOT_TOKEN`;
  }

  /** Starts the sender loop (idempotent). */
  start(): void {
    this.stage.start();
  }

  /** Stops the sender after a best-effort flush; unsent items stay in the outbox. */
  stop(deadlineMs = 5000): Promise<void> {
    return this.stage.stop(deadlineMs);
  }

  /** Resolves true once everything queued so far is delivered or given up on, false on timeout. */
  flush(timeoutMs = 5000): Promise<boolean> {
    return this.stage.flush(timeoutMs);
  }

  queueDepth(): number {
    return this.stage.depth();
  }

  stats(): SlackFeedStats {
    const s = this.stage.stats();
    return {
      queueDepth: s.queued,
      sent: s.delivered,
      failed: s.failed,
      dropped: s.dropped,
      superseded: s.superseded,
      retries: s.retries,
      persistErrors: s.persistErrors,
    };
  }

  /** Consumes one decision event. Never throws, never waits for Slack. */
  onDecision(e: DecisionEvent): void {
    try {
      switch (e.type) {
        case 'recommendation':
          this.onRecommendation(e);
          break;
        case 'outcome':
          this.onOutcome(e);
          break;
        case 'incident':
          if (e.transition === 'resolved') this.onIncidentResolved(e.incident.id, e.summary);
          break;
      }
    } catch (err) {
      this.log.error({ err: String(err) }, 'slack: failed to enqueue a decision event');
    }
  }

  /**
   * Verifies and parses a Slack interactivity request; returns at once. The caller answers
   * `status`/`body` (200 within Slack's 3 s) and applies `decision` afterwards.
   */
  handleInteraction(req: InteractionRequest): InteractionResponse {
    return answerInteraction(req, this.opts.secrets.signingSecret, this.log);
  }

  // -------------------------------------------------------------------------------------------
  // what needs attention

  private relevant(rec: Recommendation): boolean {
    if (MITIGATIONS.has(rec.action)) return true;
    // Decisions not to act that name why: explained by an event, global, or (observe) another
    // service's incident on the stack. A bare observe (not yet sustained, no SLO risk) is noise here.
    return (
      this.cfg.includeInformational === true &&
      (rec.action === 'none' || rec.action === 'observe') &&
      (rec.cause.kind === 'explained' || rec.cause.kind === 'global')
    );
  }

  private onRecommendation(rec: Recommendation): void {
    if (!this.relevant(rec)) return;
    const st = this.states.get(rec.id);
    if (st === undefined) {
      this.states.set(rec.id, { incidentId: rec.incidentId, status: rec.status, rec });
      this.enqueue({ kind: 'post', recId: rec.id, rec });
      return;
    }
    st.rec = rec;
    if (st.status === rec.status) return; // same state again (a new sample): nothing to say
    st.status = rec.status;
    this.enqueue({ kind: this.bot ? 'update' : 'post', recId: rec.id, rec, ...(st.decidedBy !== undefined ? { decidedBy: st.decidedBy } : {}) });
  }

  private onOutcome(o: OutcomeEvent): void {
    const st = this.states.get(o.recommendationId);
    if (st === undefined) return; // not a recommendation we posted
    const newDecider = o.by !== undefined && o.by !== '' && o.by !== st.decidedBy && (o.outcome === 'approved' || o.outcome === 'rejected');
    if (newDecider) st.decidedBy = o.by;
    const status = OUTCOME_STATUS[o.outcome];
    let statusChanged = false;
    if (status !== undefined && st.status !== status && st.rec !== undefined) {
      st.status = status;
      const rec: Recommendation = { ...st.rec, status };
      st.rec = rec;
      this.enqueue({ kind: this.bot ? 'update' : 'post', recId: o.recommendationId, rec, ...(st.decidedBy !== undefined ? { decidedBy: st.decidedBy } : {}) });
      statusChanged = true;
    } else if (newDecider && this.bot && st.rec !== undefined) {
      // the status came first (from the recommendation itself): now say who decided
      this.enqueue({ kind: 'update', recId: o.recommendationId, rec: st.rec, decidedBy: st.decidedBy! });
    }
    // Bot: the thread is the history, every outcome goes there. Webhook: a new message only
    // when the status message above did not already say it.
    if (this.bot || !statusChanged) this.enqueue({ kind: 'reply', recId: o.recommendationId, text: outcomeText(o) });
  }

  private onIncidentResolved(incidentId: string, summary: string): void {
    const last = this.states.lastOfIncident(incidentId);
    if (last === undefined) return;
    this.enqueue({
      kind: 'reply',
      recId: last,
      text: `:large_green_circle: *Incident resolved* (\`${escapeMrkdwn(incidentId)}\`). ${clamp(escapeMrkdwn(summary.replace(/[\r\n]+/g, ' ')), 2500)}`,
    });
  }

  // -------------------------------------------------------------------------------------------
  // outbox (the delivery stage keeps it; what is Slack's is below)

  private enqueue(partial: Omit<SlackItem, 'createdAt'>): void {
    void this.stage.enqueue(randomUUID(), { createdAt: this.now(), ...partial });
  }

  private info(item: SlackRow, attempts: number): DeliveryInfo {
    return { id: item.key, kind: item.payload.kind, recommendationId: item.payload.recId, attempts };
  }

  private settled(item: SlackRow, s: Settlement<unknown>): void {
    const info = this.info(item, s.attempts);
    if (s.kind === 'delivered') this.opts.onSent?.(info);
    else if (s.kind === 'refused' || s.kind === 'gave_up') {
      this.log.error({ recommendation: info.recommendationId, kind: info.kind, attempts: s.attempts, error: s.reason }, 'slack: giving up on a message');
      this.opts.onFailed?.({ ...info, error: s.reason });
    } else if (s.kind === 'dropped') this.log.debug({ recommendation: info.recommendationId, kind: info.kind }, 'slack: outbox full, dropped a message');
  }

  private render(latest: SlackItem): SlackMessage {
    const rec = latest.rec!;
    const url = this.opts.incidentUrl?.(rec.incidentId);
    const decidedBy = this.states.get(latest.recId)?.decidedBy ?? latest.decidedBy;
    return recommendationMessage(rec, {
      withButtons: this.bot,
      ...(url !== undefined ? { incidentUrl: url } : {}),
      ...(decidedBy !== undefined ? { decidedBy } : {}),
    });
  }

  private async deliver(row: SlackRow, latestRow: SlackRow): Promise<SendResult> {
    const item = row.payload;
    const latest = latestRow.payload;
    const st = this.states.get(item.recId);
    if (item.kind === 'reply') {
      const text = item.text ?? '';
      if (this.bot && this.transport.reply !== undefined && st?.channel !== undefined && st.ts !== undefined)
        return this.transport.reply(st.channel, st.ts, text);
      return this.transport.post({ text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });
    }
    const msg = this.render(latest);
    if (item.kind === 'update' && this.bot && this.transport.update !== undefined && st?.channel !== undefined && st.ts !== undefined) {
      const res = await this.transport.update(st.channel, st.ts, msg);
      if (res.ok || res.retriable || ![...UPDATE_GONE].some((e) => res.error.endsWith(`: ${e}`))) {
        if (res.ok) this.states.delivered(item.recId, latest, st);
        return res;
      }
      this.log.warn({ recommendation: item.recId, error: res.error }, 'slack: message cannot be updated any more, posting a new one');
    }
    const res = await this.transport.post(msg);
    if (res.ok) this.states.delivered(item.recId, latest, res);
    return res;
  }
}

/** Slack's answer in the stage's terms (the client already decided what is worth retrying). */
function classify(res: SendResult): DeliveryResult {
  if (res.ok) return { kind: 'delivered' };
  if (!res.retriable) return { kind: 'permanent_failure', reason: res.error };
  return { kind: 'retry_later', reason: res.error, ...(res.retryAfterMs !== undefined ? { retryAfterMs: res.retryAfterMs } : {}) };
}

import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { MITIGATIONS, type DecisionEvent, type OutcomeEvent, type Recommendation, type RecommendationStatus } from '../../domain/decision.js';
import type { Logger } from '../log/logger.js';
import { clamp, escapeMrkdwn, outcomeText, recommendationMessage, type SlackMessage } from './blocks.js';
import { parseInteraction, type SlackDecision } from './interaction.js';
import { verifySlackSignature } from './signature.js';
import { BotTokenTransport, WebhookTransport, type SendResult, type SlackTransport } from './slack-client.js';

/**
 * The Slack sink of the decision stream. One message per recommendation that needs a human
 * (mitigations, plus explained/global "no action" notes when configured), updated in place
 * (bot mode: chat.update on the stored channel+ts) when its status changes, with outcomes as
 * thread replies. Never one message per sample.
 *
 * Delivery goes through an outbox: a bounded in-memory FIFO mirrored to an append-only JSONL
 * file, so a Slack outage or a restart loses nothing (at-least-once: an item in flight when the
 * process dies is sent again). One sender loop delivers in order, honours Retry-After on 429,
 * backs off exponentially with jitter on 5xx/network errors and gives up on permanent errors.
 * `onDecision` only enqueues: it never waits for Slack.
 *
 * One SlackFeed per outbox file (no cross-process locking).
 */

export interface SlackConfig {
  mode: 'bot' | 'webhook';
  /** Bot mode: channel id (C…) or name to post to. */
  channel?: string;
  /** Bot mode: Web API base URL (default https://slack.com). */
  baseUrl?: string;
  /** Also post `none` recommendations whose cause is 'explained' or 'global' (default false). */
  includeInformational?: boolean;
  /** Append-only JSONL outbox (created with its directory if missing). */
  outboxPath: string;
}

/** Secrets, kept apart from the config so the config can be logged. */
export interface SlackSecrets {
  botToken?: string;
  webhookUrl?: string;
  signingSecret?: string;
}

export type OutboxKind = 'post' | 'update' | 'reply';

export interface DeliveryInfo {
  id: string;
  kind: OutboxKind;
  recommendationId: string;
  attempts: number;
}

export interface SlackFeedStats {
  queueDepth: number;
  sent: number;
  /** Permanent failures (gave up). */
  failed: number;
  /** Evicted because the queue was full. */
  dropped: number;
  /** Updates made pointless by a later state of the same recommendation. */
  superseded: number;
  retries: number;
  persistErrors: number;
}

export interface SlackFeedOptions {
  config: SlackConfig;
  secrets: SlackSecrets;
  logger?: Logger;
  /** Replaces the transport built from config+secrets (tests, custom clients). */
  transport?: SlackTransport;
  /** Wall clock, ms (default Date.now). */
  now?: () => number;
  /** Delay between attempts (default setTimeout); tests inject a recorder. */
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0,1) (default Math.random). */
  random?: () => number;
  /** Max queued items (default 1000). */
  maxQueue?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  /** Give up on an item after this many retriable failures (default: never). */
  maxAttempts?: number;
  /** Link for an incident, shown in the message footer. */
  incidentUrl?: (incidentId: string) => string | undefined;
  onSent?: (info: DeliveryInfo) => void;
  onFailed?: (info: DeliveryInfo & { error: string }) => void;
  onRetry?: (info: DeliveryInfo & { error: string; delayMs: number }) => void;
}

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

interface OutboxItem {
  id: string;
  kind: OutboxKind;
  recId: string;
  createdAt: number;
  rec?: Recommendation;
  decidedBy?: string;
  text?: string;
}

interface RecState {
  incidentId: string;
  /** Latest accepted status (what the message should show). */
  status: RecommendationStatus;
  rec?: Recommendation;
  decidedBy?: string;
  channel?: string;
  ts?: string;
}

type OutboxLine =
  | { op: 'enqueue'; item: OutboxItem }
  | { op: 'done'; id: string; result: 'sent' | 'failed' | 'dropped' | 'superseded' }
  | { op: 'state'; recId: string; incidentId: string; status: RecommendationStatus; channel?: string; ts?: string; decidedBy?: string; rec?: Recommendation };

const OUTCOME_STATUS: Partial<Record<OutcomeEvent['outcome'], RecommendationStatus>> = {
  approved: 'approved',
  rejected: 'rejected',
  expired: 'expired',
  executed: 'executed',
};

/** chat.update errors after which the message can only be re-posted. */
const UPDATE_GONE = new Set(['message_not_found', 'cant_update_message', 'edit_window_closed', 'channel_not_found', 'is_archived']);

const MAX_STATES = 2000;
const OPEN_STATUSES: ReadonlySet<RecommendationStatus> = new Set(['awaiting_approval', 'approved']);
const COMPACT_AFTER_LINES = 5000;

const noopLogger = { debug() {}, info() {}, warn() {}, error() {} };
type FeedLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

function header(headers: InteractionRequest['headers'], name: string): string | string[] | undefined {
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return undefined;
}

export class SlackFeed {
  private readonly cfg: SlackConfig;
  private readonly transport: SlackTransport;
  private readonly log: FeedLogger;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly maxQueue: number;
  private readonly baseMs: number;
  private readonly capMs: number;
  private readonly maxAttempts: number;

  private readonly queue: OutboxItem[] = [];
  private readonly attempts = new Map<string, number>();
  private readonly states = new Map<string, RecState>();
  private readonly counters: Omit<SlackFeedStats, 'queueDepth'> = { sent: 0, failed: 0, dropped: 0, superseded: 0, retries: 0, persistErrors: 0 };
  private inflight: OutboxItem | undefined;
  private linesSinceCompact = 0;

  private started = false;
  private stopped = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  private stopWake: (() => void) | undefined;
  private readonly stopSignal: Promise<void>;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly opts: SlackFeedOptions) {
    this.cfg = opts.config;
    this.log = opts.logger ?? noopLogger;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.random = opts.random ?? Math.random;
    this.maxQueue = Math.max(1, opts.maxQueue ?? 1000);
    this.baseMs = opts.backoffBaseMs ?? 1000;
    this.capMs = opts.backoffCapMs ?? 60_000;
    this.maxAttempts = opts.maxAttempts ?? Number.POSITIVE_INFINITY;
    this.stopSignal = new Promise((r) => (this.stopWake = r));
    this.transport = opts.transport ?? SlackFeed.buildTransport(opts.config, opts.secrets);
    this.load();
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
    if (this.started || this.stopped) return;
    this.started = true;
    this.loopDone = this.loop().catch((err: unknown) => {
      this.log.error({ err: String(err) }, 'slack: sender loop crashed');
    });
  }

  /** Stops the sender after a best-effort flush; unsent items stay in the outbox file. */
  async stop(deadlineMs = 5000): Promise<void> {
    if (this.stopped) return;
    const started = Date.now();
    if (this.started && (this.queue.length > 0 || this.inflight !== undefined)) {
      await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), realDelay(deadlineMs)]);
    }
    this.stopped = true;
    this.stopWake?.();
    this.wake?.();
    await Promise.race([this.loopDone, realDelay(Math.max(0, deadlineMs - (Date.now() - started)))]);
    if (this.queue.length > 0) this.log.warn({ pending: this.queue.length }, 'slack: stopped with undelivered messages; they stay in the outbox');
  }

  /** Resolves true once everything queued so far is delivered or given up on, false on timeout. */
  async flush(timeoutMs = 5000): Promise<boolean> {
    if (this.queue.length === 0 && this.inflight === undefined) return true;
    if (!this.started || this.stopped) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const idle = new Promise<boolean>((r) => this.idleWaiters.push(() => r(true)));
    const done = await Promise.race([idle, timeout]);
    clearTimeout(timer);
    return done;
  }

  queueDepth(): number {
    return this.queue.length;
  }

  stats(): SlackFeedStats {
    return { queueDepth: this.queue.length, ...this.counters };
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
    const secret = this.opts.secrets.signingSecret;
    if (secret === undefined || secret === '') return { status: 404, body: { error: 'slack interactivity is not configured (no signing secret)' } };
    const verdict = verifySlackSignature({
      signingSecret: secret,
      timestampHeader: header(req.headers, 'x-slack-request-timestamp'),
      signatureHeader: header(req.headers, 'x-slack-signature'),
      rawBody: req.rawBody,
      nowSeconds: req.nowSeconds,
    });
    if (!verdict.ok) {
      this.log.warn({ reason: verdict.reason }, 'slack: refused an interaction request');
      return { status: 401, body: { error: verdict.reason } };
    }
    const parsed = parseInteraction(req.rawBody);
    if (!parsed.ok) {
      this.log.warn({ reason: parsed.reason }, 'slack: unusable interaction payload');
      return { status: 400, body: { error: parsed.reason } };
    }
    const d = parsed.decision;
    this.log.info({ recommendation: d.recommendationId, verdict: d.verdict, user: d.user, userId: d.userId }, 'slack: decision received');
    return { status: 200, body: '', decision: d };
  }

  // -------------------------------------------------------------------------------------------
  // what needs attention

  private relevant(rec: Recommendation): boolean {
    if (MITIGATIONS.has(rec.action)) return true;
    return this.cfg.includeInformational === true && rec.action === 'none' && (rec.cause.kind === 'explained' || rec.cause.kind === 'global');
  }

  private onRecommendation(rec: Recommendation): void {
    if (!this.relevant(rec)) return;
    const st = this.states.get(rec.id);
    if (st === undefined) {
      this.setState(rec.id, { incidentId: rec.incidentId, status: rec.status, rec });
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
    let last: string | undefined;
    for (const [id, st] of this.states) if (st.incidentId === incidentId) last = id;
    if (last === undefined) return;
    this.enqueue({
      kind: 'reply',
      recId: last,
      text: `:large_green_circle: *Incident resolved* (\`${escapeMrkdwn(incidentId)}\`). ${clamp(escapeMrkdwn(summary.replace(/[\r\n]+/g, ' ')), 2500)}`,
    });
  }

  private setState(recId: string, st: RecState): void {
    this.states.delete(recId);
    this.states.set(recId, st);
    if (this.states.size <= MAX_STATES) return;
    const pending = new Set(this.queue.map((i) => i.recId));
    for (const id of this.states.keys()) {
      if (this.states.size <= MAX_STATES) break;
      if (!pending.has(id) && id !== recId) this.states.delete(id);
    }
  }

  // -------------------------------------------------------------------------------------------
  // outbox

  private enqueue(partial: Omit<OutboxItem, 'id' | 'createdAt'>): void {
    const item: OutboxItem = { id: randomUUID(), createdAt: this.now(), ...partial };
    this.queue.push(item);
    this.persist({ op: 'enqueue', item });
    while (this.queue.length > this.maxQueue) this.evictOne();
    this.wake?.();
  }

  /** Queue full: drop what matters least (superseded updates, then replies, updates, posts). */
  private evictOne(): void {
    const candidates = this.queue.filter((i) => i !== this.inflight);
    const superseded = candidates.find(
      (i) =>
        i.kind === 'update' &&
        this.queue.some(
          (j) => j !== i && j.recId === i.recId && j.kind === 'update' && j.createdAt >= i.createdAt && this.queue.indexOf(j) > this.queue.indexOf(i),
        ),
    );
    const victim = superseded ?? candidates.find((i) => i.kind === 'reply') ?? candidates.find((i) => i.kind === 'update') ?? candidates[0];
    if (victim === undefined) return;
    this.queue.splice(this.queue.indexOf(victim), 1);
    this.attempts.delete(victim.id);
    this.counters.dropped += 1;
    this.persist({ op: 'done', id: victim.id, result: 'dropped' });
    this.log.warn({ recommendation: victim.recId, kind: victim.kind, maxQueue: this.maxQueue }, 'slack: outbox full, dropped a message');
  }

  private persist(line: OutboxLine): void {
    try {
      appendFileSync(this.cfg.outboxPath, `${JSON.stringify(line)}\n`);
      this.linesSinceCompact += 1;
    } catch (err) {
      this.counters.persistErrors += 1;
      this.log.error({ err: String(err) }, 'slack: cannot write the outbox file');
    }
  }

  /** Re-reads the outbox: unsent items are queued again, delivered message locations restored. */
  private load(): void {
    const path = this.cfg.outboxPath;
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true });
      return;
    }
    const pending = new Map<string, OutboxItem>();
    let bad = 0;
    for (const raw of readFileSync(path, 'utf8').split('\n')) {
      if (raw.trim() === '') continue;
      let line: OutboxLine;
      try {
        line = JSON.parse(raw) as OutboxLine;
      } catch {
        bad += 1; // a torn last line after a crash
        continue;
      }
      if (line.op === 'enqueue' && typeof line.item?.id === 'string') pending.set(line.item.id, line.item);
      else if (line.op === 'done') pending.delete(line.id);
      else if (line.op === 'state' && typeof line.recId === 'string') {
        const st: RecState = { incidentId: line.incidentId, status: line.status };
        if (line.channel !== undefined) st.channel = line.channel;
        if (line.ts !== undefined) st.ts = line.ts;
        if (line.decidedBy !== undefined) st.decidedBy = line.decidedBy;
        if (line.rec !== undefined) st.rec = line.rec;
        this.setState(line.recId, st);
      }
    }
    for (const item of pending.values()) {
      this.queue.push(item);
      if (item.rec === undefined) continue;
      const st = this.states.get(item.recId);
      if (st === undefined)
        this.setState(item.recId, {
          incidentId: item.rec.incidentId,
          status: item.rec.status,
          rec: item.rec,
          ...(item.decidedBy !== undefined ? { decidedBy: item.decidedBy } : {}),
        });
      else {
        st.status = item.rec.status;
        st.rec = item.rec;
        if (item.decidedBy !== undefined) st.decidedBy = item.decidedBy;
      }
    }
    if (bad > 0) this.log.warn({ bad }, 'slack: skipped unreadable outbox lines');
    if (this.queue.length > 0) this.log.info({ pending: this.queue.length }, 'slack: re-queued undelivered messages from the outbox');
    this.compact();
  }

  /** Rewrites the outbox with only what is still needed (atomic rename). */
  private compact(): void {
    const path = this.cfg.outboxPath;
    const lines: string[] = [];
    for (const [recId, st] of this.states) lines.push(JSON.stringify(this.stateLine(recId, st)));
    for (const item of this.queue) lines.push(JSON.stringify({ op: 'enqueue', item } satisfies OutboxLine));
    try {
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, lines.length > 0 ? `${lines.join('\n')}\n` : '');
      renameSync(tmp, path);
      this.linesSinceCompact = lines.length;
    } catch (err) {
      this.counters.persistErrors += 1;
      this.log.error({ err: String(err) }, 'slack: cannot compact the outbox file');
    }
  }

  private stateLine(recId: string, st: RecState): OutboxLine {
    const line: OutboxLine = { op: 'state', recId, incidentId: st.incidentId, status: st.status };
    if (st.channel !== undefined) line.channel = st.channel;
    if (st.ts !== undefined) line.ts = st.ts;
    if (st.decidedBy !== undefined) line.decidedBy = st.decidedBy;
    // the full recommendation only while its message can still change (keeps the file small)
    if (st.rec !== undefined && OPEN_STATUSES.has(st.status)) line.rec = st.rec;
    return line;
  }

  // -------------------------------------------------------------------------------------------
  // sender

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const item = this.queue[0];
      if (item === undefined) {
        for (const r of this.idleWaiters.splice(0)) r();
        if (this.linesSinceCompact > COMPACT_AFTER_LINES) this.compact();
        await new Promise<void>((r) => {
          this.wake = r;
          if (this.queue.length > 0 || this.stopped) r();
        });
        this.wake = undefined;
        continue;
      }
      this.inflight = item;
      const later = item.kind === 'reply' ? [] : this.queue.filter((i) => i !== item && i.recId === item.recId && i.kind !== 'reply');
      let res: SendResult;
      try {
        res = await this.deliver(item, later.at(-1) ?? item);
      } catch (err) {
        res = { ok: false, retriable: true, error: `unexpected: ${String(err)}` };
      }
      this.inflight = undefined;
      const attempts = (this.attempts.get(item.id) ?? 0) + 1;
      const info: DeliveryInfo = { id: item.id, kind: item.kind, recommendationId: item.recId, attempts };
      if (res.ok) {
        this.finish(item, 'sent');
        this.counters.sent += 1;
        for (const l of later) {
          this.finish(l, 'superseded');
          this.counters.superseded += 1;
        }
        this.hook(() => this.opts.onSent?.(info));
        continue;
      }
      if (!res.retriable || attempts >= this.maxAttempts) {
        this.finish(item, 'failed');
        this.counters.failed += 1;
        this.log.error({ recommendation: item.recId, kind: item.kind, attempts, error: res.error }, 'slack: giving up on a message');
        this.hook(() => this.opts.onFailed?.({ ...info, error: res.error }));
        continue;
      }
      this.attempts.set(item.id, attempts);
      this.counters.retries += 1;
      const delayMs = res.retryAfterMs ?? this.backoff(attempts);
      this.log.warn({ recommendation: item.recId, kind: item.kind, attempts, error: res.error, delayMs }, 'slack: delivery failed, retrying');
      this.hook(() => this.opts.onRetry?.({ ...info, error: res.error, delayMs }));
      await Promise.race([this.sleep(delayMs), this.stopSignal]);
    }
  }

  /** Metrics hooks must never stop the sender. */
  private hook(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.warn({ err: String(err) }, 'slack: a delivery hook threw');
    }
  }

  /** Equal jitter: half the exponential delay fixed, half random; capped. */
  private backoff(attempts: number): number {
    const d = Math.min(this.capMs, this.baseMs * 2 ** Math.min(30, attempts - 1));
    return Math.round(d / 2 + this.random() * (d / 2));
  }

  private finish(item: OutboxItem, result: 'sent' | 'failed' | 'dropped' | 'superseded'): void {
    const i = this.queue.indexOf(item);
    if (i !== -1) this.queue.splice(i, 1);
    this.attempts.delete(item.id);
    this.persist({ op: 'done', id: item.id, result });
  }

  private render(latest: OutboxItem): SlackMessage {
    const rec = latest.rec!;
    const url = this.opts.incidentUrl?.(rec.incidentId);
    const decidedBy = this.states.get(latest.recId)?.decidedBy ?? latest.decidedBy;
    return recommendationMessage(rec, {
      withButtons: this.bot,
      ...(url !== undefined ? { incidentUrl: url } : {}),
      ...(decidedBy !== undefined ? { decidedBy } : {}),
    });
  }

  /** Records where a recommendation's message lives and what it shows (survives restarts). */
  private delivered(recId: string, latest: OutboxItem, res: SendResult): void {
    const st = this.states.get(recId) ?? { incidentId: latest.rec?.incidentId ?? '', status: latest.rec?.status ?? 'awaiting_approval' };
    if (res.ok && res.channel !== undefined && res.ts !== undefined) {
      st.channel = res.channel;
      st.ts = res.ts;
    }
    if (!this.states.has(recId)) this.setState(recId, st);
    const line = this.stateLine(recId, st);
    if (line.op === 'state' && latest.rec !== undefined) line.status = latest.rec.status;
    this.persist(line);
  }

  private async deliver(item: OutboxItem, latest: OutboxItem): Promise<SendResult> {
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
        if (res.ok) this.delivered(item.recId, latest, { ok: true, channel: st.channel, ts: st.ts });
        return res;
      }
      this.log.warn({ recommendation: item.recId, error: res.error }, 'slack: message cannot be updated any more, posting a new one');
    }
    const res = await this.transport.post(msg);
    if (res.ok) this.delivered(item.recId, latest, res);
    return res;
  }
}

function realDelay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

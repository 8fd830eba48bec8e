import axios, { type AxiosInstance } from 'axios';
import { z } from 'zod';
import type { Recommendation } from '../../domain/decision.js';
import type { Logger } from '../log/logger.js';
import { backoffPolicy } from '../delivery/backoff.js';
import { classifyHttp, type DeliveryResult } from '../delivery/delivery-result.js';
import { DeliveryStage, type DeliveryObserver, type Settlement } from '../delivery/delivery-stage.js';
import { SqliteOutbox } from '../delivery/sqlite-outbox.js';
import type { RoutingController } from './routing-controller.js';
import type { ControllerContext } from './controller-context.js';
import { readSecret } from '../../config/secrets.js';
import { join } from 'node:path';

/**
 * Hands an executed recommendation to whatever carries it out (a deploy tool, a traffic manager,
 * a Flagger/Argo gate adapter, a runbook automation) as one JSON POST.
 *
 * Contract (see `RoutingWebhookRequest`):
 *  - headers: `Content-Type: application/json`, `Idempotency-Key: <recommendation id>`,
 *    `User-Agent: harbinger-routing/1`, and `Authorization: Bearer <token>` when a token is set;
 *  - the same recommendation always carries the same key and the same body, on retries and on
 *    replays, so the receiver can drop duplicates by key;
 *  - 2xx: delivered. 5xx, 408, 429 and network errors/timeouts: retried with exponential backoff
 *    (or after the receiver's `Retry-After`) up to `maxAttempts`. Any other status (4xx): not
 *    retried, reported as failed.
 *
 * Calls go through the delivery stage (src/adapters/delivery/): kept in an outbox on disk before
 * the first attempt, one at a time in order, so a call accepted before a crash is made after the
 * restart (at least once, under the same key and the same body).
 */

export const ROUTING_WEBHOOK_ACTIONS = ['shift_traffic', 'rollback', 'pause_rollout', 'pre_scale'] as const;

/** The JSON body Harbinger POSTs. Exported as a zod schema so receivers (and tests) can validate it. */
export const routingWebhookRequestSchema = z.object({
  /** Recommendation id; equals the Idempotency-Key header. */
  id: z.string().min(1),
  incidentId: z.string(),
  action: z.enum(ROUTING_WEBHOOK_ACTIONS),
  service: z.string(),
  /** The stack the action is about (shift_traffic: where traffic is taken from). */
  stack: z.string(),
  /** shift_traffic: points of total traffic to move (0..100); otherwise 0 or informative. */
  percent: z.number(),
  /** shift_traffic: stacks that receive the traffic (split evenly). */
  targets: z.array(z.string()),
  /** Id of the recommendation this one undoes, or null. */
  reverts: z.string().nullable(),
  /** One human-readable line: why. */
  reason: z.string(),
  /** 0..1. */
  confidence: z.number(),
  /** Who approved it, when a human did; absent for auto-approved actions. */
  approvedBy: z.string().optional(),
  /** When Harbinger made the recommendation (ISO 8601, UTC). Stable across retries. */
  ts: z.string(),
  /**
   * pre_scale only: the capacity `stack` needs, as a multiple of what it runs now, and in your units
   * when `decision.stacks.<stack>.capacityUnits` is set; from the scheduled event's start (`from`)
   * until its end (`until`, scale back after), ISO 8601, UTC.
   */
  capacity: z
    .object({
      factor: z.number().positive(),
      currentUnits: z.number().optional(),
      targetUnits: z.number().optional(),
      from: z.string(),
      until: z.string(),
    })
    .optional(),
  /** pre_scale, or a shift made ahead of a scheduled event: the event it prepares for. */
  scheduledEvent: z.object({ id: z.string(), kind: z.string(), multiplier: z.number(), startTs: z.string(), endTs: z.string() }).optional(),
});

export type RoutingWebhookRequest = z.infer<typeof routingWebhookRequestSchema>;

export interface WebhookControllerOptions {
  url: string;
  /** Sent as `Authorization: Bearer <token>`; never logged, never in `detail`, never in the outbox. */
  token?: string;
  /** Per-attempt timeout, default 5000 ms. */
  timeoutMs?: number;
  /** Total attempts including the first, default 4 (counted across restarts). */
  maxAttempts?: number;
  /** First backoff, default 500 ms; doubles per retry. A `Retry-After` from the receiver wins. */
  baseDelayMs?: number;
  /** Backoff cap, default 8000 ms. */
  maxDelayMs?: number;
  /**
   * Random share of each backoff, 0..1, default 0: one decider sends one action at a time, so
   * there is no crowd of senders to spread out, and the documented delays (0.5 s, 1 s, 2 s) hold.
   */
  jitter?: number;
  /**
   * The durable outbox (SQLite). Unset: kept in memory, so a crash mid-retry loses the call
   * (tests, one-off CLI use); `serve` always sets it under the data directory.
   */
  outboxPath?: string;
  /** Bound on queued calls (default 1000); beyond it the oldest is dropped and counted. */
  maxQueued?: number;
  observer?: DeliveryObserver;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  log?: Logger;
}

export interface WebhookApplyResult {
  ok: boolean;
  detail: string;
  /** Last HTTP status, if any answer came back. */
  status?: number;
  attempts: number;
}

/** What the outbox keeps per call: the exact body (byte-identical on every retry and after a restart) and the action for logs. */
interface WebhookCall {
  action: string;
  body: string;
}

/** Builds the webhook body for a recommendation (pure; deterministic for a given recommendation). */
export function toWebhookRequest(rec: Recommendation, approvedBy?: string): RoutingWebhookRequest {
  if (!(ROUTING_WEBHOOK_ACTIONS as readonly string[]).includes(rec.action)) throw new Error(`"${rec.action}" is not an action a routing webhook carries out`);
  const by = approvedBy ?? approverOf(rec);
  return {
    id: rec.id,
    incidentId: rec.incidentId,
    action: rec.action as RoutingWebhookRequest['action'],
    service: rec.service,
    stack: rec.stack,
    percent: rec.percent,
    targets: [...rec.targets],
    reverts: rec.reverts ?? null,
    reason: rec.reason,
    confidence: rec.confidence,
    ...(by !== undefined ? { approvedBy: by } : {}),
    ts: new Date(rec.ts).toISOString(),
    ...(rec.capacity !== undefined
      ? {
          capacity: {
            factor: rec.capacity.factor,
            ...(rec.capacity.currentUnits !== undefined ? { currentUnits: rec.capacity.currentUnits } : {}),
            ...(rec.capacity.targetUnits !== undefined ? { targetUnits: rec.capacity.targetUnits } : {}),
            from: new Date(rec.capacity.from).toISOString(),
            until: new Date(rec.capacity.until).toISOString(),
          },
        }
      : {}),
    ...(rec.forecast !== undefined
      ? {
          scheduledEvent: {
            id: rec.forecast.eventId,
            kind: rec.forecast.eventKind,
            multiplier: rec.forecast.multiplier,
            startTs: new Date(rec.forecast.startTs).toISOString(),
            endTs: new Date(rec.forecast.endTs).toISOString(),
          },
        }
      : {}),
  };
}

/** Who approved it, when a human did. */
export function approverOf(rec: Recommendation): string | undefined {
  return rec.approvedBy !== undefined && rec.approvedBy !== '' ? rec.approvedBy : undefined;
}

export class WebhookController implements RoutingController {
  readonly name = 'webhook';
  private readonly http: AxiosInstance;
  private readonly stage: DeliveryStage<WebhookCall>;
  /** The URL without credentials or query string: safe for logs and details. */
  readonly target: string;

  constructor(private readonly opts: WebhookControllerOptions) {
    const u = new URL(opts.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`webhook controller: url must be http(s), got ${u.protocol}`);
    this.target = `${u.origin}${u.pathname}`;
    this.http = axios.create({
      timeout: opts.timeoutMs ?? 5000,
      validateStatus: () => true,
      maxRedirects: 0,
      // Never let axios pick up HTTP(S)_PROXY for an action hook; the target is configured explicitly.
      proxy: false,
      responseType: 'text',
      transformResponse: [(d: unknown) => d],
    });
    this.stage = new DeliveryStage<WebhookCall>({
      target: 'routing-webhook',
      outbox: new SqliteOutbox(opts.outboxPath ?? ':memory:'),
      send: (item) => this.send(item.key, item.payload.body),
      policy: backoffPolicy({ baseMs: opts.baseDelayMs ?? 500, capMs: opts.maxDelayMs ?? 8000, jitter: opts.jitter ?? 0 }),
      maxQueued: Math.max(1, opts.maxQueued ?? 1000),
      maxAttempts: Math.max(1, opts.maxAttempts ?? 4),
      onRetry: (item, r, attempt, wait) =>
        this.opts.log?.warn({ recommendation: item.key, attempt, retryInMs: wait, target: this.target }, `webhook attempt ${attempt} failed: ${r.reason}`),
      onSettled: (item, s) => this.report(item.key, item.payload.action, s),
      ...(opts.observer !== undefined ? { observer: opts.observer } : {}),
      ...(opts.log !== undefined ? { log: opts.log } : {}),
      ...(opts.sleep !== undefined ? { sleep: opts.sleep } : {}),
      ...(opts.random !== undefined ? { random: opts.random } : {}),
    });
    // Calls a previous process accepted and did not get answered go out now (the service also
    // applies them again after a restart: same key, so they are waited for, not sent twice).
    this.stage.start();
  }

  /**
   * Queues the call in the outbox and waits for its answer: delivered, refused (4xx, not retried),
   * or given up on after `maxAttempts`. The recommendation id is the key: applying it again while
   * it is still queued waits for the same call.
   */
  async apply(rec: Recommendation, ctx: { approvedBy?: string } = {}): Promise<WebhookApplyResult> {
    let body: RoutingWebhookRequest;
    try {
      body = toWebhookRequest(rec, ctx.approvedBy);
    } catch (e) {
      return { ok: false, detail: `webhook: ${(e as Error).message}; nothing sent`, attempts: 0 };
    }
    const s = await this.stage.enqueue(rec.id, { action: rec.action, body: JSON.stringify(body) });
    const status = 'status' in s && s.status !== undefined ? { status: s.status } : {};
    return { ok: s.kind === 'delivered' || s.kind === 'superseded', detail: this.detail(rec.id, rec.action, s), ...status, attempts: s.attempts };
  }

  /** Stops after a short best-effort flush; what is unsent stays in the outbox for the next start. */
  close(deadlineMs = 2000): Promise<void> {
    return this.stage.stop(deadlineMs);
  }

  private async send(key: string, payload: string): Promise<DeliveryResult> {
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'Idempotency-Key': key,
      'User-Agent': 'harbinger-routing/1',
    };
    if (this.opts.token !== undefined && this.opts.token !== '') headers['Authorization'] = `Bearer ${this.opts.token}`;
    try {
      const res = await this.http.post<string>(this.opts.url, payload, { headers });
      const text = redact(snippet(res.data), this.opts.token);
      const last = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${text ? `: ${text}` : ''}`;
      return classifyHttp(res.status, res.headers['retry-after'], last);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      return { kind: 'retry_later', reason: `${err.code ?? 'network error'}: ${redact(err.message ?? String(e), this.opts.token)}` };
    }
  }

  private detail(id: string, action: string, s: Settlement<unknown>): string {
    switch (s.kind) {
      case 'delivered':
      case 'superseded':
        return `webhook ${this.target} accepted ${action} ${id}: HTTP ${'status' in s ? s.status : '2xx'}${s.attempts > 1 ? ` after ${s.attempts} attempts` : ''}`;
      case 'refused':
        return `webhook ${this.target} rejected ${action} ${id}: ${s.reason} (not retried)`;
      case 'gave_up':
        return `webhook ${this.target} failed for ${action} ${id} after ${s.attempts} attempts: ${s.reason}`;
      case 'dropped':
        return `webhook ${this.target} dropped ${action} ${id}: the outbox was full (counted in harbinger_delivery_dropped_total)`;
    }
  }

  /** Logged when a call settles, whether or not anyone still waits for it (a call from before a restart). */
  private report(id: string, action: string, s: Settlement<unknown>): void {
    const fields = { recommendation: id, attempts: s.attempts, target: this.target, ...('status' in s ? { status: s.status } : {}) };
    if (s.kind === 'delivered') this.opts.log?.info(fields, this.detail(id, action, s));
    else this.opts.log?.warn(fields, this.detail(id, action, s));
  }
}

function snippet(data: unknown): string {
  const s = typeof data === 'string' ? data : data === undefined || data === null ? '' : JSON.stringify(data);
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > 200 ? `${one.slice(0, 200)}…` : one;
}

function redact(s: string, token: string | undefined): string {
  return token ? s.split(token).join('[redacted]') : s;
}

/** `routing.webhook`: where the action hook is and how hard to try. */
export const webhookSection = z.strictObject({
  url: z.string().url(),
  timeoutSeconds: z.number().positive().default(5),
  retries: z.number().int().min(0).default(3),
});

/**
 * The webhook controller from its config section; the bearer token comes from
 * HARBINGER_ROUTING_WEBHOOK_TOKEN(_FILE), the outbox lives at <dataDir>/outbox/routing-webhook.sqlite.
 */
export function webhookFromConfig(section: z.infer<typeof webhookSection>, ctx: ControllerContext): WebhookController {
  const token = readSecret('HARBINGER_ROUTING_WEBHOOK_TOKEN');
  return new WebhookController({
    url: section.url,
    timeoutMs: section.timeoutSeconds * 1000,
    maxAttempts: section.retries + 1,
    log: ctx.log,
    ...(ctx.dataDir !== undefined ? { outboxPath: join(ctx.dataDir, 'outbox', 'routing-webhook.sqlite') } : {}),
    ...(ctx.delivery !== undefined ? { observer: ctx.delivery } : {}),
    ...(token !== undefined ? { token: token.value } : {}),
  });
}

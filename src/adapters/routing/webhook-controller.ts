import axios, { type AxiosInstance } from 'axios';
import { z } from 'zod';
import type { Recommendation } from '../../domain/decision.js';
import type { Logger } from '../log/logger.js';
import type { RoutingController } from './routing-controller.js';

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
 *    up to `maxAttempts`. Any other status (4xx): not retried, reported as failed.
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
  /** Sent as `Authorization: Bearer <token>`; never logged, never in `detail`. */
  token?: string;
  /** Per-attempt timeout, default 5000 ms. */
  timeoutMs?: number;
  /** Total attempts including the first, default 4. */
  maxAttempts?: number;
  /** First backoff, default 500 ms; doubles per retry. */
  baseDelayMs?: number;
  /** Backoff cap, default 8000 ms. */
  maxDelayMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  log?: Logger;
}

export interface WebhookApplyResult {
  ok: boolean;
  detail: string;
  /** Last HTTP status, if any answer came back. */
  status?: number;
  attempts: number;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** The URL without credentials or query string: safe for logs and details. */
  readonly target: string;

  constructor(private readonly opts: WebhookControllerOptions) {
    const u = new URL(opts.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`webhook controller: url must be http(s), got ${u.protocol}`);
    this.target = `${u.origin}${u.pathname}`;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 4);
    this.baseDelayMs = opts.baseDelayMs ?? 500;
    this.maxDelayMs = opts.maxDelayMs ?? 8000;
    this.sleep = opts.sleep ?? defaultSleep;
    this.http = axios.create({
      timeout: opts.timeoutMs ?? 5000,
      validateStatus: () => true,
      maxRedirects: 0,
      // Never let axios pick up HTTP(S)_PROXY for an action hook; the target is configured explicitly.
      proxy: false,
      responseType: 'text',
      transformResponse: [(d: unknown) => d],
    });
  }

  /** Backoff before attempt `n+1` after attempt `n` failed (n ≥ 1). */
  delayFor(attempt: number): number {
    return Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
  }

  async apply(rec: Recommendation, ctx: { approvedBy?: string } = {}): Promise<WebhookApplyResult> {
    let body: RoutingWebhookRequest;
    try {
      body = toWebhookRequest(rec, ctx.approvedBy);
    } catch (e) {
      return { ok: false, detail: `webhook: ${(e as Error).message}; nothing sent`, attempts: 0 };
    }
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'Idempotency-Key': rec.id,
      'User-Agent': 'harbinger-routing/1',
    };
    if (this.opts.token !== undefined && this.opts.token !== '') headers['Authorization'] = `Bearer ${this.opts.token}`;
    const payload = JSON.stringify(body);

    let last = '';
    let lastStatus: number | undefined;
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      let retryable: boolean;
      try {
        const res = await this.http.post<string>(this.opts.url, payload, { headers });
        lastStatus = res.status;
        const text = redact(snippet(res.data), this.opts.token);
        if (res.status >= 200 && res.status < 300) {
          const detail = `webhook ${this.target} accepted ${rec.action} ${rec.id}: HTTP ${res.status}${attempt > 1 ? ` after ${attempt} attempts` : ''}`;
          this.opts.log?.info({ recommendation: rec.id, status: res.status, attempts: attempt, target: this.target }, detail);
          return { ok: true, detail, status: res.status, attempts: attempt };
        }
        last = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}${text ? `: ${text}` : ''}`;
        retryable = res.status >= 500 || res.status === 408 || res.status === 429;
        if (!retryable) {
          const detail = `webhook ${this.target} rejected ${rec.action} ${rec.id}: ${last} (not retried)`;
          this.opts.log?.warn({ recommendation: rec.id, status: res.status, attempts: attempt, target: this.target }, detail);
          return { ok: false, detail, status: res.status, attempts: attempt };
        }
      } catch (e) {
        const err = e as { code?: string; message?: string };
        last = `${err.code ?? 'network error'}: ${redact(err.message ?? String(e), this.opts.token)}`;
        retryable = true;
      }
      if (attempt < this.maxAttempts) {
        const wait = this.delayFor(attempt);
        this.opts.log?.warn({ recommendation: rec.id, attempt, retryInMs: wait, target: this.target }, `webhook attempt ${attempt} failed: ${last}`);
        await this.sleep(wait);
      }
    }
    const detail = `webhook ${this.target} failed for ${rec.action} ${rec.id} after ${this.maxAttempts} attempts: ${last}`;
    this.opts.log?.warn({ recommendation: rec.id, attempts: this.maxAttempts, target: this.target }, detail);
    return { ok: false, detail, ...(lastStatus !== undefined ? { status: lastStatus } : {}), attempts: this.maxAttempts };
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

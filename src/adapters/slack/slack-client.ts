import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { isRetriableStatus, parseRetryAfter } from '../delivery/delivery-result.js';
import type { SlackMessage } from './blocks.js';
import type { GroupMembers } from './approvers.js';

/**
 * Two ways to talk to Slack behind one small interface:
 * - bot token (Web API chat.postMessage / chat.update, threads, interactive buttons);
 * - incoming webhook (post only: no update, no threads, no interactivity).
 * Results are classified so the outbox knows whether (and when) to retry. Tokens and webhook
 * URLs never appear in results or logs: error strings are built from status codes and Slack
 * error names, and scrubbed of the secrets as a last line of defence.
 */

export type SendResult = { ok: true; channel?: string; ts?: string } | { ok: false; retryAfterMs?: number; retriable: boolean; error: string };

export interface SlackTransport {
  readonly mode: 'bot' | 'webhook';
  post(msg: SlackMessage): Promise<SendResult>;
  update?(channel: string, ts: string, msg: SlackMessage): Promise<SendResult>;
  reply?(channel: string, threadTs: string, text: string): Promise<SendResult>;
  /** Slack's `auth.test`: whether the token is accepted (bot mode). */
  authTest?(): Promise<SendResult>;
}

/** Slack Web API errors worth retrying (answered with HTTP 200 and ok:false). */
const TRANSIENT_API_ERRORS = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

export { parseRetryAfter };

function scrub(s: string, secrets: readonly string[]): string {
  let out = s;
  for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  return out;
}

function networkError(err: unknown, secrets: readonly string[]): SendResult {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : undefined;
  const msg = typeof e.message === 'string' ? e.message : String(err);
  return { ok: false, retriable: true, error: scrub(`network error${code !== undefined ? ` ${code}` : ''}: ${msg}`, secrets).slice(0, 300) };
}

/** Classifies an HTTP answer that is not a success. */
function httpFailure(res: AxiosResponse<string>, what: string): SendResult {
  const status = res.status;
  if (status === 429) {
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    return { ok: false, retriable: true, error: `${what}: HTTP 429 rate limited`, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  const detail = typeof res.data === 'string' ? res.data.slice(0, 100).replace(/\s+/g, ' ').trim() : '';
  const retriable = isRetriableStatus(status);
  const retryAfterMs = retriable ? parseRetryAfter(res.headers['retry-after']) : undefined;
  return {
    ok: false,
    retriable,
    error: `${what}: HTTP ${status}${detail !== '' ? ` ${detail}` : ''}`,
    ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
  };
}

/**
 * Both transports read raw text (Slack answers JSON, webhooks plain `ok`), decide on status codes
 * themselves, and never follow redirects (a redirect could carry the token elsewhere).
 */
function textClient(timeoutMs = 10_000, baseURL?: string): AxiosInstance {
  return axios.create({
    ...(baseURL !== undefined ? { baseURL } : {}),
    timeout: timeoutMs,
    maxRedirects: 0,
    validateStatus: () => true,
    responseType: 'text',
    transformResponse: [(d: unknown) => d],
  });
}

export interface BotTransportOptions {
  token: string;
  /** Channel id or name for new messages (chat.postMessage answers with the channel id). */
  channel: string;
  /** Default https://slack.com (tests point it at a local fake). */
  baseUrl?: string;
  timeoutMs?: number;
}

/** Web API with a bot token (xoxb-…): post, update, thread replies. */
export class BotTokenTransport implements SlackTransport {
  readonly mode = 'bot' as const;
  private readonly http: AxiosInstance;
  private readonly secrets: string[];

  constructor(private readonly opts: BotTransportOptions) {
    if (opts.token === '') throw new Error('slack: bot mode needs a bot token');
    if (opts.channel === '') throw new Error('slack: bot mode needs a channel');
    this.secrets = [opts.token];
    this.http = textClient(opts.timeoutMs, (opts.baseUrl ?? 'https://slack.com').replace(/\/+$/, ''));
  }

  authTest(): Promise<SendResult> {
    return this.call('auth.test', {});
  }

  private async call(method: 'chat.postMessage' | 'chat.update' | 'auth.test', body: Record<string, unknown>): Promise<SendResult> {
    let res: AxiosResponse<string>;
    try {
      res = await this.http.post<string>(`/api/${method}`, JSON.stringify(body), {
        headers: { Authorization: `Bearer ${this.opts.token}`, 'Content-Type': 'application/json; charset=utf-8' },
      });
    } catch (err) {
      return networkError(err, this.secrets);
    }
    if (res.status !== 200) return httpFailure(res, method);
    let json: { ok?: unknown; error?: unknown; channel?: unknown; ts?: unknown };
    try {
      json = JSON.parse(res.data) as typeof json;
    } catch {
      return { ok: false, retriable: true, error: `${method}: HTTP 200 with a body that is not JSON` };
    }
    if (json.ok === true) {
      const out: SendResult = { ok: true };
      if (typeof json.channel === 'string') out.channel = json.channel;
      if (typeof json.ts === 'string') out.ts = json.ts;
      return out;
    }
    const error = typeof json.error === 'string' ? json.error : 'unknown_error';
    const retriable = TRANSIENT_API_ERRORS.has(error);
    const retryAfterMs = retriable ? parseRetryAfter(res.headers['retry-after']) : undefined;
    return { ok: false, retriable, error: scrub(`${method}: ${error}`, this.secrets), ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }

  post(msg: SlackMessage): Promise<SendResult> {
    return this.call('chat.postMessage', { channel: this.opts.channel, text: msg.text, blocks: msg.blocks, unfurl_links: false, unfurl_media: false });
  }

  update(channel: string, ts: string, msg: SlackMessage): Promise<SendResult> {
    return this.call('chat.update', { channel, ts, text: msg.text, blocks: msg.blocks });
  }

  reply(channel: string, threadTs: string, text: string): Promise<SendResult> {
    return this.call('chat.postMessage', { channel, thread_ts: threadTs, text, unfurl_links: false, unfurl_media: false });
  }
}

export interface WebhookTransportOptions {
  /** The incoming-webhook URL (a secret: it is the credential). */
  url: string;
  timeoutMs?: number;
}

/** Incoming webhook: one channel, post only. Success is HTTP 200 with body `ok`. */
export class WebhookTransport implements SlackTransport {
  readonly mode = 'webhook' as const;
  private readonly http: AxiosInstance;
  private readonly secrets: string[];

  constructor(private readonly opts: WebhookTransportOptions) {
    if (!/^https?:\/\//.test(opts.url)) throw new Error('slack: webhook mode needs an http(s) webhook URL');
    const u = new URL(opts.url);
    this.secrets = [opts.url, u.pathname].filter((s) => s.length > 1);
    this.http = textClient(opts.timeoutMs);
  }

  async post(msg: SlackMessage): Promise<SendResult> {
    let res: AxiosResponse<string>;
    try {
      res = await this.http.post<string>(this.opts.url, JSON.stringify({ text: msg.text, blocks: msg.blocks, unfurl_links: false, unfurl_media: false }), {
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
      });
    } catch (err) {
      return networkError(err, this.secrets);
    }
    if (res.status === 200) return { ok: true };
    const failure = httpFailure(res, 'webhook');
    return failure.ok ? failure : { ...failure, error: scrub(failure.error, this.secrets) };
  }
}

/**
 * usergroups.users.list (bot token with the `usergroups:read` scope): the user ids in a user
 * group, for `slack.approvers` entries that name one (see approvers.ts). A read method, so a GET
 * with the group in the query; errors are Slack's names (`missing_scope`, `no_such_subteam`).
 */
export function userGroupMembers(opts: { token: string; baseUrl?: string; timeoutMs?: number }): GroupMembers {
  const http = textClient(opts.timeoutMs ?? 2_000, (opts.baseUrl ?? 'https://slack.com').replace(/\/+$/, ''));
  const secrets = [opts.token];
  return async (group) => {
    let res: AxiosResponse<string>;
    try {
      res = await http.get<string>('/api/usergroups.users.list', { params: { usergroup: group }, headers: { Authorization: `Bearer ${opts.token}` } });
    } catch (err) {
      const r = networkError(err, secrets);
      return { ok: false, error: r.ok ? 'network error' : r.error };
    }
    if (res.status !== 200) return { ok: false, error: `HTTP ${res.status}` };
    try {
      const json = JSON.parse(res.data) as { ok?: unknown; users?: unknown; error?: unknown };
      if (json.ok === true && Array.isArray(json.users)) return { ok: true, users: json.users.filter((u): u is string => typeof u === 'string') };
      return { ok: false, error: scrub(typeof json.error === 'string' ? json.error : 'unknown_error', secrets) };
    } catch {
      return { ok: false, error: 'HTTP 200 with a body that is not JSON' };
    }
  };
}

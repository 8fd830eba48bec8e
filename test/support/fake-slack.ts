import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { PHASE_NAMES, type PhaseResult, type Recommendation } from '../../src/domain/decision.js';

/**
 * A local HTTP server playing Slack: Web API chat.postMessage / chat.update (bot token) and an
 * incoming-webhook path. It validates Block Kit payloads against Slack's documented limits on its
 * own (independently of the code under test) and answers like Slack does: HTTP 200 with
 * `{ok:false,error}` for API errors, 429 with Retry-After, and whatever `failNext` asks for.
 */

export interface FakeSlackRequest {
  path: string;
  method: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body (undefined if it was not JSON). */
  body: any;
  raw: string;
  /** HTTP status answered. */
  status: number;
  /** Slack's verdict: ok, or the error name. */
  result: 'ok' | string;
}

export interface FakeSlackMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  text?: string;
  blocks?: unknown[];
  /** How many times chat.update changed it. */
  updates: number;
}

export interface FakeSlack {
  /** Base URL for the Web API (`${url}/api/chat.postMessage`). */
  url: string;
  /** Incoming-webhook URL. */
  webhookUrl: string;
  token: string;
  /** Channel id answered for every channel name. */
  channelId: string;
  /** Every request received, in order, with what was answered. */
  messages: FakeSlackRequest[];
  /** Messages accepted (posted, possibly updated), by ts. */
  store: Map<string, FakeSlackMessage>;
  /** User groups (S…) and their members, as usergroups.users.list answers them. */
  userGroups: Map<string, string[]>;
  /** The next `n` requests (any path) fail with `status` (and a Retry-After header if given). */
  failNext(n: number, status: number, retryAfterSeconds?: number): void;
  /** The next request gets 429 with `Retry-After: seconds`. */
  rateLimitNext(seconds: number): void;
  /** The next Web API call answers HTTP 200 `{ok:false,error}`. */
  apiErrorNext(error: string): void;
  /** Wait until `pred` holds for the recorded requests. */
  waitFor(pred: (msgs: FakeSlackRequest[]) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Block Kit validation (limits from the Block Kit reference)

function textLen(t: unknown): number {
  return typeof t === 'string' ? t.length : 0;
}

function checkTextObject(o: unknown, where: string, max: number, plainOnly: boolean, out: string[]): void {
  if (typeof o !== 'object' || o === null) {
    out.push(`${where}: missing text object`);
    return;
  }
  const t = o as { type?: unknown; text?: unknown };
  if (t.type !== 'plain_text' && t.type !== 'mrkdwn') out.push(`${where}: text type must be plain_text or mrkdwn`);
  if (plainOnly && t.type !== 'plain_text') out.push(`${where}: must be plain_text`);
  if (typeof t.text !== 'string' || t.text.length === 0) out.push(`${where}: text must be a non-empty string`);
  else if (t.text.length > max) out.push(`${where}: text ${t.text.length} > ${max} chars`);
}

/** Every violation of Slack's Block Kit limits in a message body; empty when valid. */
export function blockKitViolations(body: unknown): string[] {
  const out: string[] = [];
  if (typeof body !== 'object' || body === null) return ['body is not an object'];
  const b = body as { text?: unknown; blocks?: unknown };
  if (b.text !== undefined && typeof b.text !== 'string') out.push('text must be a string');
  if (textLen(b.text) > 40_000) out.push('text longer than 40000 chars');
  if (b.blocks === undefined) return out;
  if (!Array.isArray(b.blocks)) return ['blocks must be an array'];
  if (b.blocks.length > 50) out.push(`${b.blocks.length} blocks > 50`);
  const blockIds = new Set<string>();
  b.blocks.forEach((blk: any, i: number) => {
    const w = `blocks[${i}]`;
    if (typeof blk !== 'object' || blk === null) {
      out.push(`${w}: not an object`);
      return;
    }
    if (blk.block_id !== undefined) {
      if (typeof blk.block_id !== 'string' || blk.block_id.length > 255) out.push(`${w}: block_id too long`);
      if (blockIds.has(blk.block_id)) out.push(`${w}: duplicate block_id`);
      blockIds.add(blk.block_id);
    }
    switch (blk.type) {
      case 'header':
        checkTextObject(blk.text, `${w}.text`, 150, true, out);
        break;
      case 'section':
        if (blk.text === undefined && blk.fields === undefined) out.push(`${w}: section needs text or fields`);
        if (blk.text !== undefined) checkTextObject(blk.text, `${w}.text`, 3000, false, out);
        if (blk.fields !== undefined) {
          if (!Array.isArray(blk.fields) || blk.fields.length > 10) out.push(`${w}.fields: at most 10`);
          else
            blk.fields.forEach((f: unknown, j: number) => {
              checkTextObject(f, `${w}.fields[${j}]`, 2000, false, out);
            });
        }
        break;
      case 'context':
        if (!Array.isArray(blk.elements) || blk.elements.length === 0 || blk.elements.length > 10) out.push(`${w}.elements: 1..10`);
        else
          blk.elements.forEach((e: unknown, j: number) => {
            checkTextObject(e, `${w}.elements[${j}]`, 3000, false, out);
          });
        break;
      case 'divider':
        break;
      case 'actions':
        if (!Array.isArray(blk.elements) || blk.elements.length === 0 || blk.elements.length > 25) out.push(`${w}.elements: 1..25`);
        else
          blk.elements.forEach((e: any, j: number) => {
            const ew = `${w}.elements[${j}]`;
            if (e?.type !== 'button') {
              out.push(`${ew}: only buttons expected`);
              return;
            }
            checkTextObject(e.text, `${ew}.text`, 75, true, out);
            if (e.action_id !== undefined && (typeof e.action_id !== 'string' || e.action_id.length > 255)) out.push(`${ew}.action_id > 255`);
            if (e.value !== undefined && (typeof e.value !== 'string' || e.value.length > 2000)) out.push(`${ew}.value > 2000`);
            if (e.style !== undefined && e.style !== 'primary' && e.style !== 'danger') out.push(`${ew}.style must be primary or danger`);
            if (e.confirm !== undefined) {
              checkTextObject(e.confirm.title, `${ew}.confirm.title`, 100, true, out);
              checkTextObject(e.confirm.text, `${ew}.confirm.text`, 300, false, out);
              checkTextObject(e.confirm.confirm, `${ew}.confirm.confirm`, 30, true, out);
              checkTextObject(e.confirm.deny, `${ew}.confirm.deny`, 30, true, out);
            }
          });
        break;
      default:
        out.push(`${w}: unexpected block type ${String(blk.type)}`);
    }
  });
  return out;
}

// ---------------------------------------------------------------------------------------------

export async function startFakeSlack(opts: { token?: string; channelId?: string; webhookPath?: string } = {}): Promise<FakeSlack> {
  const token = opts.token ?? 'xoxb-test-0000-fake';
  const channelId = opts.channelId ?? 'C0HARBINGR';
  const webhookPath = opts.webhookPath ?? '/services/T0000/B0000/fakewebhooksecret';
  const messages: FakeSlackRequest[] = [];
  const store = new Map<string, FakeSlackMessage>();
  const userGroups = new Map<string, string[]>();
  const failures: Array<{ status: number; retryAfter?: number }> = [];
  const apiErrors: string[] = [];
  let seq = 0;

  const nextTs = (): string => {
    seq += 1;
    return `1700000000.${String(seq * 100).padStart(6, '0')}`;
  };

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '/').split('?')[0]!;
      let body: any;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const record = (status: number, result: string): void => {
        messages.push({ path, method: req.method ?? '', headers: { ...req.headers }, body, raw, status, result });
      };
      const json = (status: number, payload: Record<string, unknown>, headers: Record<string, string> = {}): void => {
        record(status, payload['ok'] === true ? 'ok' : String(payload['error'] ?? `http_${status}`));
        res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(payload));
      };
      const text = (status: number, payload: string, headers: Record<string, string> = {}): void => {
        record(status, status === 200 ? 'ok' : payload);
        res.writeHead(status, { 'Content-Type': 'text/plain', ...headers }).end(payload);
      };

      // auth.test (serve checks the token at start): answered, not recorded, and before injected
      // failures, which are meant for the messages a test sends.
      if (path === '/api/auth.test') {
        const ok = req.headers['authorization'] === `Bearer ${token}`;
        res
          .writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' })
          .end(JSON.stringify(ok ? { ok: true, team: 'T0', user: 'harbinger' } : { ok: false, error: 'invalid_auth' }));
        return;
      }
      // usergroups.users.list (slack.approvers naming a user group): a GET read, answered from
      // `userGroups` and recorded, like Slack needing the bot token and an existing group.
      if (path === '/api/usergroups.users.list') {
        const group = new URL(req.url ?? '/', 'http://x').searchParams.get('usergroup') ?? '';
        const users = userGroups.get(group);
        const answer =
          req.headers['authorization'] !== `Bearer ${token}`
            ? { ok: false, error: 'invalid_auth' }
            : users === undefined
              ? { ok: false, error: 'no_such_subteam' }
              : { ok: true, users };
        record(200, answer.ok ? 'ok' : String(answer.error));
        res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' }).end(JSON.stringify(answer));
        return;
      }
      const failure = failures.shift();
      if (failure !== undefined) {
        const headers: Record<string, string> = failure.retryAfter !== undefined ? { 'Retry-After': String(failure.retryAfter) } : {};
        if (failure.status === 429) text(429, 'rate_limited', headers);
        else text(failure.status, `error_${failure.status}`, headers);
        return;
      }
      if (req.method !== 'POST') return text(405, 'method_not_allowed');

      if (path === webhookPath) {
        if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return text(400, 'invalid_payload');
        if (body === undefined || (typeof body.text !== 'string' && !Array.isArray(body.blocks))) return text(400, 'no_text');
        if (blockKitViolations(body).length > 0) return text(400, 'invalid_blocks');
        const ts = nextTs();
        store.set(ts, { channel: channelId, ts, text: body.text, blocks: body.blocks, updates: 0 });
        return text(200, 'ok');
      }

      if (path === '/api/chat.postMessage' || path === '/api/chat.update') {
        const auth = req.headers['authorization'];
        if (auth === undefined) return json(200, { ok: false, error: 'not_authed' });
        if (auth !== `Bearer ${token}`) return json(200, { ok: false, error: 'invalid_auth' });
        if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return json(200, { ok: false, error: 'invalid_arguments' });
        if (body === undefined || typeof body !== 'object') return json(200, { ok: false, error: 'invalid_json' });
        const apiError = apiErrors.shift();
        if (apiError !== undefined) return json(200, { ok: false, error: apiError });
        if (typeof body.channel !== 'string' || body.channel === '') return json(200, { ok: false, error: 'channel_not_found' });
        if (typeof body.text !== 'string' && !Array.isArray(body.blocks)) return json(200, { ok: false, error: 'no_text' });
        if (blockKitViolations(body).length > 0) return json(200, { ok: false, error: 'invalid_blocks' });

        if (path === '/api/chat.postMessage') {
          const channel = body.channel.startsWith('C') ? body.channel : channelId;
          if (body.thread_ts !== undefined) {
            const parent = store.get(body.thread_ts);
            if (parent === undefined || parent.channel !== channel) return json(200, { ok: false, error: 'thread_not_found' });
          }
          const ts = nextTs();
          const m: FakeSlackMessage = { channel, ts, updates: 0, text: body.text, blocks: body.blocks };
          if (body.thread_ts !== undefined) m.threadTs = body.thread_ts;
          store.set(ts, m);
          return json(200, { ok: true, channel, ts, message: { text: body.text } });
        }
        // chat.update: needs the channel id and ts of an existing message
        const existing = typeof body.ts === 'string' ? store.get(body.ts) : undefined;
        if (existing === undefined || existing.channel !== body.channel) return json(200, { ok: false, error: 'message_not_found' });
        existing.text = body.text;
        existing.blocks = body.blocks;
        existing.updates += 1;
        return json(200, { ok: true, channel: existing.channel, ts: existing.ts, text: body.text });
      }
      return text(404, 'not_found');
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('fake slack: no address');
  const url = `http://127.0.0.1:${addr.port}`;

  return {
    url,
    webhookUrl: `${url}${webhookPath}`,
    token,
    channelId,
    messages,
    store,
    userGroups,
    failNext(n, status, retryAfterSeconds) {
      for (let i = 0; i < n; i++) failures.push(retryAfterSeconds !== undefined ? { status, retryAfter: retryAfterSeconds } : { status });
    },
    rateLimitNext(seconds) {
      failures.push({ status: 429, retryAfter: seconds });
    },
    apiErrorNext(error) {
      apiErrors.push(error);
    },
    async waitFor(pred, timeoutMs = 5000) {
      const until = Date.now() + timeoutMs;
      while (!pred(messages)) {
        if (Date.now() > until) {
          throw new Error(
            `fake slack: condition not met within ${timeoutMs} ms; ${messages.length} request(s): ${messages.map((m) => `${m.path} ${m.status} ${m.result}`).join('; ')}`,
          );
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// fixtures

/** 2024-03-14 03:07 UTC: when the fixture recommendation was made. */
export const T0 = Date.UTC(2024, 2, 14, 3, 7, 0); // 03:07 UTC

/** A realistic awaiting-approval traffic shift, with all ten ITR phases. */
export function makeRec(over: Partial<Recommendation> = {}): Recommendation {
  const results: PhaseResult[] = ['pass', 'pass', 'pass', 'pass', 'pass', 'pass', 'pending', 'pending', 'pending', 'skip'];
  return {
    type: 'recommendation',
    id: 'rec-checkout-us-west-2-0001',
    ts: T0,
    incidentId: 'inc-42',
    stack: 'us-west-2',
    service: 'checkout',
    action: 'shift_traffic',
    percent: 20,
    targets: ['us-east-1', 'eu-west-1'],
    confidence: 0.87,
    evidence: { persistence: 1, magnitude: 6.2, separation: 4.1, businessImpact: 1, correlation: 1, dataCompleteness: 1, minutesToBreach: 12 },
    requiresApproval: true,
    blockedBy: null,
    status: 'awaiting_approval',
    reason: 'shift 20 % of checkout traffic from us-west-2 to us-east-1, eu-west-1',
    phases: PHASE_NAMES.map((name, i) => ({
      name,
      result: results[i]!,
      code: 'not_reached' as const,
      evidence: `${name}: p99 latency 740 ms > 500 ms gate, orders/min -18 % vs baseline`,
    })),
    cause: { kind: 'deployment', reason: 'deployment checkout v2.14.0 on us-west-2 at 02:58, 9 min before the first warning' },
    predictedBreachAt: T0 + 12 * 60_000,
    ...over,
  };
}

/** A block_actions payload shaped like the ones Slack sends for a button click (by alice, U024BE7LH, unless `userId`). */
export function blockActionsBody(actionId: string, value: string, userId = 'U024BE7LH'): string {
  const payload = {
    type: 'block_actions',
    user: { id: userId, username: 'alice.oncall', name: 'alice.oncall', team_id: 'T0CAG4T5M' },
    api_app_id: 'A0KRD7HC3',
    token: 'Shh_its_a_seekrit',
    container: { type: 'message', message_ts: '1700000000.000100', channel_id: 'C0HARBINGR', is_ephemeral: false },
    trigger_id: '12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3',
    team: { id: 'T0CAG4T5M', domain: 'acme-ops' },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: 'C0HARBINGR', name: 'ops-harbinger' },
    message: { type: 'message', user: 'U0BOTUSER', ts: '1700000000.000100', bot_id: 'B0BOT', text: 'Shift 20 %', blocks: [] },
    state: { values: {} },
    response_url: 'https://hooks.slack.com/actions/T0CAG4T5M/1524/0MJRs1HExWrX9FJDDfnzTHW3',
    actions: [
      {
        action_id: actionId,
        block_id: 'harbinger_decision:rec-1',
        text: { type: 'plain_text', text: 'Approve', emoji: true },
        value,
        style: 'primary',
        type: 'button',
        action_ts: '1700000123.456789',
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

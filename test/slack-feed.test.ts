import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { OutcomeEvent, Recommendation } from '../src/domain/decision.js';
import type { Logger } from '../src/adapters/log/logger.js';
import { SlackFeed, type SlackFeedOptions } from '../src/adapters/slack/slack-feed.js';
import type { SlackItem } from '../src/adapters/slack/slack-outbox.js';
import { SqliteOutbox } from '../src/adapters/delivery/sqlite-outbox.js';
import { signSlackRequest } from '../src/adapters/slack/signature.js';
import { freePort } from './support/ports.js';
import { HarbingerService } from '../src/app/service.js';
import { parseConfig } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { T0, blockActionsBody, makeRec, startFakeSlack, type FakeSlack, type FakeSlackRequest } from './support/fake-slack.js';

const SIGNING_SECRET = 'test-signing-secret-1234';

let dir: string;
let slack: FakeSlack;
const feeds: SlackFeed[] = [];

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'harbinger-slack-'));
  slack = await startFakeSlack();
});

afterEach(async () => {
  for (const f of feeds.splice(0)) await f.stop(500);
  await slack.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Records requested delays; resolves almost at once (a tick of real time so loops cannot spin). */
function fakeSleep(): { sleep: (ms: number) => Promise<void>; delays: number[] } {
  const delays: number[] = [];
  return {
    delays,
    sleep: (ms) => {
      delays.push(ms);
      return new Promise((r) => setTimeout(r, 2));
    },
  };
}

/** A pino-shaped logger that keeps every call, to check no secret ever reaches the logs. */
function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const rec =
    (level: string) =>
    (...args: unknown[]) =>
      void lines.push(`${level} ${JSON.stringify(args)}`);
  return { lines, logger: { debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') } as unknown as Logger };
}

function botFeed(over: Partial<SlackFeedOptions> = {}, baseUrl = slack.url): SlackFeed {
  const feed = new SlackFeed({
    config: { mode: 'bot', channel: '#ops-harbinger', baseUrl, outboxPath: join(dir, 'outbox', 'slack.jsonl') },
    secrets: { botToken: slack.token, signingSecret: SIGNING_SECRET },
    sleep: fakeSleep().sleep,
    random: () => 0.5,
    ...over,
  });
  feeds.push(feed);
  return feed;
}

const posts = (m: FakeSlackRequest[]) => m.filter((r) => r.path === '/api/chat.postMessage' && r.result === 'ok' && r.body.thread_ts === undefined);
const updates = (m: FakeSlackRequest[]) => m.filter((r) => r.path === '/api/chat.update' && r.result === 'ok');
const replies = (m: FakeSlackRequest[]) => m.filter((r) => r.path === '/api/chat.postMessage' && r.result === 'ok' && r.body.thread_ts !== undefined);
const actionIds = (blocks: any[]) => blocks.filter((b) => b.type === 'actions').flatMap((b) => b.elements.map((e: { action_id: string }) => e.action_id));

function outcome(rec: Recommendation, over: Partial<OutcomeEvent>): OutcomeEvent {
  return {
    type: 'outcome',
    ts: T0 + 15 * 60_000,
    recommendationId: rec.id,
    incidentId: rec.incidentId,
    outcome: 'effective',
    reason: 'orders/min back within 2 % of baseline',
    ...over,
  };
}

describe('SlackFeed, bot mode', () => {
  it('posts once, updates the same message when the status changes, threads the outcomes', async () => {
    const sent: string[] = [];
    const feed = botFeed({ onSent: (i) => sent.push(i.kind), incidentUrl: (id) => `https://harbinger.example/incidents/${id}` });
    feed.start();
    const rec = makeRec();

    feed.onDecision(rec);
    feed.onDecision({ ...rec, confidence: 0.88 }); // same status again, next sample: nothing new
    expect(await feed.flush()).toBe(true);
    expect(posts(slack.messages)).toHaveLength(1);
    const first = posts(slack.messages)[0]!;
    expect(first.headers['authorization']).toBe(`Bearer ${slack.token}`);
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(first.body.channel).toBe('#ops-harbinger');
    expect(first.body.blocks[0].text.text).toBe('Shift 20 % of checkout traffic away from us-west-2');
    expect(actionIds(first.body.blocks)).toEqual(['harbinger_approve', 'harbinger_reject']);
    expect(JSON.stringify(first.body.blocks)).toContain('https://harbinger.example/incidents/inc-42');
    const ts = [...slack.store.values()][0]!.ts;

    // approved by a human (the workflow reports the outcome, then the executed recommendation)
    feed.onDecision(outcome(rec, { outcome: 'approved', by: 'U024BE7LH', reason: 'approved in Slack' }));
    feed.onDecision({ ...rec, status: 'executed' });
    feed.onDecision(outcome(rec, { outcome: 'executed', reason: 'routing controller applied 20 % shift' }));
    feed.onDecision(outcome(rec, { outcome: 'effective', ts: T0 + 25 * 60_000 }));
    feed.onDecision({ ...rec, status: 'executed', confidence: 0.9 }); // no change
    expect(await feed.flush()).toBe(true);

    expect(posts(slack.messages)).toHaveLength(1); // never a second top-level message
    const ups = updates(slack.messages);
    expect(ups.length).toBeGreaterThanOrEqual(1);
    for (const u of ups) expect(u.body).toMatchObject({ channel: slack.channelId, ts });
    const finalBlocks = ups.at(-1)!.body.blocks;
    expect(actionIds(finalBlocks)).toEqual([]); // buttons gone
    expect(JSON.stringify(finalBlocks)).toContain('*Executed* by <@U024BE7LH>');
    expect(slack.store.get(ts)!.updates).toBe(ups.length);

    const threaded = replies(slack.messages);
    expect(threaded.map((r) => r.body.thread_ts)).toEqual([ts, ts, ts]);
    expect(threaded[0]!.body.text).toContain('*Approved* by <@U024BE7LH>');
    expect(threaded[2]!.body.text).toContain('Post-action validation: effective');
    expect(feed.stats()).toMatchObject({ failed: 0, dropped: 0, queueDepth: 0 });
    expect(sent[0]).toBe('post');
  });

  it('only what needs attention: mitigations always, explained/global notes when configured, never observe', async () => {
    const feed = botFeed();
    feed.start();
    feed.onDecision(makeRec({ id: 'r-none', action: 'none', status: 'informational', cause: { kind: 'explained', reason: 'load test lt-7 on us-west-2' } }));
    feed.onDecision(makeRec({ id: 'r-observe', action: 'observe', status: 'informational' }));
    feed.onDecision(outcome(makeRec({ id: 'r-unknown' }), {}));
    feed.onDecision({
      type: 'incident',
      ts: T0,
      incident: { id: 'inc-9', service: 'checkout', stack: 'us-west-2', status: 'open', openedAt: T0, resolvedAt: null },
      transition: 'opened',
      summary: 'opened',
    });
    feed.onDecision(makeRec({ id: 'r-rollback', action: 'rollback', status: 'blocked', blockedBy: 'one_change_at_a_time' }));
    expect(await feed.flush()).toBe(true);
    expect(posts(slack.messages).map((p) => p.body.blocks[0].text.text)).toEqual(['Roll back checkout on us-west-2']);
    expect(actionIds(posts(slack.messages)[0]!.body.blocks)).toEqual([]); // blocked: no buttons

    const info = botFeed({
      config: { mode: 'bot', channel: 'C0HARBINGR', baseUrl: slack.url, includeInformational: true, outboxPath: join(dir, 'info.jsonl') },
    });
    info.start();
    info.onDecision(makeRec({ id: 'r-none', action: 'none', status: 'informational', cause: { kind: 'explained', reason: 'load test lt-7 on us-west-2' } }));
    info.onDecision(makeRec({ id: 'r-none-2', action: 'none', status: 'informational', cause: { kind: 'unknown', reason: '?' } }));
    // A drop that is another service's incident's impact here: watched, and said so.
    info.onDecision(
      makeRec({
        id: 'r-downstream',
        action: 'observe',
        status: 'informational',
        cause: { kind: 'explained', reason: "cart's incident inc-3 on us-west-2 came first" },
      }),
    );
    info.onDecision(makeRec({ id: 'r-observe', action: 'observe', status: 'informational', cause: { kind: 'unknown', reason: 'not yet sustained' } }));
    expect(await info.flush()).toBe(true);
    const texts = posts(slack.messages).map((p) => p.body.blocks[0].text.text);
    expect(texts).toContain('No action needed: checkout on us-west-2');
    expect(texts).toContain('Watching checkout on us-west-2');
    expect(posts(slack.messages)).toHaveLength(3);
  });

  it('429 with Retry-After: 1 waits at least 1 s, then delivers', async () => {
    const { sleep, delays } = fakeSleep();
    const retries: number[] = [];
    const feed = botFeed({ sleep, onRetry: (i) => retries.push(i.delayMs) });
    feed.start();
    slack.rateLimitNext(1);
    feed.onDecision(makeRec());
    expect(await feed.flush()).toBe(true);
    expect(slack.messages.map((m) => m.status)).toEqual([429, 200]);
    expect(delays).toEqual([1000]);
    expect(retries).toEqual([1000]);
    expect(posts(slack.messages)).toHaveLength(1);
    expect(feed.stats()).toMatchObject({ sent: 1, retries: 1, failed: 0 });
  });

  it('Slack API "ratelimited" (HTTP 200) is retried too', async () => {
    const { sleep, delays } = fakeSleep();
    const feed = botFeed({ sleep });
    feed.start();
    slack.apiErrorNext('ratelimited');
    feed.onDecision(makeRec());
    expect(await feed.flush()).toBe(true);
    expect(delays).toHaveLength(1);
    expect(posts(slack.messages)).toHaveLength(1);
  });

  it('503 twice then success: delivered exactly once, with exponential backoff and jitter', async () => {
    const { sleep, delays } = fakeSleep();
    const feed = botFeed({ sleep, backoffBaseMs: 1000, backoffCapMs: 60_000, random: () => 0.5 });
    feed.start();
    slack.failNext(2, 503);
    feed.onDecision(makeRec());
    expect(await feed.flush()).toBe(true);
    expect(slack.messages.map((m) => m.status)).toEqual([503, 503, 200]);
    expect(delays).toEqual([750, 1500]); // equal jitter: d/2 + 0.5·d/2, d = 1 s, 2 s
    expect(slack.store.size).toBe(1);
  });

  it('backoff is capped', async () => {
    const { sleep, delays } = fakeSleep();
    const feed = botFeed({ sleep, backoffBaseMs: 1000, backoffCapMs: 4000, random: () => 0.999 });
    feed.start();
    slack.failNext(6, 502);
    feed.onDecision(makeRec());
    expect(await feed.flush()).toBe(true);
    expect(Math.max(...delays)).toBeLessThanOrEqual(4000);
    expect(delays.slice(-3).every((d) => d >= 3990)).toBe(true);
  });

  it('gives up on permanent errors, counts them, moves on', async () => {
    const failed: string[] = [];
    const feed = botFeed({ onFailed: (i) => failed.push(i.error) });
    feed.start();
    slack.apiErrorNext('channel_not_found');
    feed.onDecision(makeRec({ id: 'r-a' }));
    feed.onDecision(makeRec({ id: 'r-b' }));
    expect(await feed.flush()).toBe(true);
    expect(failed).toEqual(['chat.postMessage: channel_not_found']);
    expect(feed.stats()).toMatchObject({ failed: 1, sent: 1, retries: 0 });
    expect(posts(slack.messages)).toHaveLength(1);
  });

  it('a message that can no longer be updated is re-posted', async () => {
    const feed = botFeed();
    feed.start();
    const rec = makeRec();
    feed.onDecision(rec);
    expect(await feed.flush()).toBe(true);
    slack.apiErrorNext('message_not_found');
    feed.onDecision({ ...rec, status: 'expired' });
    expect(await feed.flush()).toBe(true);
    expect(posts(slack.messages)).toHaveLength(2);
    expect(JSON.stringify(posts(slack.messages)[1]!.body.blocks)).toContain('*Expired*');
  });

  it('Slack down for the whole test: onDecision returns at once, the outbox keeps the message, a new feed delivers it later', async () => {
    const deadPort = await freePort();
    const { logger, lines } = captureLogger();
    const outboxPath = join(dir, 'outbox', 'slack.jsonl');
    const feed = botFeed({ logger }, `http://127.0.0.1:${deadPort}`);
    feed.start();
    const rec = makeRec();

    const t0 = performance.now();
    const r = feed.onDecision(rec) as unknown;
    feed.onDecision({ ...rec, status: 'approved' });
    feed.onDecision(outcome(rec, { outcome: 'approved', by: 'U024BE7LH' }));
    expect(performance.now() - t0).toBeLessThan(50);
    expect(r).toBeUndefined(); // not a promise to wait on

    await new Promise((res) => setTimeout(res, 100)); // a few failed attempts
    expect(feed.stats().retries).toBeGreaterThan(0);
    expect(feed.queueDepth()).toBe(4);
    await feed.stop(200);

    // The outbox is an SQLite file now (src/adapters/delivery/sqlite-outbox.ts): read it as a restart would.
    const file = readdirSync(join(dir, 'outbox'))
      .map((f) => readFileSync(join(dir, 'outbox', f), 'latin1'))
      .join('');
    const stored = new SqliteOutbox<SlackItem>(outboxPath);
    const pending = stored.pending();
    stored.close();
    expect(pending.map((l) => l.payload.kind)).toEqual(['post', 'update', 'update', 'reply']); // the 2nd update names the approver
    expect(pending[0]!.payload.rec!.id).toBe(rec.id);
    expect(file).toContain(rec.id);
    expect(file).not.toContain(slack.token);
    expect(lines.join('\n')).not.toContain(slack.token);
    expect(lines.join('\n')).toContain('retrying');

    // later: Slack is back, the service restarts on the same outbox
    const again = botFeed({ config: { mode: 'bot', channel: '#ops-harbinger', baseUrl: slack.url, outboxPath } });
    expect(again.queueDepth()).toBe(4);
    again.start();
    expect(await again.flush()).toBe(true);
    expect(posts(slack.messages)).toHaveLength(1); // one message, already in its latest state
    expect(JSON.stringify(posts(slack.messages)[0]!.body.blocks)).toContain('*Approved* by <@U024BE7LH>');
    expect(actionIds(posts(slack.messages)[0]!.body.blocks)).toEqual([]);
    expect(replies(slack.messages)).toHaveLength(1);
    expect(again.stats()).toMatchObject({ sent: 2, superseded: 2, queueDepth: 0 });
    await again.stop(500);

    // and a third start finds nothing left to send, but still knows where the message is
    const third = botFeed({ config: { mode: 'bot', channel: '#ops-harbinger', baseUrl: slack.url, outboxPath } });
    expect(third.queueDepth()).toBe(0);
    third.start();
    third.onDecision({ ...rec, status: 'executed' });
    expect(await third.flush()).toBe(true);
    expect(posts(slack.messages)).toHaveLength(1);
    expect(updates(slack.messages)).toHaveLength(1);
    expect(updates(slack.messages)[0]!.body.ts).toBe([...slack.store.values()][0]!.ts);
  });

  it('bounded queue: drops least important items first when full', async () => {
    const feed = botFeed({ maxQueue: 3 });
    const rec = makeRec();
    feed.onDecision(rec);
    feed.onDecision(outcome(rec, { outcome: 'approved', by: 'a' }));
    feed.onDecision(outcome(rec, { outcome: 'executed' }));
    feed.onDecision(makeRec({ id: 'r-2' }));
    expect(feed.queueDepth()).toBe(3);
    expect(feed.stats().dropped).toBeGreaterThan(0);
    feed.start();
    expect(await feed.flush()).toBe(true);
    expect(posts(slack.messages)).toHaveLength(2); // both recommendations made it
  });

  it('stop() flushes what it can before the deadline', async () => {
    const feed = botFeed();
    feed.start();
    feed.onDecision(makeRec());
    await feed.stop(2000);
    expect(posts(slack.messages)).toHaveLength(1);
    expect(feed.queueDepth()).toBe(0);
  });
});

describe('SlackFeed, incoming-webhook mode', () => {
  it('posts text+blocks without buttons; a status change is a new message; outcomes are posted', async () => {
    const feed = new SlackFeed({
      config: { mode: 'webhook', outboxPath: join(dir, 'webhook.jsonl') },
      secrets: { webhookUrl: slack.webhookUrl },
      sleep: fakeSleep().sleep,
    });
    feeds.push(feed);
    feed.start();
    const rec = makeRec();
    feed.onDecision(rec);
    expect(await feed.flush()).toBe(true);
    feed.onDecision({ ...rec, confidence: 0.9 });
    feed.onDecision({ ...rec, status: 'executed' });
    feed.onDecision(outcome(rec, { outcome: 'ineffective', reason: 'orders still -15 %' }));
    expect(await feed.flush()).toBe(true);

    const hooks = slack.messages.filter((m) => m.path === new URL(slack.webhookUrl).pathname);
    expect(hooks.map((h) => h.status)).toEqual([200, 200, 200]);
    expect(hooks[0]!.headers['authorization']).toBeUndefined();
    expect(typeof hooks[0]!.body.text).toBe('string');
    expect(hooks[0]!.body.text).toContain('Shift 20 % of checkout traffic away from us-west-2');
    expect(hooks[0]!.body.blocks[0].type).toBe('header');
    expect(actionIds(hooks[0]!.body.blocks)).toEqual([]);
    expect(JSON.stringify(hooks[0]!.body.blocks)).toContain('Approval needed');
    expect(JSON.stringify(hooks[1]!.body.blocks)).toContain('*Executed*');
    expect(hooks[2]!.body.text).toContain('INEFFECTIVE');
    expect(slack.messages.some((m) => m.path.startsWith('/api/'))).toBe(false);
  });

  it('webhook 429 honours Retry-After; a 404 (revoked hook) is permanent', async () => {
    const { sleep, delays } = fakeSleep();
    const failed: string[] = [];
    const feed = new SlackFeed({
      config: { mode: 'webhook', outboxPath: join(dir, 'w2.jsonl') },
      secrets: { webhookUrl: slack.webhookUrl },
      sleep,
      onFailed: (i) => failed.push(i.error),
    });
    feeds.push(feed);
    feed.start();
    slack.rateLimitNext(2);
    feed.onDecision(makeRec({ id: 'a' }));
    expect(await feed.flush()).toBe(true);
    expect(delays).toEqual([2000]);

    const gone = new SlackFeed({
      config: { mode: 'webhook', outboxPath: join(dir, 'w3.jsonl') },
      secrets: { webhookUrl: `${slack.url}/services/T0/B0/revoked` },
      sleep,
      onFailed: (i) => failed.push(i.error),
    });
    feeds.push(gone);
    gone.start();
    gone.onDecision(makeRec({ id: 'b' }));
    expect(await gone.flush()).toBe(true);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatch(/^webhook: HTTP 404/);
    expect(failed[0]).not.toContain('revoked');
  });
});

describe('SlackFeed.handleInteraction', () => {
  const NOW = 1_700_000_200;

  function signed(body: string, ts = NOW - 3, secret = SIGNING_SECRET) {
    return {
      headers: {
        'x-slack-request-timestamp': String(ts),
        'x-slack-signature': signSlackRequest(secret, ts, body),
        'content-type': 'application/x-www-form-urlencoded',
      },
      rawBody: Buffer.from(body, 'utf8'),
      nowSeconds: NOW,
    };
  }

  it('accepts an Approve click signed exactly as Slack signs it', () => {
    const feed = botFeed();
    const res = feed.handleInteraction(signed(blockActionsBody('harbinger_approve', 'rec-checkout-us-west-2-0001')));
    expect(res.status).toBe(200);
    expect(res.decision).toMatchObject({
      recommendationId: 'rec-checkout-us-west-2-0001',
      verdict: 'approve',
      user: 'alice.oncall',
      userId: 'U024BE7LH',
      channel: 'C0HARBINGR',
      messageTs: '1700000000.000100',
    });
  });

  it('refuses bad signatures, replays and junk', () => {
    const feed = botFeed();
    const body = blockActionsBody('harbinger_reject', 'rec-1');
    expect(feed.handleInteraction(signed(body, NOW - 3, 'wrong-secret'))).toMatchObject({ status: 401, body: { error: 'signature mismatch' } });
    const replay = feed.handleInteraction(signed(body, NOW - 360));
    expect(replay.status).toBe(401);
    expect(replay.decision).toBeUndefined();
    expect(String((replay.body as { error: string }).error)).toMatch(/replay window/);
    const tampered = signed(body);
    tampered.rawBody = Buffer.from(body.replace('harbinger_reject', 'harbinger_approve'));
    expect(feed.handleInteraction(tampered).status).toBe(401);
    expect(feed.handleInteraction({ headers: {}, rawBody: body, nowSeconds: NOW }).status).toBe(401);
    expect(feed.handleInteraction(signed('payload=%7B%7D')).status).toBe(400);
    // Header names in any case
    const s = signed(body);
    const upper = { 'X-Slack-Request-Timestamp': s.headers['x-slack-request-timestamp'], 'X-Slack-Signature': s.headers['x-slack-signature'] };
    expect(feed.handleInteraction({ ...s, headers: upper }).decision?.verdict).toBe('reject');
  });

  it('404 when no signing secret is configured', () => {
    const feed = botFeed({ secrets: { botToken: slack.token } });
    expect(feed.handleInteraction(signed(blockActionsBody('harbinger_approve', 'r'))).status).toBe(404);
  });
});

describe('the bot token is checked at start (auth.test)', () => {
  it('a token Slack refuses stops serve from starting, with the reason; a good one starts', async () => {
    const slack = await startFakeSlack();
    try {
      const start = async (botToken: string) => {
        const config = parseConfig({ server: { port: 0, dataDir: mkdtempSync(join(tmpdir(), 'hb-auth-')) }, slack: { channel: '#ops', baseUrl: slack.url } });
        const service = new HarbingerService({
          config,
          log: createLogger('silent'),
          apiToken: 'auth-test-token-0123456789',
          slack: { botToken, signingSecret: 'sign' },
        });
        try {
          await service.start();
          return 'started';
        } catch (e) {
          return (e as Error).message;
        } finally {
          await service.stop().catch(() => undefined);
        }
      };
      expect(await start('xoxb-wrong')).toBe('slack: Slack refused the bot token (auth.test: invalid_auth): check SLACK_BOT_TOKEN');
      expect(await start(slack.token)).toBe('started');
    } finally {
      await slack.stop();
    }
  });
});

import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signSlackRequest, verifySlackSignature } from '../src/adapters/slack/signature.js';
import { parseInteraction } from '../src/adapters/slack/interaction.js';
import { blockActionsBody } from './support/fake-slack.js';

// Slack's documented example values for request signing
const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW = 1531420618;
const BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';

function verify(over: Partial<Parameters<typeof verifySlackSignature>[0]> = {}) {
  return verifySlackSignature({
    signingSecret: SECRET,
    timestampHeader: String(NOW),
    signatureHeader: signSlackRequest(SECRET, NOW, BODY),
    rawBody: BODY,
    nowSeconds: NOW + 10,
    ...over,
  });
}

describe('verifySlackSignature', () => {
  it('signs as v0=hex(HMAC-SHA256(secret, "v0:ts:body"))', () => {
    const expected = `v0=${createHmac('sha256', SECRET).update(`v0:${NOW}:${BODY}`).digest('hex')}`;
    expect(signSlackRequest(SECRET, NOW, BODY)).toBe(expected);
    expect(signSlackRequest(SECRET, String(NOW), Buffer.from(BODY))).toBe(expected);
  });

  it('accepts a valid signature (string or Buffer body)', () => {
    expect(verify()).toEqual({ ok: true });
    expect(verify({ rawBody: Buffer.from(BODY) })).toEqual({ ok: true });
  });

  it('refuses a wrong secret', () => {
    expect(verify({ signatureHeader: signSlackRequest('another-secret', NOW, BODY) })).toEqual({ ok: false, reason: 'signature mismatch' });
  });

  it('refuses a tampered body', () => {
    expect(verify({ rawBody: BODY.replace('roadrunner', 'wile_e_coyote') })).toEqual({ ok: false, reason: 'signature mismatch' });
  });

  it('refuses a timestamp 6 minutes old (replay window), and one from the future', () => {
    const old = NOW - 360;
    const r = verify({ timestampHeader: String(old), signatureHeader: signSlackRequest(SECRET, old, BODY), nowSeconds: NOW });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/360 s old.*replay window/);
    const future = NOW + 400;
    const f = verify({ timestampHeader: String(future), signatureHeader: signSlackRequest(SECRET, future, BODY), nowSeconds: NOW });
    expect(!f.ok && f.reason).toMatch(/future.*replay window/);
    // inside a custom tolerance
    expect(verify({ timestampHeader: String(old), signatureHeader: signSlackRequest(SECRET, old, BODY), nowSeconds: NOW, toleranceSeconds: 600 })).toEqual({
      ok: true,
    });
  });

  it('refuses missing or malformed headers', () => {
    const sig = signSlackRequest(SECRET, NOW, BODY);
    expect(verify({ signatureHeader: undefined })).toEqual({ ok: false, reason: 'missing X-Slack-Signature header' });
    expect(verify({ timestampHeader: undefined })).toEqual({ ok: false, reason: 'missing X-Slack-Request-Timestamp header' });
    for (const bad of [sig.slice(3), `v1=${sig.slice(3)}`, `${sig}00`, 'v0=zz', 'garbage']) {
      const r = verify({ signatureHeader: bad });
      expect(!r.ok && r.reason).toMatch(/malformed X-Slack-Signature/);
    }
    expect(!verify({ timestampHeader: 'yesterday' }).ok && (verify({ timestampHeader: 'yesterday' }) as { reason: string }).reason).toMatch(
      /malformed X-Slack-Request-Timestamp/,
    );
    expect(verify({ signatureHeader: [sig, sig] }).ok).toBe(false);
    expect(verify({ signingSecret: '' })).toEqual({ ok: false, reason: 'no signing secret configured' });
  });
});

describe('parseInteraction', () => {
  it('parses a realistic block_actions approve click', () => {
    const r = parseInteraction(blockActionsBody('harbinger_approve', 'rec-checkout-us-west-2-0001'));
    expect(r).toEqual({
      ok: true,
      decision: {
        recommendationId: 'rec-checkout-us-west-2-0001',
        verdict: 'approve',
        user: 'alice.oncall',
        userId: 'U024BE7LH',
        teamId: 'T0CAG4T5M',
        channel: 'C0HARBINGR',
        messageTs: '1700000000.000100',
        responseUrl: 'https://hooks.slack.com/actions/T0CAG4T5M/1524/0MJRs1HExWrX9FJDDfnzTHW3',
      },
    });
    const rej = parseInteraction(Buffer.from(blockActionsBody('harbinger_reject', 'rec-9')));
    expect(rej.ok && rej.decision.verdict).toBe('reject');
  });

  it('refuses what is not ours', () => {
    expect(parseInteraction('foo=bar')).toEqual({ ok: false, reason: 'no payload field in the form body' });
    expect(parseInteraction('payload=%7Bnot-json')).toEqual({ ok: false, reason: 'payload is not valid JSON' });
    expect(parseInteraction(new URLSearchParams({ payload: JSON.stringify({ type: 'view_submission' }) }).toString())).toEqual({
      ok: false,
      reason: 'unsupported interaction type "view_submission"',
    });
    const other = parseInteraction(blockActionsBody('some_other_button', 'x'));
    expect(!other.ok && other.reason).toMatch(/no Harbinger action/);
    const empty = parseInteraction(blockActionsBody('harbinger_approve', ''));
    expect(!empty.ok && empty.reason).toMatch(/no recommendation id/);
    const noUser = parseInteraction(
      new URLSearchParams({ payload: JSON.stringify({ type: 'block_actions', actions: [{ action_id: 'harbinger_approve', value: 'r' }] }) }).toString(),
    );
    expect(!noUser.ok && noUser.reason).toMatch(/invalid block_actions payload: user/);
  });
});

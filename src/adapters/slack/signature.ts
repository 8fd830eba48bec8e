import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Slack request signing, v0 scheme: `v0=` + hex(HMAC-SHA256(signingSecret, `v0:${timestamp}:${rawBody}`)),
 * sent as `X-Slack-Signature`, with the timestamp (Unix seconds) in `X-Slack-Request-Timestamp`.
 * The signature is over the raw request bytes, so verify before parsing the body.
 */

export interface VerifySlackSignatureInput {
  signingSecret: string;
  /** `X-Slack-Request-Timestamp` as received (Node may give an array for repeated headers). */
  timestampHeader: string | string[] | undefined;
  /** `X-Slack-Signature` as received. */
  signatureHeader: string | string[] | undefined;
  /** The body exactly as received, before any parsing. */
  rawBody: string | Buffer;
  /** Current time, Unix seconds. */
  nowSeconds: number;
  /** Replay window: refuse timestamps further than this from now, either way (default 300 s). */
  toleranceSeconds?: number;
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

function single(h: string | string[] | undefined): string | undefined {
  if (Array.isArray(h)) return h.length === 1 ? h[0] : undefined;
  return h;
}

function hmacHex(signingSecret: string, timestamp: string, rawBody: string | Buffer): string {
  const mac = createHmac('sha256', signingSecret);
  mac.update(`v0:${timestamp}:`, 'utf8');
  mac.update(typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : rawBody);
  return mac.digest('hex');
}

/** The `X-Slack-Signature` value Slack would send for this body (for tests and local tools). */
export function signSlackRequest(signingSecret: string, timestamp: number | string, rawBody: string | Buffer): string {
  return `v0=${hmacHex(signingSecret, String(timestamp), rawBody)}`;
}

export function verifySlackSignature(input: VerifySlackSignatureInput): VerifyResult {
  const tolerance = input.toleranceSeconds ?? 300;
  if (input.signingSecret === '') return { ok: false, reason: 'no signing secret configured' };

  const ts = single(input.timestampHeader)?.trim();
  if (ts === undefined || ts === '') return { ok: false, reason: 'missing X-Slack-Request-Timestamp header' };
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'malformed X-Slack-Request-Timestamp header (expected Unix seconds)' };

  const sig = single(input.signatureHeader)?.trim();
  if (sig === undefined || sig === '') return { ok: false, reason: 'missing X-Slack-Signature header' };
  const m = /^v0=([0-9a-fA-F]{64})$/.exec(sig);
  if (m === null) return { ok: false, reason: 'malformed X-Slack-Signature header (expected v0=<64 hex digits>)' };

  const skew = input.nowSeconds - Number(ts);
  if (!Number.isFinite(skew) || Math.abs(skew) > tolerance) {
    const when = skew >= 0 ? `${Math.round(skew)} s old` : `${Math.round(-skew)} s in the future`;
    return { ok: false, reason: `request timestamp is ${when}, outside the ${tolerance} s replay window` };
  }

  const expected = Buffer.from(hmacHex(input.signingSecret, ts, input.rawBody), 'hex');
  const given = Buffer.from(m[1]!.toLowerCase(), 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, reason: 'signature mismatch' };
  }
  return { ok: true };
}

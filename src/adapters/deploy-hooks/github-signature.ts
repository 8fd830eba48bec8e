import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * GitHub signs every webhook delivery (when the webhook has a secret) with
 * `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body under the secret>`. GitHub cannot
 * send a bearer token, so this signature is the delivery's only authentication. It covers the raw
 * bytes, so it is checked before the body is parsed (and whatever its content type).
 */
export function signGitHubPayload(secret: string, rawBody: Buffer | string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

export type SignatureCheck = { ok: true } | { ok: false; reason: string };

export function verifyGitHubSignature(secret: string, header: string | string[] | undefined, rawBody: Buffer): SignatureCheck {
  const value = Array.isArray(header) ? (header.length === 1 ? header[0] : undefined) : header;
  if (value === undefined || value === '')
    return { ok: false, reason: 'missing X-Hub-Signature-256 header: set a secret on the GitHub webhook (the same as HARBINGER_GITHUB_WEBHOOK_SECRET)' };
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(value.trim());
  if (m === null) return { ok: false, reason: 'malformed X-Hub-Signature-256 header (expected sha256=<64 hex digits>)' };
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const given = Buffer.from(m[1]!, 'hex');
  // Same length by construction (32 bytes each); timingSafeEqual so timing says nothing about how much matched.
  return timingSafeEqual(given, expected) ? { ok: true } : { ok: false, reason: 'signature mismatch: the body was not signed with the configured secret' };
}

/**
 * What one delivery attempt came to, classified by the adapter that made it (Alertmanager's
 * notifiers answer `(retry, err)`; only the stage decides what to do next). A typed union, not a
 * string: the stage switches on `kind`, metrics label on it, logs show `reason`.
 */
export type DeliveryResult<R = unknown> =
  /** The receiver took it (2xx, or the API's own "ok"). `receipt`: what it answered (e.g. Slack's ts). */
  | { kind: 'delivered'; status?: number; receipt?: R }
  /** Worth trying again: 5xx, 408, 429, network errors, timeouts. `retryAfterMs` overrides the backoff. */
  | { kind: 'retry_later'; reason: string; status?: number; retryAfterMs?: number }
  /** The receiver refused it and will refuse it again (other 4xx, a revoked hook): never retried. */
  | { kind: 'permanent_failure'; reason: string; status?: number };

export type DeliveryResultKind = DeliveryResult['kind'];

/**
 * `Retry-After`: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or
 * unreadable (the backoff applies then).
 */
export function parseRetryAfter(header: unknown, nowMs: number = Date.now()): number | undefined {
  const v = Array.isArray(header) ? header[0] : header;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.round(v * 1000);
  if (typeof v !== 'string' || v.trim() === '') return undefined;
  const s = v.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const at = Date.parse(s);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** Statuses a receiver may answer differently later: overload, timeouts, rate limits. */
export function isRetriableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/**
 * Classifies an HTTP answer: 2xx delivered; 5xx, 408 and 429 retry later (after `Retry-After`
 * when the receiver sent one); any other status is a permanent failure. `reason` is the text the
 * caller wants in logs (already scrubbed of secrets).
 */
export function classifyHttp(status: number, retryAfterHeader: unknown, reason: string, nowMs: number = Date.now()): DeliveryResult<never> {
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (!isRetriableStatus(status)) return { kind: 'permanent_failure', reason, status };
  const retryAfterMs = parseRetryAfter(retryAfterHeader, nowMs);
  return { kind: 'retry_later', reason, status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
}

import type { DeliveryResult } from './delivery-result.js';

/**
 * The one retry policy of every outbound delivery: exponential from `baseMs`, capped at `capMs`,
 * with a `jitter` share of each delay drawn at random (0: none, 0.5: "equal jitter", half fixed
 * and half random, so receivers coming back are not hit by every sender at once). A receiver's
 * `Retry-After` wins over the computed delay: it knows when it can take more.
 */
export interface BackoffPolicy {
  readonly baseMs: number;
  readonly capMs: number;
  /** 0..1: the share of the delay that is random. */
  readonly jitter: number;
}

export function backoffPolicy(p: BackoffPolicy): BackoffPolicy {
  if (!(p.baseMs >= 0) || !(p.capMs >= p.baseMs)) throw new Error(`backoff: need 0 <= baseMs <= capMs, got baseMs=${p.baseMs} capMs=${p.capMs}`);
  if (!(p.jitter >= 0 && p.jitter <= 1)) throw new Error(`backoff: jitter must be within 0..1, got ${p.jitter}`);
  return Object.freeze({ ...p });
}

/** Delay before the next attempt after `attempts` failed ones (attempts ≥ 1). `random` in [0,1). */
export function backoffDelayMs(p: BackoffPolicy, attempts: number, random: () => number): number {
  const d = Math.min(p.capMs, p.baseMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
  return Math.round(d * (1 - p.jitter) + random() * d * p.jitter);
}

/** The wait after a retry-later result: its Retry-After when it has one, the backoff otherwise. */
export function retryDelayMs(p: BackoffPolicy, attempts: number, result: Extract<DeliveryResult, { kind: 'retry_later' }>, random: () => number): number {
  return result.retryAfterMs ?? backoffDelayMs(p, attempts, random);
}

import type { Logger } from '../log/logger.js';
import { type BackoffPolicy, retryDelayMs } from './backoff.js';
import type { DeliveryResult, DeliveryResultKind } from './delivery-result.js';
import type { OutboxRow, SqliteOutbox } from './sqlite-outbox.js';

/** How a queued delivery ended. */
export type Settlement<R> =
  | { kind: 'delivered'; attempts: number; status?: number; receipt?: R }
  /** The receiver refused it (a permanent failure): not retried. */
  | { kind: 'refused'; attempts: number; reason: string; status?: number }
  /** Retried `maxAttempts` times, still not taken. */
  | { kind: 'gave_up'; attempts: number; reason: string; status?: number }
  /** Pushed out because `maxQueued` deliveries were waiting. */
  | { kind: 'dropped'; attempts: number }
  /** A later delivery of the same group (`coalesceKey`) was sent in its place and carried it. */
  | { kind: 'superseded'; attempts: number };

/** Why a delivery was lost: the `reason` label of harbinger_delivery_dropped_total. */
export type DropReason = 'queue_full' | 'permanent_failure' | 'attempts_exhausted';

/** Where the stage reports what it does (metrics; see ./delivery-metrics.ts). */
export interface DeliveryObserver {
  attempt(target: string, result: DeliveryResultKind): void;
  dropped(target: string, reason: DropReason): void;
  /** Queue depth and the oldest queued delivery's enqueue time (ms), after every change. */
  queued(target: string, depth: number, oldestEnqueuedAt: number | undefined): void;
}

export interface DeliveryStats {
  queued: number;
  delivered: number;
  /** Refused or given up on. */
  failed: number;
  /** Dropped because the queue was full. */
  dropped: number;
  superseded: number;
  retries: number;
  /** Outbox writes that failed (the delivery goes on, but would not survive a restart). */
  persistErrors: number;
}

export interface DeliveryStageOptions<P, R> {
  /** Names the receiver in metrics and logs, e.g. `slack`, `routing-webhook`. */
  target: string;
  outbox: SqliteOutbox<P>;
  /** One attempt. `coalesced`: the queued deliveries of the head's group, which succeed with it. */
  send(item: Readonly<OutboxRow<P>>, coalesced: readonly Readonly<OutboxRow<P>>[]): Promise<DeliveryResult<R>>;
  policy: BackoffPolicy;
  /** Bound on queued deliveries; beyond it one is dropped (and counted). */
  maxQueued: number;
  /** Give up after this many retry-later answers (default: never). */
  maxAttempts?: number;
  /** Deliveries with the same group key supersede each other: a newer state makes an older one pointless. */
  coalesceKey?(payload: P): string | undefined;
  /** Which to drop when full (default: the oldest). Never offered the delivery in flight. */
  chooseVictim?(queued: readonly Readonly<OutboxRow<P>>[]): Readonly<OutboxRow<P>> | undefined;
  observer?: DeliveryObserver;
  onSettled?(item: Readonly<OutboxRow<P>>, s: Settlement<R>): void;
  onRetry?(item: Readonly<OutboxRow<P>>, r: Extract<DeliveryResult, { kind: 'retry_later' }>, attempts: number, delayMs: number): void;
  log?: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** Wall clock (ms), sleep and jitter source: injected so tests run on recorded time. */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

interface Queued<P, R> extends OutboxRow<P> {
  waiters: ((s: Settlement<R>) => void)[];
}

const quiet = { info() {}, warn() {}, error() {} };

/**
 * The one delivery stage (Alertmanager's `notify.RetryStage` with a disk under it): callers
 * enqueue, the adapter's `send` classifies one attempt, and only this loop decides what happens
 * next. In order per target (one delivery in flight, the head blocks the rest while it is
 * retried), at least once across restarts (a delivery is in the outbox before `enqueue` returns
 * and leaves it when it settles; a crash in between sends it again under the same key), bounded
 * (`maxQueued`, the victim is counted and logged once per burst).
 */
export class DeliveryStage<P, R = unknown> {
  readonly target: string;
  private readonly queue: Queued<P, R>[] = [];
  private readonly counters: Omit<DeliveryStats, 'queued'> = { delivered: 0, failed: 0, dropped: 0, superseded: 0, retries: 0, persistErrors: 0 };
  private readonly log: Pick<Logger, 'info' | 'warn' | 'error'>;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private inflight: Queued<P, R> | undefined;
  private dropsInBurst = 0;
  private started = false;
  private stopped = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;
  private stopWake: (() => void) | undefined;
  private readonly stopSignal: Promise<void>;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly opts: DeliveryStageOptions<P, R>) {
    this.target = opts.target;
    this.log = opts.log ?? quiet;
    this.now = opts.now ?? Date.now;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.random = opts.random ?? Math.random;
    this.stopSignal = new Promise((r) => (this.stopWake = r));
    for (const row of opts.outbox.pending()) this.queue.push({ ...row, waiters: [] });
    if (this.queue.length > 0)
      this.log.info({ target: this.target, pending: this.queue.length }, `${this.target}: re-queued undelivered items from the outbox`);
    this.changed();
  }

  /** What is queued now, oldest first (the owner rebuilds its own state from it after a restart). */
  pending(): readonly Readonly<OutboxRow<P>>[] {
    return this.queue;
  }

  depth(): number {
    return this.queue.length;
  }

  stats(): DeliveryStats {
    return { queued: this.queue.length, ...this.counters };
  }

  /**
   * Accepts a delivery: in the outbox before this returns (a full disk is logged and counted;
   * the delivery still goes out, it would only not survive a restart). The same key while still
   * queued is the same delivery: the caller waits for it, nothing is queued twice. Resolves when
   * it settles; never rejects. Never waits for the receiver.
   */
  enqueue(key: string, payload: P): Promise<Settlement<R>> {
    return new Promise((resolve) => {
      const queued = this.queue.find((q) => q.key === key);
      if (queued !== undefined) return void queued.waiters.push(resolve);
      const item: Queued<P, R> = { key, payload, attempts: 0, enqueuedAt: this.now(), waiters: [resolve] };
      this.queue.push(item);
      this.persist(() => this.opts.outbox.add(item));
      while (this.queue.length > this.opts.maxQueued && this.dropOne()) {}
      this.changed();
      this.wake?.();
    });
  }

  /** Starts the sender loop (idempotent). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.loopDone = this.loop().catch((err: unknown) => this.log.error({ target: this.target, err: String(err) }, `${this.target}: sender loop crashed`));
  }

  /** Resolves true once everything queued so far has settled, false on timeout. */
  async flush(timeoutMs = 5000): Promise<boolean> {
    if (this.queue.length === 0 && this.inflight === undefined) return true;
    if (!this.started || this.stopped) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const idle = new Promise<boolean>((r) => this.idleWaiters.push(() => r(true)));
    const done = await Promise.race([idle, timeout]);
    clearTimeout(timer);
    return done;
  }

  /**
   * Best-effort flush until `deadlineMs`, then stops and closes the outbox; what is unsent stays
   * in it for the next start. Callers still waiting are left waiting (the process is going away;
   * the next one delivers under the same key).
   */
  async stop(deadlineMs = 5000): Promise<void> {
    if (this.stopped) return;
    const t0 = Date.now();
    if (this.started && (this.queue.length > 0 || this.inflight !== undefined))
      await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), realDelay(deadlineMs)]);
    this.stopped = true;
    this.stopWake?.();
    this.wake?.();
    await Promise.race([this.loopDone, realDelay(Math.max(0, deadlineMs - (Date.now() - t0)))]);
    if (this.queue.length > 0)
      this.log.warn({ target: this.target, pending: this.queue.length }, `${this.target}: stopped with undelivered items; they stay in the outbox`);
    this.opts.outbox.close();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const head = this.queue[0];
      if (head === undefined) {
        this.endBurst();
        for (const r of this.idleWaiters.splice(0)) r();
        await new Promise<void>((r) => {
          this.wake = r;
          if (this.queue.length > 0 || this.stopped) r();
        });
        this.wake = undefined;
        continue;
      }
      this.inflight = head;
      const group = this.opts.coalesceKey?.(head.payload);
      const later = group === undefined ? [] : this.queue.filter((q) => q !== head && this.opts.coalesceKey!(q.payload) === group);
      let res: DeliveryResult<R>;
      try {
        res = await this.opts.send(head, later);
      } catch (err) {
        res = { kind: 'retry_later', reason: `unexpected: ${String(err)}` }; // an adapter bug must not lose the delivery
      }
      this.inflight = undefined;
      const attempts = ++head.attempts;
      this.opts.observer?.attempt(this.target, res.kind);
      if (res.kind === 'delivered') {
        this.counters.delivered += 1;
        this.settle(head, { kind: 'delivered', attempts, ...pick(res) });
        for (const l of later) if (this.queue.includes(l)) this.settle(l, { kind: 'superseded', attempts: l.attempts }, () => (this.counters.superseded += 1));
        continue;
      }
      if (res.kind === 'permanent_failure' || attempts >= (this.opts.maxAttempts ?? Number.POSITIVE_INFINITY)) {
        const refused = res.kind === 'permanent_failure';
        this.counters.failed += 1;
        this.opts.observer?.dropped(this.target, refused ? 'permanent_failure' : 'attempts_exhausted');
        const why = { attempts, reason: res.reason, ...(res.status !== undefined ? { status: res.status } : {}) };
        this.settle(head, refused ? { kind: 'refused', ...why } : { kind: 'gave_up', ...why });
        continue;
      }
      this.persist(() => this.opts.outbox.attempted(head.key, attempts));
      this.counters.retries += 1;
      const delayMs = retryDelayMs(this.opts.policy, attempts, res, this.random);
      this.hook(() => this.opts.onRetry?.(head, res, attempts, delayMs));
      await Promise.race([this.sleep(delayMs), this.stopSignal]);
    }
  }

  /** Drops what matters least (the owner's choice, else the oldest); false when nothing can go. */
  private dropOne(): boolean {
    const candidates = this.queue.filter((q) => q !== this.inflight);
    const chosen = this.opts.chooseVictim?.(candidates) ?? candidates[0];
    const victim = this.queue.find((q) => q === chosen);
    if (victim === undefined) return false;
    this.counters.dropped += 1;
    this.opts.observer?.dropped(this.target, 'queue_full');
    // Logged once per burst (the first drop; the total when the queue drains), not once per item.
    if (this.dropsInBurst++ === 0)
      this.log.warn(
        { target: this.target, maxQueued: this.opts.maxQueued },
        `${this.target}: outbox full, dropping deliveries (counted in harbinger_delivery_dropped_total)`,
      );
    this.settle(victim, { kind: 'dropped', attempts: victim.attempts });
    return true;
  }

  private endBurst(): void {
    if (this.dropsInBurst > 1)
      this.log.warn({ target: this.target, dropped: this.dropsInBurst }, `${this.target}: outbox drained; deliveries dropped while it was full`);
    this.dropsInBurst = 0;
  }

  private settle(item: Queued<P, R>, s: Settlement<R>, count?: () => void): void {
    const i = this.queue.indexOf(item);
    if (i !== -1) this.queue.splice(i, 1);
    count?.();
    this.persist(() => this.opts.outbox.settled(item.key));
    this.changed();
    this.hook(() => this.opts.onSettled?.(item, s));
    for (const w of item.waiters.splice(0)) w(s);
  }

  private changed(): void {
    this.hook(() => this.opts.observer?.queued(this.target, this.queue.length, this.queue[0]?.enqueuedAt));
  }

  private persist(write: () => void): void {
    try {
      write();
    } catch (err) {
      this.counters.persistErrors += 1;
      this.log.error({ target: this.target, err: String(err) }, `${this.target}: cannot write the outbox`);
    }
  }

  /** Metrics and logging hooks must never stop the sender. */
  private hook(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.warn({ target: this.target, err: String(err) }, `${this.target}: a delivery hook threw`);
    }
  }
}

function pick<R>(res: Extract<DeliveryResult<R>, { kind: 'delivered' }>): { status?: number; receipt?: R } {
  return { ...(res.status !== undefined ? { status: res.status } : {}), ...(res.receipt !== undefined ? { receipt: res.receipt } : {}) };
}

function realDelay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

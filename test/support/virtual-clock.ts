import type { Timers } from '../../src/adapters/health-checks/prober.js';

/**
 * A clock whose time moves only when the test says: timers fire in time order as it advances.
 * `settle` runs after each timer fired (await the prober's idle() there, so its real I/O finishes
 * before virtual time moves on).
 */
export class VirtualClock implements Timers {
  private t: number;
  private seq = 0;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();

  constructor(start: number) {
    this.t = start;
  }

  readonly now = (): number => this.t;

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.t + ms, fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  /** Moves to `target`, firing every timer due on the way, earliest (then oldest) first. */
  async advanceTo(target: number, settle: () => Promise<void>): Promise<void> {
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.pending) if (e[1].at <= target && (next === undefined || e[1].at < next[1].at)) next = e;
      if (next === undefined) break;
      this.pending.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].fn();
      await settle();
    }
    this.t = target;
  }
}

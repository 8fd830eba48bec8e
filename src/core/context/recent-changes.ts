import type { ContextEvent, EventKind } from '../../domain/types.js';

/**
 * Which stacks (and services) changed recently: a deployment, rollback or config change, watched
 * from its start until `watchMs` after it ended. Detection is more sensitive there (canary
 * analysis: the changed stack against its unchanged peers).
 *
 * Every window is kept until event time passes its end, so the answer does not depend on the order
 * events arrive in (a backfill, or a Kafka shard, may receive all context events before any sample).
 * The per-sample question costs one comparison unless some change is recent.
 */

const CHANGE_KINDS: ReadonlySet<EventKind> = new Set(['deployment', 'rollback', 'config_change']);

/** [stack, service ('' for the whole stack), from, until], in ms. */
type ChangeWindow = [string, string, number, number];

export class RecentChanges {
  private windows: ChangeWindow[] = [];
  private latestUntil = -Infinity;

  constructor(private readonly watchMs: number) {}

  add(e: ContextEvent): void {
    if (!CHANGE_KINDS.has(e.kind) || e.stack === undefined || this.watchMs <= 0) return;
    const until = (e.endTs ?? e.ts) + this.watchMs;
    this.windows.push([e.stack, e.service ?? '', e.ts, until]);
    if (until > this.latestUntil) this.latestUntil = until;
  }

  /** Whether `stack`/`service` is inside a change window at `ts` (called with non-decreasing ts per engine). */
  changed(stack: string, service: string, ts: number): boolean {
    if (ts > this.latestUntil) return false;
    let found = false;
    let expired = false;
    for (const [st, sv, from, until] of this.windows) {
      if (until < ts) expired = true;
      else if (!found && st === stack && (sv === service || sv === '') && ts >= from) found = true;
    }
    // Event time only moves forward, so a window that ended is never needed again.
    if (expired) this.windows = this.windows.filter((w) => w[3] >= ts);
    return found;
  }

  toJSON(): ChangeWindow[] {
    return this.windows.map((w) => [...w] as ChangeWindow);
  }

  static fromJSON(watchMs: number, rows: readonly ChangeWindow[] | undefined): RecentChanges {
    const c = new RecentChanges(watchMs);
    for (const w of rows ?? []) {
      c.windows.push([...w] as ChangeWindow);
      if (w[3] > c.latestUntil) c.latestUntil = w[3];
    }
    return c;
  }
}

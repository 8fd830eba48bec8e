import type { ContextEvent, EventKind, Signal } from '../../domain/types.js';

/**
 * Which stacks (and services) changed recently: a deployment, rollback or config change, watched
 * from its start until `watchMs` after it ended. Detection is more sensitive there (canary
 * analysis: the changed stack against its unchanged peers).
 *
 * Every window is kept until event time passes its end, so the answer does not depend on the order
 * events arrive in (a backfill, or a Kafka shard, may receive all context events before any
 * sample). The per-sample question costs one comparison unless some change is recent, then a scan
 * of that stack's few windows.
 */

/**
 * The signals canary analysis watches on a changed stack: what a bad version breaks first, errors
 * and latency (seed 002's canary monitors). Business counts dip on any rolling restart.
 */
export function watchedAfterChange(signal: Signal): boolean {
  return signal === 'reliability' || signal === 'latency';
}

const CHANGE_KINDS: ReadonlySet<EventKind> = new Set(['deployment', 'rollback', 'config_change']);

/** A deployment, rollback or config change: what canary analysis watches a stack after. */
export function isChange(e: ContextEvent): boolean {
  return CHANGE_KINDS.has(e.kind);
}

/** [stack, service ('' for the whole stack), from, until], in ms: the serialized form. */
type ChangeWindow = [string, string, number, number];

interface Window {
  service: string;
  from: number;
  until: number;
}

export class RecentChanges {
  private readonly byStack = new Map<string, Window[]>();
  private latestUntil = -Infinity;

  constructor(private readonly watchMs: number) {}

  add(e: ContextEvent): void {
    if (!isChange(e) || e.stack === undefined || this.watchMs <= 0) return;
    this.put(e.stack, e.service ?? '', e.ts, (e.endTs ?? e.ts) + this.watchMs);
  }

  /** Watches a change again from `ts`, when it first meets users (see ContextState: an idle stack's release at its cutover). */
  watchFrom(stack: string, service: string, ts: number): void {
    if (this.watchMs > 0) this.put(stack, service, ts, ts + this.watchMs);
  }

  private put(stack: string, service: string, from: number, until: number): void {
    let list = this.byStack.get(stack);
    if (list === undefined) this.byStack.set(stack, (list = []));
    list.push({ service, from, until });
    if (until > this.latestUntil) this.latestUntil = until;
  }

  /**
   * When the latest change whose window covers `stack`/`service` at `ts` began (NaN when none).
   * Read-only: windows that ended are pruned by `changed`.
   */
  latestChange(stack: string, service: string, ts: number): number {
    if (ts > this.latestUntil) return Number.NaN;
    const list = this.byStack.get(stack);
    let from = Number.NaN;
    if (list === undefined) return from;
    for (const w of list) {
      if (ts >= w.from && w.until >= ts && (w.service === service || w.service === '') && !(w.from <= from)) from = w.from;
    }
    return from;
  }

  /**
   * Whether a change covering `stack`/`service` at `ts` is still rolling out (before its end; a
   * window watched from a cutover has none). Read-only, like latestChange.
   */
  rollingOut(stack: string, service: string, ts: number): boolean {
    if (ts > this.latestUntil) return false;
    const list = this.byStack.get(stack);
    if (list === undefined) return false;
    for (const w of list) if (ts >= w.from && ts < w.until - this.watchMs && (w.service === service || w.service === '')) return true;
    return false;
  }

  /** Whether `stack`/`service` is inside a change window at `ts` (called with non-decreasing ts per engine). */
  changed(stack: string, service: string, ts: number): boolean {
    if (ts > this.latestUntil) return false;
    const list = this.byStack.get(stack);
    if (list === undefined) return false;
    let found = false;
    let expired = false;
    for (let i = 0; i < list.length; i++) {
      const w = list[i]!;
      if (w.until < ts) expired = true;
      else if (!found && ts >= w.from && (w.service === service || w.service === '')) found = true;
    }
    // Event time only moves forward, so a window that ended is never needed again.
    if (expired)
      this.byStack.set(
        stack,
        list.filter((w) => w.until >= ts),
      );
    return found;
  }

  toJSON(): ChangeWindow[] {
    const out: ChangeWindow[] = [];
    for (const [stack, list] of this.byStack) for (const w of list) out.push([stack, w.service, w.from, w.until]);
    return out;
  }

  static fromJSON(watchMs: number, rows: readonly ChangeWindow[] | undefined): RecentChanges {
    const c = new RecentChanges(watchMs);
    for (const [stack, service, from, until] of rows ?? []) c.put(stack, service, from, until);
    return c;
  }
}

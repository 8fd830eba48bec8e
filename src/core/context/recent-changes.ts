import type { ContextEvent, EventKind } from '../../domain/types.js';

/**
 * Which stacks (and services) changed recently: a deployment, rollback or config change, watched
 * from its start until `watchMs` after it ended. Detection is more sensitive there (canary
 * analysis: the changed stack against its unchanged peers).
 *
 * The per-sample question costs one comparison unless some change is recent.
 */

const CHANGE_KINDS: ReadonlySet<EventKind> = new Set(['deployment', 'rollback', 'config_change']);

export class RecentChanges {
  /** stack → service ('' for a change to the whole stack) → [from, until] in ms. */
  private windows = new Map<string, Map<string, [number, number]>>();
  private latestUntil = -Infinity;

  constructor(private readonly watchMs: number) {}

  add(e: ContextEvent): void {
    if (!CHANGE_KINDS.has(e.kind) || e.stack === undefined || this.watchMs <= 0) return;
    const until = (e.endTs ?? e.ts) + this.watchMs;
    let byService = this.windows.get(e.stack);
    if (byService === undefined) this.windows.set(e.stack, (byService = new Map()));
    byService.set(e.service ?? '', [e.ts, until]);
    if (until > this.latestUntil) this.latestUntil = until;
  }

  changed(stack: string, service: string, ts: number): boolean {
    if (ts > this.latestUntil) return false;
    const byService = this.windows.get(stack);
    if (byService === undefined) return false;
    const w = byService.get(service) ?? byService.get('');
    return w !== undefined && ts >= w[0] && ts <= w[1];
  }

  toJSON(): [string, string, number, number][] {
    const out: [string, string, number, number][] = [];
    for (const [stack, byService] of this.windows) for (const [service, [from, until]] of byService) out.push([stack, service, from, until]);
    return out;
  }

  static fromJSON(watchMs: number, rows: readonly [string, string, number, number][] | undefined): RecentChanges {
    const c = new RecentChanges(watchMs);
    for (const [stack, service, from, until] of rows ?? []) {
      let byService = c.windows.get(stack);
      if (byService === undefined) c.windows.set(stack, (byService = new Map()));
      byService.set(service, [from, until]);
      if (until > c.latestUntil) c.latestUntil = until;
    }
    return c;
  }
}

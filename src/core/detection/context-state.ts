import type { ContextEvent } from '../../domain/types.js';
import { ExplainedWindows } from '../context/explained-windows.js';
import { isChange, RecentChanges } from '../context/recent-changes.js';
import { EXPOSABLE_SHARE_PERCENT, exposure, gained, lost, TrafficShares } from '../context/traffic-shares.js';

export interface ContextSnapshot {
  shares: ReturnType<TrafficShares['toJSON']>;
  explained: ReturnType<ExplainedWindows['toJSON']>;
  changes?: ReturnType<RecentChanges['toJSON']>;
  /**
   * Changes made on stacks with a small share, [stack, service, share then], not yet exposed to
   * traffic (absent in older checkpoints; the share is absent in those before it, read as 0).
   */
  idleChanges?: ([string, string] | [string, string, number])[];
}

/** Services remembered per idle stack until its cutover: a few releases, not a history. */
const IDLE_SERVICES_KEPT = 8;

/**
 * What the context events have said so far, as the detection stages read it: each stack's traffic
 * share, the windows a campaign, test or cold cache explains, and the changes still being watched.
 * One object that the scorer and the cross-stack comparison hold: a restore replaces its parts,
 * never the holder, so no stage keeps a stale reference.
 */
export class ContextState {
  shares = new TrafficShares();
  explained = new ExplainedWindows();
  changes: RecentChanges;
  /**
   * Changes made on a stack that carried a small share of the traffic, with that share, kept until
   * the traffic multiplies it (see exposure): a blue/green release goes to the idle colour and
   * meets users at its cutover, maybe an hour later, when its change window had ended. The
   * decision's correlation already counts such a change from its exposure; detection watches the
   * stack from then too, with the after-change sensitivity. Imitation seed 7373: a release on the idle colour, cut over 76 minutes later, its
   * 5xx climbing to the gate at 3-4σ a point under the normal bound, was mitigated four minutes
   * after its breach. Imitation seed 14142: a standby at exactly 5 % was not "idle" under a fixed
   * 5 % cut, and its release, cut over to 95 %, was judged with the normal bound.
   */
  private idleChanges = new Map<string, Map<string, number>>();

  constructor(private readonly changeWatchMs: number) {
    this.changes = new RecentChanges(changeWatchMs);
  }

  apply(event: ContextEvent): void {
    if (event.kind === 'traffic_shift') {
      // Only stacks that gained traffic warm their caches; the first split is no shift at all.
      const changes = this.shares.apply(event);
      const up = gained(changes).map((c) => c.stack);
      if (up.length > 0) this.explained.add(event, up);
      // A stack that lost traffic serves its old share's sessions for minutes after the new weights
      // (sessions follow them over minutes), so its business volume per share reads high, then
      // settles: learnt, those minutes teach its per-share level what it never was. Imitation seed
      // 67: blue 97 → 3 % at a cutover back, the transition minute's 317 orders read as ~10,500
      // per 100 % and lifted a level its 3 % then fell 5σ under; 3 % was "shifted off" the idle colour.
      const down = lost(changes).map((c) => c.stack);
      if (down.length > 0) this.explained.add(event, down, 'business');
      for (const c of gained(changes)) this.expose(c.stack, c.to, event.ts);
    } else {
      this.explained.add(event);
      this.changes.add(event);
      const share = event.stack === undefined ? undefined : this.shares.shareOf(event.stack);
      if (isChange(event) && share !== undefined && share < EXPOSABLE_SHARE_PERCENT) this.keepIdle(event.stack!, event.service ?? '', share);
    }
  }

  private keepIdle(stack: string, service: string, share: number): void {
    let services = this.idleChanges.get(stack);
    if (services === undefined) this.idleChanges.set(stack, (services = new Map()));
    services.delete(service);
    services.set(service, share);
    if (services.size > IDLE_SERVICES_KEPT) services.delete(services.keys().next().value!);
  }

  /** The stack now carries `share`: its changes that this exposes are watched from `ts`; those it exposed or that met their users are forgotten. */
  private expose(stack: string, share: number, ts: number): void {
    const services = this.idleChanges.get(stack);
    if (services === undefined) return;
    for (const [service, atChange] of services) {
      const seen = exposure(atChange, share);
      if (seen === 'exposed') this.changes.watchFrom(stack, service, ts);
      if (seen !== 'pending') services.delete(service);
    }
    if (services.size === 0) this.idleChanges.delete(stack);
  }

  toJSON(): ContextSnapshot {
    return {
      shares: this.shares.toJSON(),
      explained: this.explained.toJSON(),
      changes: this.changes.toJSON(),
      idleChanges: [...this.idleChanges].flatMap(([stack, services]) =>
        [...services].map(([service, share]): [string, string, number] => [stack, service, share]),
      ),
    };
  }

  restore(snap: ContextSnapshot): void {
    this.shares = TrafficShares.fromJSON(snap.shares);
    this.explained = ExplainedWindows.fromJSON(snap.explained);
    this.changes = RecentChanges.fromJSON(this.changeWatchMs, snap.changes);
    this.idleChanges = new Map();
    for (const [stack, service, share] of snap.idleChanges ?? []) this.keepIdle(stack, service, share ?? 0);
  }
}

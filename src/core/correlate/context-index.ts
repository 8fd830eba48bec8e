import type { ContextEvent, EventKind } from '../../domain/types.js';
import { exposure, gained, lost, TrafficShares } from '../context/traffic-shares.js';
import { eventStart, explainEnd } from '../context/explained-windows.js';
import { hhmm } from '../clock-text.js';
import { MS_PER_MIN as MIN } from '../time-units.js';

/**
 * Context events kept in event time, and the question the workflow asks of them: what happened
 * to this stack around this episode? Deployments and config changes shortly before are candidate
 * causes; perf tests, campaigns, chaos and maintenance explain; traffic newly moved onto the
 * stack means cold caches.
 */

export interface CorrelationParams {
  causeWindowMinutes: number;
  explainMarginMinutes: number;
  warmUpAllowanceMinutes: number;
}

export interface ShareGain {
  event: ContextEvent;
  stack: string;
  from: number;
  to: number;
}

export interface Correlation {
  /** The most recent change on this stack shortly before or during the episode. */
  cause?: ContextEvent;
  /** An event that explains the episode: no page. */
  explaining?: ContextEvent;
  /** Traffic newly moved onto this stack just before or during the episode. */
  shareGain?: ShareGain;
  /** The latest traffic moved onto this stack within the cause window before now, episode or not. */
  recentGain?: ShareGain;
  /** One line per event considered, for the evidence. */
  notes: string[];
}

const CAUSE_KINDS: ReadonlySet<EventKind> = new Set(['deployment', 'config_change']);
const EXPLAIN_KINDS: ReadonlySet<EventKind> = new Set(['perf_test', 'campaign', 'chaos', 'maintenance']);
/** Events that take a stack out of service (see takenOutOfService), and a load test on it (underTest). */
const OUT_OF_SERVICE: ReadonlySet<EventKind> = new Set(['maintenance', 'chaos']);
const UNDER_TEST: ReadonlySet<EventKind> = new Set(['perf_test']);
const RETENTION_MS = 24 * 3600_000;
/** How long a share a stack carried stands for what it is sized for: a week of blue/green releases. */
const CARRIED_MS = 7 * 24 * 3600_000;
const CAUSE_SLACK_MS = 10 * 60_000;
/** Deployed versions remembered per stack/service (the current one and the ones before it). */
const VERSIONS_KEPT = 4;
/** A deployment older than this, before the bad one, is too old to be trusted as its predecessor. */
const VERSION_MEMORY_MS = 7 * 24 * 3600_000;

export class ContextIndex {
  private events: ContextEvent[] = [];
  private gains: ShareGain[] = [];
  private shares = new TrafficShares();
  /**
   * The last versions deployed per stack/service, kept beyond the event retention: a rollback
   * needs the version before the bad one, and the deployment event seldom names it.
   */
  private deployed: Record<string, { id: string; ts: number; version: string }[]> = {};
  /**
   * The largest share each stack gave up within CARRIED_MS, and when: a blue/green colour that
   * served 99 % until yesterday's cutover is sized for 99 % (see carriedShare).
   */
  private carried: Record<string, { share: number; ts: number }> = {};

  /** `maxEvents`: at most this many events are kept (limits.maxContextEvents); the oldest go first. */
  constructor(private readonly maxEvents = Number.POSITIVE_INFINITY) {}

  /** Events pushed out by `maxEvents` before their 24 h were up (counted, since correlation lost them). */
  evicted = 0;

  add(event: ContextEvent): void {
    this.events.push(event);
    if (this.events.length > this.maxEvents) {
      this.evicted += this.events.length - this.maxEvents;
      this.events.splice(0, this.events.length - this.maxEvents);
    }
    const version = event.attributes['version'];
    if ((event.kind === 'deployment' || event.kind === 'rollback') && typeof version === 'string' && version !== '') {
      const key = `${event.stack ?? ''}|${event.service ?? ''}`;
      const list = (this.deployed[key] ??= []);
      list.push({ id: event.id, ts: event.ts, version });
      if (list.length > VERSIONS_KEPT) list.shift();
    }
    const changes = this.shares.apply(event);
    for (const c of gained(changes)) this.gains.push({ event, stack: c.stack, from: c.from!, to: c.to });
    for (const c of lost(changes)) {
      // The larger of what it just gave up and what it gave up earlier this week.
      if (!((this.carriedShare(c.stack, event.ts) ?? 0) > c.from!)) this.carried[c.stack] = { share: c.from!, ts: event.ts };
    }
    const horizon = event.ts - RETENTION_MS;
    if (this.events.length > 0 && this.events[0]!.ts < horizon) {
      this.events = this.events.filter((e) => (e.endTs ?? e.ts) >= horizon);
      this.gains = this.gains.filter((g) => g.event.ts >= horizon);
    }
  }

  /**
   * The largest share (%) the stack carried and gave up within the last CARRIED_MS, or undefined:
   * the traffic it has shown it is sized for, when the configuration does not say
   * (`decision.stacks.<stack>.provisionedPercent`).
   */
  carriedShare(stack: string, now: number): number | undefined {
    const c = this.carried[stack];
    return c !== undefined && now - c.ts <= CARRIED_MS ? c.share : undefined;
  }

  toJSON(): {
    events: ContextEvent[];
    gains: ShareGain[];
    shares: Record<string, number>;
    deployed?: ContextIndex['deployed'];
    carried?: ContextIndex['carried'];
  } {
    return { events: this.events, gains: this.gains, shares: this.shares.toJSON().shares, deployed: this.deployed, carried: this.carried };
  }

  static fromJSON(j: ReturnType<ContextIndex['toJSON']>, maxEvents = Number.POSITIVE_INFINITY): ContextIndex {
    const c = new ContextIndex(maxEvents);
    c.events = j.events.slice();
    c.gains = j.gains.slice();
    c.deployed = structuredClone(j.deployed ?? {});
    c.carried = structuredClone(j.carried ?? {});
    c.shares = TrafficShares.fromJSON({ shares: j.shares });
    return c;
  }

  /**
   * A deployment that does not name the version it replaced gets the one deployed before it on
   * the same stack and service, when Harbinger saw that deployment (`previousVersionFrom` says which).
   */
  private withPreviousVersion(cause: ContextEvent): ContextEvent {
    // A config change that says what it changed from (`key`, `from`, `to`) names its own way back,
    // as plainly as a deployment naming its previousVersion: nothing inferred, no extra approval.
    const from = cause.attributes['from'];
    if (
      cause.kind === 'config_change' &&
      cause.attributes['previousVersion'] === undefined &&
      from !== undefined &&
      from !== null &&
      typeof from !== 'object'
    ) {
      const key = cause.attributes['key'];
      const previousVersion = typeof key === 'string' && key !== '' ? `${key}=${String(from)}` : String(from);
      return { ...cause, attributes: { ...cause.attributes, previousVersion } };
    }
    const version = cause.attributes['version'];
    if (cause.kind !== 'deployment' || typeof version !== 'string' || cause.attributes['previousVersion'] !== undefined) return cause;
    const earlier = (this.deployed[`${cause.stack ?? ''}|${cause.service ?? ''}`] ?? []).filter(
      (d) => d.ts < cause.ts && cause.ts - d.ts <= VERSION_MEMORY_MS && d.version !== version,
    );
    const prior = earlier[earlier.length - 1];
    if (prior === undefined) return cause;
    return { ...cause, attributes: { ...cause.attributes, previousVersion: prior.version, previousVersionFrom: prior.id } };
  }

  /**
   * The performance test running on `stack` now for `service` (or for the whole stack), if any:
   * what it does to the stack's latency is load someone asked for, not a fault.
   */
  underTest(stack: string, service: string, now: number): ContextEvent | undefined {
    return this.runningOn(stack, service, now, UNDER_TEST);
  }

  /** The first event of one of `kinds` running on `stack` now, for `service` or for the whole stack. */
  private runningOn(stack: string, service: string, now: number, kinds: ReadonlySet<EventKind>): ContextEvent | undefined {
    return this.events.find(
      (e) => e.stack === stack && kinds.has(e.kind) && (e.service === undefined || e.service === service) && eventStart(e) <= now && now <= explainEnd(e),
    );
  }

  /**
   * The maintenance or chaos experiment running on `stack` now, if any: such a stack is being
   * worked on (often drained on purpose), so it must not receive more traffic than it had.
   * A maintenance event comes back with `shareBeforeDrain` among its attributes when the stack
   * was drained for it (a traffic_shift lowering its share from DRAIN_LEAD_MS before the work
   * began): the share it carried before, up to which it may take traffic back. Never set on a
   * chaos experiment, which takes no traffic at all; any value the event came with is dropped.
   */
  takenOutOfService(stack: string, service: string, now: number): ContextEvent | undefined {
    const e = this.runningOn(stack, service, now, OUT_OF_SERVICE);
    if (e === undefined || e.kind !== 'maintenance') return e;
    const { shareBeforeDrain: _claimed, ...attributes } = e.attributes;
    // A drain announced this long before the work began is still its drain (drains come first).
    const DRAIN_LEAD_MS = 30 * MIN;
    // The stack's share before the first shift that lowered it, walking the splits in event
    // time: read from the split announced before, while the index still holds it; else from
    // what the stacks gained in that shift (the points the others gained came from the stacks
    // that lost them: exact when this was the one stack drained, as maintenance goes one stack
    // at a time).
    let share: number | undefined;
    let before: number | undefined;
    const shifts = this.events.filter((x) => x.kind === 'traffic_shift' && x.ts <= now).sort((a, b) => a.ts - b.ts);
    for (const x of shifts) {
      const after = new TrafficShares().apply(x).find((c) => c.stack === stack)?.to;
      if (after === undefined) continue;
      if (x.ts < e.ts - DRAIN_LEAD_MS) {
        share = after;
        continue;
      }
      const gains = this.gains.filter((g) => g.event.id === x.id && g.event.ts === x.ts);
      const own = gains.find((g) => g.stack === stack);
      const prior = share ?? own?.from ?? after + gains.reduce((sum, g) => sum + g.to - g.from, 0);
      if (after < prior) {
        before = prior;
        break;
      }
      share = after;
    }
    return { ...e, attributes: before === undefined ? attributes : { ...attributes, shareBeforeDrain: before } };
  }

  /**
   * When a change reached users. Blue/green and standby releases go to a stack that carries
   * little traffic and are cut over later: such a change is exposed at the first traffic gain that
   * takes the stack to four times the share it had (see exposure), and its cause window runs
   * from there; once the stack carries a quarter of the traffic without one, from the change.
   */
  private exposedAt(change: ContextEvent): number {
    let atChange: number | undefined;
    for (const g of this.gains) {
      if (g.stack !== change.stack || g.event.ts <= change.ts) continue;
      // The first gain after the change starts from the share the change was made at.
      atChange ??= g.from;
      const seen = exposure(atChange, g.to);
      if (seen === 'exposed') return g.event.ts;
      if (seen === 'met') break;
    }
    return change.ts;
  }

  /**
   * The latest change a person made on this stack (a deployment, a rollback, a config change) after
   * `since` and up to `now`: after Harbinger acted, someone fixing the incident by hand.
   */
  changeAfter(stack: string, service: string, since: number, now: number): ContextEvent | undefined {
    let last: ContextEvent | undefined;
    for (const e of this.events) {
      if (e.stack !== stack || (e.service !== undefined && e.service !== service)) continue;
      if ((CAUSE_KINDS.has(e.kind) || e.kind === 'rollback') && e.ts > since && e.ts <= now) last = e;
    }
    return last;
  }

  shareOf(stack: string): number | undefined {
    return this.shares.shareOf(stack);
  }

  /**
   * `episodeStart`: the incident's oldest live signal; `onsets`: when each live signal began. A
   * change can cause a signal that began after it, not only the incident's first one: an incident
   * opened hours ago by something harmless (a warm-up, a weekend dip) stays open, and the deploy
   * made just before its 5xx began must still be found.
   */
  correlate(service: string, stack: string, episodeStart: number, now: number, p: CorrelationParams, onsets: readonly number[] = []): Correlation {
    const notes: string[] = [];
    let cause: ContextEvent | undefined;
    let explaining: ContextEvent | undefined;
    const margin = p.explainMarginMinutes * MIN;
    for (const e of this.events) {
      if (e.ts > now) continue;
      const sameService = e.service === undefined || e.service === service;
      if (!sameService) continue;
      if (CAUSE_KINDS.has(e.kind) && e.stack === stack) {
        // A change can cause a signal only if it came before it (10 minutes of slack for the first
        // point being noise that happened to precede the real onset), and only once users reach it.
        const exposed = this.exposedAt(e);
        const onset = causedOnset(exposed, episodeStart, onsets, p.causeWindowMinutes * MIN);
        if (onset === undefined) continue;
        notes.push(
          `${e.kind} ${e.id} on ${stack} ${minutesBefore(exposed, onset)}${exposed !== e.ts ? ` (made at ${hhmm(e.ts)} on an idle stack, exposed to traffic at ${hhmm(exposed)})` : ''}`,
        );
        if (cause === undefined || e.ts > cause.ts) cause = e;
      } else if (EXPLAIN_KINDS.has(e.kind) && (e.stack === undefined || e.stack === stack)) {
        const end = explainEnd(e);
        const start = eventStart(e);
        if (start - margin <= now && end + margin >= episodeStart) {
          notes.push(`${e.kind} ${e.id}${e.stack === undefined ? ' (global)' : ` on ${e.stack}`} from ${hhmm(start)} to ${hhmm(end)}`);
          // One aimed at this stack (chaos, maintenance, a test) beats a global one: it explains
          // the stack whatever its peers do.
          if (explaining === undefined || (explaining.stack === undefined && e.stack !== undefined)) explaining = e;
        }
      }
    }
    let shareGain: ShareGain | undefined;
    let recentGain: ShareGain | undefined;
    for (const g of this.gains) {
      if (g.stack === stack && g.event.ts <= now && g.event.ts >= now - p.causeWindowMinutes * MIN) recentGain = g;
      if (g.stack === stack && g.event.ts <= now && g.event.ts >= episodeStart - p.warmUpAllowanceMinutes * MIN) {
        shareGain = g;
        notes.push(`traffic_shift ${g.event.id} moved ${stack} from ${g.from.toFixed(0)} % to ${g.to.toFixed(0)} % at ${hhmm(g.event.ts)}`);
      }
    }
    const out: Correlation = { notes };
    if (cause !== undefined) out.cause = this.withPreviousVersion(cause);
    if (explaining !== undefined) out.explaining = explaining;
    if (shareGain !== undefined) out.shareGain = shareGain;
    if (recentGain !== undefined) out.recentGain = recentGain;
    return out;
  }
}

/**
 * The onset a change made (or exposed) at `ts` can have caused: the incident's start or any live
 * signal's that began within the cause window after it; the earliest such, or undefined.
 */
function causedOnset(ts: number, episodeStart: number, onsets: readonly number[], windowMs: number): number | undefined {
  const caused = (o: number): boolean => ts >= o - windowMs && ts <= o + CAUSE_SLACK_MS;
  let best = caused(episodeStart) ? episodeStart : undefined;
  for (const o of onsets) if (caused(o) && (best === undefined || o < best)) best = o;
  return best;
}

function minutesBefore(ts: number, ref: number): string {
  const m = Math.round((ref - ts) / MIN);
  return m >= 0 ? `${m} min before the episode` : `${-m} min into the episode`;
}

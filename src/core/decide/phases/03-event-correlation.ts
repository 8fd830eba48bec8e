import { eventStart } from '../../context/explained-windows.js';
import { healthIsFresh } from '../health-freshness.js';
import { hhmm } from '../../clock-text.js';
import { MS_PER_MIN as MIN } from '../../time-units.js';
import type { IncidentSignal } from '../../../domain/decision.js';
import type { ContextEvent } from '../../../domain/types.js';
import type { ShareGain } from '../../correlate/context-index.js';
import type { Phase } from './context.js';
import { pick, versionNote } from './evidence-text.js';
import { threatensSlo } from './situation.js';

/**
 * Errors or business a load test on this very stack does not excuse: they began past the warm-up
 * allowance after the test began (the allowance a traffic shift's effects get to appear), or they
 * are past their SLO gate. A load test's errors come with its load; a dependency failing 43
 * minutes into a steady test, or a release's errors 28 minutes in, are the stack's own, and were
 * explained away. And a stack under test still serves users: a dependency failure rate at ten
 * times its normal, past its gate 19 minutes into a test, was the test's until the 5xx followed
 * it past the allowance, four minutes later, one after the SLO broke.
 */
function lateHarm(ctx: Parameters<Phase<'event_correlation'>>[0], e: ContextEvent | undefined): LateHarm {
  const late: LateHarm = { pastAllowance: [], overGate: [], afterEnd: [] };
  if (!testOnStack(ctx, e)) return late;
  const allowance = ctx.w.config.correlation.warmUpAllowanceMinutes * MIN;
  const start = eventStart(e);
  const over = e.endTs !== undefined && ctx.w.now - e.endTs > TEST_DRAIN_MIN * MIN;
  for (const s of ctx.confirmed) {
    if (!threatensSlo(s)) {
      // Latency and capacity are what a test loads; past their gate once it is over, they are not.
      if (over && ctx.breached.includes(s.metric)) late.afterEnd.push(s);
    } else if (s.firstTs - start > allowance) late.pastAllowance.push(s);
    else if (ctx.breached.includes(s.metric)) late.overGate.push(s);
  }
  return late;
}

interface LateHarm {
  pastAllowance: IncidentSignal[];
  overGate: IncidentSignal[];
  /**
   * Latency or capacity still past its gate minutes after the test ended: its load is gone. Imitation
   * seed 76: a pool cut from 50 to 30 connections twelve minutes into a load test was still past its
   * saturation gate five minutes after the test, and stayed "the test's" until the 5xx came, eleven
   * minutes later, at the SLO breach.
   */
  afterEnd: IncidentSignal[];
}

/** Minutes a test's load takes to leave the stack once it ends (queues drain, connections close). */
const TEST_DRAIN_MIN = 2;

/** A load test aimed at this very stack. */
function testOnStack(ctx: Parameters<Phase<'event_correlation'>>[0], e: ContextEvent | undefined): e is ContextEvent {
  return e !== undefined && e.kind === 'perf_test' && e.stack === ctx.inc.stack;
}

/** What a load brings: latency and capacity (errors and business are harm a test does not excuse). */
function isLoad(s: IncidentSignal): boolean {
  return s.signal === 'latency' || s.signal === 'capacity';
}

/**
 * A business drop singled out on this stack after another service there began failing on its own
 * (the cart on eu-west-1, then checkout's orders on eu-west-1) is that incident's impact: the
 * orders come back when the cart is mitigated, and moving checkout's traffic as well would be a
 * second action for one fault. Only when all of it holds:
 * - the harm singled out here is business alone (this service's own errors or latency singled out
 *   on this stack are its own);
 * - the sibling's fault is an SLO-gated error rate or latency, confirmed, that began before the
 *   drop and is still bad in its service's latest health on this stack (a fault long over, or no
 *   longer reported, explains nothing now);
 * - the sibling is singled out on this stack (a cart failing on every stack explains no drop on one);
 * - the sibling was mitigated: "mitigated there" must be true, or the drop is judged on its own.
 */
function upstreamIncident(ctx: Parameters<Phase<'event_correlation'>>[0]): { service: string; id: string; why: string } | undefined {
  const { inc, local, w } = ctx;
  if (local.length === 0 || local.some((d) => inc.signals[d.metric]?.signal !== 'business')) return undefined;
  let since = Infinity;
  for (const d of local) {
    const t = inc.signals[d.metric]?.firstTs;
    if (t !== undefined && t < since) since = t;
  }
  for (const { incident: o, health } of w.siblings) {
    if (o.status !== 'mitigated' || !Object.values(o.deltas).some((d) => d.scope === 'local' && d.stack === inc.stack)) continue;
    // Still failing now: its service reports fresh health on this stack, and that signal is still bad.
    if (!healthIsFresh(health, w.now, w.config.incident.staleAfterMinutes)) continue;
    for (const s of Object.values(o.signals)) {
      if (
        (s.signal === 'reliability' || s.signal === 'latency') &&
        s.gate !== null &&
        s.stage === 'confirmed' &&
        !s.recovered &&
        !s.coldStart &&
        (health.scores[s.signal] ?? 0) >= w.config.guardrails.healthyScore &&
        s.firstTs <= since
      )
        return { service: o.service, id: o.id, why: `${s.metric} since ${hhmm(s.firstTs)}` };
    }
  }
  return undefined;
}

/**
 * The load a test on this very stack brings: its latency and capacity deviations that began while
 * it ran (a stepped test raises them at every step, not only in its first minutes) and are under
 * their SLO gates. They single the stack out against its peers, but they are the test's, not the
 * service's own harm. Imitation seed 68: a pool exhausting on catalog, a
 * load test on payments on the same stack; as the test ended payments' orders dipped with
 * catalog's, and the test's CPU and p99 (its first minutes, and a step 38 minutes in) made the
 * dip payments' own: its traffic was moved in the test's trap window.
 */
function testLoad(ctx: Parameters<Phase<'event_correlation'>>[0]): string[] {
  const e = ctx.w.correlation.explaining;
  if (!testOnStack(ctx, e)) return [];
  const ran = (t: number): boolean => t >= eventStart(e) - ONSET_SLACK_MIN * MIN && (e.endTs === undefined || t <= e.endTs);
  return ctx.active.filter((s) => isLoad(s) && ran(s.firstTs) && !ctx.breached.includes(s.metric)).map((s) => s.metric);
}

/**
 * Metrics an explaining event (a load test, a traffic shift's warm-up) accounts for: their forecasts
 * and breaches put no SLO at risk for this incident. Noted with `why`.
 */
function setAside(ctx: Parameters<Phase<'event_correlation'>>[0], metrics: readonly string[], why: string): void {
  ctx.firm = ctx.firm.filter((p) => !metrics.includes(p.metric));
  ctx.breached = ctx.breached.filter((m) => !metrics.includes(m));
  ctx.w.correlation.notes.push(`${metrics.join(', ')} ${why}`);
}

/** A deviation stamped up to this much before an event (a shift, a test) still follows it (minute buckets). */
const ONSET_SLACK_MIN = 2;

/**
 * 3. Event correlation: an event that explains the episode (a test, a campaign, maintenance, cold
 * caches after traffic moved here) ends the workflow; a change on this stack is its likely cause.
 */
export const eventCorrelation: Phase<'event_correlation'> = (ctx) => {
  const { inc, w, confirmed, breached, active, local } = ctx;
  const c = w.correlation;
  // A global event (a campaign, a platform-wide test) explains what every stack does under it, not
  // one stack going bad while its peers, under the same event, do not: an incident can happen
  // during a campaign. A stack-scoped event explains its stack, whatever the peers do.
  // Singled out on errors or business, that is: latency and capacity rising with the load is what
  // a campaign or a load test does. Or on a capacity series heading for its saturation gate: a
  // campaign fills every stack's pools alike, and the one it singles out (its peers did not move by
  // a like fraction, see the delta verdict) runs dry on its own, which is the stack's problem.
  const harmed = new Set([
    ...confirmed.filter(threatensSlo).map((s) => s.metric),
    ...breached.filter((m) => inc.signals[m] !== undefined && threatensSlo(inc.signals[m]!)),
    ...ctx.firm.filter((p) => p.slo.kind === 'saturation' && confirmed.some((s) => s.metric === p.metric)).map((p) => p.metric),
    ...breached.filter((m) => inc.signals[m]?.signal === 'capacity'),
  ]);
  const singledOut = c.explaining !== undefined && c.explaining.stack === undefined ? local.filter((d) => harmed.has(d.metric)) : [];
  // A change made on the stack after the test (or campaign, or maintenance) began is the likelier
  // cause of what followed it: a bad deploy during a load test is still a bad deploy. Of what
  // followed it only: a deviation that began before the change (the load test's CPU and latency,
  // with the deploy nine minutes into them) is still the test's. Followed and sustained: the
  // latency bump every rollout brings (a warning or two as pods restart) is not what the test
  // would not have done, and a healthy deploy 45 minutes into a load test would otherwise take
  // the test's confirmed CPU with it and roll back inside the test.
  const sustained = [...confirmed, ...breached.map((m) => inc.signals[m]).filter((s) => s !== undefined)];
  const followed = (firstTs: number, ts: number): boolean => firstTs > ts - MIN;
  const changedSince =
    c.explaining !== undefined && c.cause !== undefined && c.cause.ts > eventStart(c.explaining) && sustained.some((s) => followed(s.firstTs, c.cause!.ts))
      ? c.cause
      : undefined;
  const late = lateHarm(ctx, c.explaining);
  if (c.explaining !== undefined && changedSince !== undefined) {
    c.notes.push(
      `${changedSince.kind} ${changedSince.id} came after ${c.explaining.kind} ${c.explaining.id} began: the change, not the ${c.explaining.kind}, is the likelier cause`,
    );
    // Of what followed it only: the load the event brought before the change (latency, capacity
    // and their forecasts) stays the event's and puts no SLO at risk for the change. Imitation seed
    // 13: a load test's stepped CPU, forecast to saturate 82 minutes out, became the SLO a deploy
    // 32 minutes into the test put at risk, and the deploy was rolled back on its rollout's
    // latency bump, six minutes before its own errors began.
    const eventLoad = ctx.active.filter((s) => isLoad(s) && !followed(s.firstTs, changedSince.ts) && !late.afterEnd.includes(s)).map((s) => s.metric);
    if (eventLoad.length > 0) setAside(ctx, eventLoad, `began before ${changedSince.id}: the ${c.explaining.kind}'s, no SLO at risk of the change`);
  } else if (c.explaining !== undefined && singledOut.length > 0) {
    c.notes.push(
      `${c.explaining.kind} ${c.explaining.id} is global, but ${singledOut.map((d) => d.metric).join(', ')} single out ${inc.stack} against peers under the same ${c.explaining.kind}`,
    );
  } else if (c.explaining !== undefined && ctx.saturatedAlone !== null) {
    // Or out of capacity while its peers, under the same event, have room (see saturatedAlone).
    c.notes.push(
      `${c.explaining.kind} ${c.explaining.id} is global, but ${ctx.saturatedAlone.metrics.join(', ')} past the saturation gate on ${inc.stack} while its peers under the same ${c.explaining.kind} have room`,
    );
  } else if (late.pastAllowance.length + late.overGate.length + late.afterEnd.length > 0) {
    const e = c.explaining!;
    const allowance = w.config.correlation.warmUpAllowanceMinutes;
    const into = (s: IncidentSignal): number => Math.round((s.firstTs - eventStart(e)) / MIN);
    const { pastAllowance, overGate, afterEnd } = late;
    if (pastAllowance.length > 0)
      c.notes.push(
        `${pastAllowance.map((s) => `${s.metric} began ${into(s)} min into ${e.kind} ${e.id}`).join(', ')}: past the ${allowance}-minute warm-up allowance, not the test's load`,
      );
    if (overGate.length > 0)
      c.notes.push(`${overGate.map((s) => s.metric).join(', ')} past the SLO gate during ${e.kind} ${e.id}: users are hurt, whatever the test's load`);
    if (afterEnd.length > 0)
      c.notes.push(`${afterEnd.map((s) => s.metric).join(', ')} still past the gate after ${e.kind} ${e.id} ended at ${hhmm(e.endTs!)}: not its load`);
    // The harm is judged; the load the test put on this stack does not single it out.
    const load = testLoad(ctx);
    if (ctx.local.some((d) => load.includes(d.metric))) {
      ctx.local = ctx.local.filter((d) => !load.includes(d.metric));
      c.notes.push(`${load.join(', ')} rose with ${e.kind} ${e.id}: its load, not what singles ${inc.stack} out`);
    }
  } else if (c.explaining !== undefined) {
    const e = c.explaining;
    return {
      result: 'stop',
      code: 'explained',
      evidence: `explained by ${e.kind} ${e.id}${e.stack === undefined ? ' (global)' : ` on ${e.stack}`}: expected behaviour, no page`,
      end: {
        action: 'none',
        reason: `explained by ${e.kind} ${e.id}`,
        cause: { kind: 'explained', reason: `${e.kind} ${e.id} explains the deviation`, event: pick(e) },
      },
    };
  }
  // Errors confirmed, or business past its gate: a business volume is judged per share of traffic,
  // and right after a share gain that division is the least certain it gets (the traffic moved
  // over is not the stack's usual mix), so a few sigma of it is not yet impact; 5 % lost is,
  // unless it is the move's lag (see movingOver).
  const lagging = movingOver(c.shareGain, w.config.correlation.warmUpAllowanceMinutes);
  const reliabilityOrBusiness =
    confirmed.some((s) => s.signal === 'reliability') ||
    breached.some((m) => inc.signals[m]?.signal === 'reliability' || (inc.signals[m]?.signal === 'business' && !lagging(inc.signals[m]!)));
  if (c.shareGain !== undefined && !reliabilityOrBusiness) {
    // Traffic moved onto this stack and its latency/capacity rose within the warm-up allowance:
    // cold caches and the extra load, not a failure. The deviations that began then (none before
    // the shift) are the shift's for as long as they last, since the baseline knows the old share
    // (capping it at an hour put traffic back and forth on the kit's cold-cache traps); a deviation
    // that begins later, or any error or business impact, is judged on its own.
    const g = c.shareGain;
    const allowance = w.config.correlation.warmUpAllowanceMinutes;
    const minutesAfter = (s: IncidentSignal): number => (s.firstTs - g.event.ts) / MIN;
    const shifts = `${g.event.id} moved ${inc.stack} from ${g.from.toFixed(0)} % to ${g.to.toFixed(0)} % at ${hhmm(g.event.ts)}`;
    const end = (action: 'none' | 'observe', reason: string) => ({
      action,
      reason,
      cause: { kind: 'cold_cache' as const, reason: `traffic moved onto ${inc.stack} by ${g.event.id}`, event: pick(g.event) },
    });
    // A capacity series past its saturation gate once the warm-up is over is no warm-up: the stack
    // took more than it can serve (a pool filling up an hour after the cutover, on a baseline that
    // still knows the old share, would otherwise be the shift's until it ran dry).
    const saturated = breached.filter((m) => inc.signals[m]?.signal === 'capacity' && (inc.breaches[m]! - g.event.ts) / MIN > allowance);
    // Began before the shift means established before it, that is confirmed before it: one point a
    // noise warning raised five minutes earlier, confirmed only once the traffic arrived, is the
    // shift's like the rest; so is one not confirmed yet (imitation seed 61: a lone p99 spike on the
    // idle colour three minutes before its cutover, still a warning when the cold caches took p99
    // past its gate, made the cutover's warm-up "the incident's own" and traffic was moved back).
    const before = (s: IncidentSignal): boolean =>
      minutesAfter(s) < -ONSET_SLACK_MIN && s.confirmedTs !== undefined && s.confirmedTs < g.event.ts - ONSET_SLACK_MIN * MIN;
    if (saturated.length === 0) {
      // What began later, or was established before the shift, is the incident's own; what began
      // within the allowance after it is the shift's, whatever else the stack has going on (an
      // idle colour's memory drifting before a blue/green cutover does not make the cutover's CPU
      // a failure).
      const own = active.filter((s) => minutesAfter(s) > allowance || before(s));
      const when = (s: IncidentSignal): string =>
        before(s) ? `established ${Math.round(-minutesAfter(s))} min before it` : `began ${Math.round(minutesAfter(s))} min after it`;
      if (own.length === 0) {
        return {
          result: 'stop',
          code: 'cold_cache',
          evidence: `cold-cache warm-up: ${shifts}, and ${active.map((s) => s.metric).join(', ')} began deviating within ${allowance} min of it; ${movedOver(active, lagging)}`,
          end: end('none', 'cold-cache warm-up after a traffic shift: not a failure, no further shift'),
        };
      }
      // Only the incident's own is judged: the shift's deviations lend it neither persistence nor
      // an SLO at risk (one late latency spike on a warm-up would otherwise borrow the warm-up's
      // confirmed CPU and move traffic; an idle colour's drifting memory, the cutover's forecast).
      const sustained = own.filter((s) => confirmed.includes(s) || breached.includes(s.metric));
      if (sustained.length === 0 && ctx.firing.length === 0) {
        return {
          result: 'stop',
          code: 'cold_cache',
          evidence: `cold-cache warm-up: ${shifts}, which explains ${active
            .filter((s) => !own.includes(s))
            .map((s) => s.metric)
            .join(', ')}; ${own.map((s) => `${s.metric} ${when(s)}`).join(', ')}, not yet sustained`,
          end: end('observe', 'a new deviation on a warming stack, not yet sustained'),
        };
      }
      const shifted = active.filter((s) => !own.includes(s)).map((s) => s.metric);
      if (shifted.length > 0) setAside(ctx, shifted, `began within ${allowance} min of ${g.event.id}: the warm-up's, no SLO risk of this incident`);
    }
  }
  const cause = c.cause;
  ctx.cause = cause;
  const upstream = cause === undefined ? upstreamIncident(ctx) : undefined;
  if (upstream !== undefined) {
    const first = `${upstream.service}'s incident ${upstream.id} on ${inc.stack} (${upstream.why})`;
    return {
      result: 'stop',
      code: 'downstream',
      evidence: `${inc.service}'s ${ctx.local.map((d) => d.metric).join(', ')} on ${inc.stack} began after ${first}: its impact here, mitigated there`,
      end: {
        action: 'observe',
        reason: `downstream of ${upstream.service}'s incident ${upstream.id}`,
        cause: { kind: 'explained', reason: `${first} came first` },
      },
    };
  }
  if (cause === undefined)
    return {
      result: 'skip',
      code: 'no_cause',
      evidence: c.notes.length > 0 ? `no causal event; seen: ${c.notes.join('; ')}` : 'no context event near the episode',
    };
  ctx.causeRecord = {
    kind: cause.kind === 'config_change' ? 'config_change' : 'deployment',
    reason: `${cause.kind} ${cause.id} on ${inc.stack} shortly before the episode`,
    event: pick(cause),
  };
  return {
    result: 'pass',
    code: 'cause_found',
    evidence: `likely cause: ${cause.kind} ${cause.id} on ${inc.stack}${versionNote(cause)}; ${c.notes.join('; ')}`,
  };
};

/**
 * Whether a business volume past its gate is the traffic still moving over: it began within the
 * warm-up allowance of the share gain, and the stack already serves at least what it served at
 * its old share (value ≥ expected × from / to). Sessions follow new weights over minutes, so orders
 * per share dip as a shift lands (held-out imitation seed 22222: 37 → 50 % for a drain, orders 620
 * → 715 → 807 a minute against 838 expected at the new share, past a 5 % gate; the stack was
 * shifted away from, onto the drained one). A stack that fails the users it was given serves
 * fewer than before.
 */
function movingOver(gain: ShareGain | undefined, allowanceMinutes: number): (s: IncidentSignal) => boolean {
  return (s) =>
    gain !== undefined &&
    s.signal === 'business' &&
    s.expected > 0 &&
    gain.to > gain.from &&
    s.value >= (s.expected * gain.from) / gain.to &&
    (s.firstTs - gain.event.ts) / MIN <= allowanceMinutes;
}

function movedOver(active: readonly IncidentSignal[], lagging: (s: IncidentSignal) => boolean): string {
  const lag = active.filter(lagging).map((s) => s.metric);
  return lag.length === 0
    ? 'latency/capacity only, errors and business normal'
    : `errors normal, ${lag.join(', ')} per share lagging the move (the stack serves at least what it did before it)`;
}

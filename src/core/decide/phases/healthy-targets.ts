import type { StackHealthEvent } from '../../../domain/types.js';
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

/** Which peers can take `percent` of this stack's traffic: fresh, reporting, healthy, in service, with headroom. */
export function healthyTargets(w: WorkflowInput, percent: number): HealthyTargets {
  const notes: string[] = [];
  const g = w.config.guardrails;
  const candidates = [...w.health.values()].filter((h) => h.stack !== w.incident.stack).sort((a, b) => (a.stack < b.stack ? -1 : 1));
  // First pass: who is fresh, reporting and healthy. A stack that sends nothing is not healthy,
  // it is unknown: never act on a gap.
  const healthy: { h: StackHealthEvent; worst: { sig: string; v: number } }[] = [];
  for (const h of candidates) {
    if (w.now - h.ts > w.config.incident.staleAfterMinutes * MIN) {
      notes.push(`${h.stack} stale (last data ${Math.round((w.now - h.ts) / MIN)} min ago)`);
      continue;
    }
    const away = w.outOfService(h.stack);
    if (away !== undefined) {
      notes.push(`${h.stack} under ${away.kind} ${away.id} until ${hhmm(explainEnd(away))}: not a target`);
      continue;
    }
    if (h.known === 0 || h.reporting / h.known < 0.5) {
      notes.push(`${h.stack} not reporting (${h.reporting} of ${h.known} series this minute)`);
      continue;
    }
    // Health is what users feel (latency, errors, business); capacity is judged by headroom below,
    // so a target merely busier than its usual self still qualifies.
    const worst = Object.entries(h.scores).reduce((m, [sig, v]) => (sig !== 'capacity' && v !== undefined && v > m.v ? { sig, v } : m), {
      sig: '',
      v: -Infinity,
    });
    if (worst.v >= g.healthyScore) {
      notes.push(`${h.stack} degraded (${worst.sig} ${fmt(worst.v)}σ${h.inEpisode.length > 0 ? `; in episode: ${h.inEpisode.join(', ')}` : ''})`);
      continue;
    }
    healthy.push({ h, worst });
  }
  // Second pass: headroom. Each target can take the points that keep its saturation, scaled by
  // its new share, under the limit. The shift is split evenly over the targets that take it, so
  // it is k times the k-th largest room: the k with the largest shift wins (one tight target does
  // not cap the others; on a tie, more targets), never above the cap. A smaller shift now beats none (the guardrails allow
  // another step once this one is validated), but not below the plan's first step unless the full
  // shift was that small to begin with (a stack with 3 % of the traffic can give away 3 %).
  const room = (h: StackHealthEvent): number => {
    const share = w.shareOf(h.stack);
    if (h.saturation === null || h.saturation <= 0) return Infinity;
    if (share === undefined || share <= 0) return h.saturation < g.maxTargetSaturation ? Infinity : 0;
    return Math.max(0, (g.maxTargetSaturation / h.saturation - 1) * share);
  };
  const byRoom = healthy.map((t) => ({ ...t, room: room(t.h) })).sort((a, b) => b.room - a.room);
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
  for (const { h, worst } of healthy) {
    const share = w.shareOf(h.stack);
    const taking = able.some((a) => a.h === h);
    const projected =
      h.saturation === null
        ? null
        : share !== undefined && share > 0
          ? (h.saturation * (share + (taking ? shift : percent) / (taking ? able.length : healthy.length))) / share
          : h.saturation;
    if (!taking) {
      const r = byRoom.find((t) => t.h === h)!.room;
      if (percent <= 0) notes.push(`${h.stack} healthy, but ${w.incident.stack} carries no traffic to move`);
      else if (shift > 0 && r >= 1) notes.push(`${h.stack} not needed (room for ${Math.floor(r)} %; the others take the ${shift} %)`);
      else notes.push(`${h.stack} lacks headroom (saturation ${fmt(h.saturation ?? NaN)} → ${fmt(projected ?? NaN)} after a ${percent} % shift)`);
      continue;
    }
    ok.push(h.stack);
    notes.push(
      `${h.stack} healthy (worst ${worst.sig || 'n/a'} ${fmt(worst.v)}σ${projected !== null ? `, saturation ${fmt(h.saturation!)} → ${fmt(projected)}` : ''})`,
    );
  }
  if (shift > 0 && shift < percent)
    notes.push(`shift reduced from ${percent} % to ${shift} %: what the targets can take below saturation ${g.maxTargetSaturation}`);
  return { ok, notes, percent: shift };
}

/** Below this a shift is not worth making (and not worth a human's approval). */
const MIN_SHIFT_PERCENT = 5;

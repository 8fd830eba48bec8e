import type { ActionKind, ForecastRecord, PhaseRecord, Recommendation, RecommendationStatus } from '../../domain/decision.js';
import type { DecisionParams } from './decision-params.js';
import { hhmm } from '../clock-text.js';
import type { StackOutlook } from '../predict/saturation-forecast.js';
import type { ScheduledEvent } from '../predict/scheduled-events.js';
import { MS_PER_MIN as MIN } from '../time-units.js';
import { checkGuardrails, type GuardrailState } from './guardrails.js';
import { approvalOf } from './phases/07-human-approval.js';
import { fmt } from './phases/evidence-text.js';
import { MIN_SHIFT_PERCENT } from './phases/healthy-targets.js';

/**
 * The look-ahead's recommendation for one stack that a scheduled event would push past its
 * headroom: pre-scale it (action `pre_scale` with the capacity it needs) or pre-route (a
 * `shift_traffic` of the share its peers can take), chosen in `decision.predictive.actions` order,
 * then through the same guardrails and approval as any mitigation. Its ten phases say what each
 * step of the ITR workflow means for a forecast. Pure.
 */
export interface PreemptiveInput {
  event: ScheduledEvent;
  service: string;
  now: number;
  /** Every stack of the service the forecast could be made for. */
  outlooks: readonly StackOutlook[];
  shareOf: (stack: string) => number | undefined;
  /** Why a peer cannot take traffic now (stale, degraded, under maintenance), or undefined when it can. */
  unfitPeer: (stack: string) => string | undefined;
  isPrimary: (stack: string) => boolean;
  guardrails: GuardrailState;
  config: DecisionParams;
  nextId: (scope: string) => string;
}

/** One recommendation per stack the event would push past `guardrails.maxTargetSaturation` of its gate. */
export function preemptiveRecommendations(i: PreemptiveInput): Recommendation[] {
  const limit = i.config.guardrails.maxTargetSaturation;
  const out: Recommendation[] = [];
  for (const o of i.outlooks) {
    // Only what the event causes: a stack already past its headroom without it is the reactive workflow's.
    if (!(o.peakOfGate > limit) || o.baselineOfGate > limit) continue;
    if (o.coverage < i.config.confidence.minimum) continue;
    out.push(recommend(i, o, limit));
  }
  return out;
}

interface Route {
  percent: number;
  targets: string[];
  /** The whole shed fits (peers' room, one guardrail step). */
  covers: boolean;
  notes: string[];
}

/**
 * Peers with room for the whole event take the shed share, split evenly as a controller splits a
 * shift: the fewest peers whose k-th largest room × k covers it; else the most any k of them can take.
 */
function routeFor(i: PreemptiveInput, hot: StackOutlook): Route {
  const need = Math.ceil(hot.shedPoints);
  const notes: string[] = [];
  const peers: { stack: string; room: number }[] = [];
  for (const p of i.outlooks) {
    if (p.stack === hot.stack) continue;
    const unfit = i.unfitPeer(p.stack);
    if (unfit !== undefined) notes.push(unfit);
    else if (p.roomPoints < 1) notes.push(`${p.stack} lacks headroom during the event (peak ${fmt(p.peakOfGate)} of its gate)`);
    else peers.push({ stack: p.stack, room: p.roomPoints });
  }
  peers.sort((a, b) => b.room - a.room || (a.stack < b.stack ? -1 : 1));
  const cap = i.config.guardrails.maxShiftPercent;
  let best = { percent: 0, k: 0 };
  for (let k = 1; k <= peers.length; k++) {
    const p = Math.min(need, cap, Math.floor(peers[k - 1]!.room * k));
    if (p > best.percent) best = { percent: p, k };
    if (p >= need) break;
  }
  // As for a mitigation: a shift under the plan's first step is not worth making, unless that is all that is needed.
  if (best.percent < Math.min(MIN_SHIFT_PERCENT, need)) best = { percent: 0, k: 0 };
  const targets = peers.slice(0, best.k).map((p) => p.stack);
  for (const p of peers.slice(0, best.k)) notes.push(`${p.stack} has room for ${Math.floor(p.room)} % during the event`);
  if (need > cap) notes.push(`${need} % is more than one guardrail step (${cap} %)`);
  return { percent: best.percent, targets, covers: best.percent >= need && need > 0, notes };
}

function recommend(i: PreemptiveInput, hot: StackOutlook, limit: number): Recommendation {
  const { event: ev, config } = i;
  const route = routeFor(i, hot);
  const scalable = Number.isFinite(hot.capacityFactor);
  let action: ActionKind = 'observe';
  for (const a of config.predictive.actions) {
    if (a === 'pre_scale' && scalable) action = 'pre_scale';
    else if (a === 'pre_route' && route.covers) action = 'shift_traffic';
    if (action !== 'observe') break;
  }
  // Nothing allowed covers the whole need: the largest pre-route the peers allow still helps.
  if (action === 'observe' && config.predictive.actions.includes('pre_route') && route.percent > 0) action = 'shift_traffic';
  const factor = Math.ceil(hot.capacityFactor * 100) / 100;
  const units = config.stacks[hot.stack]?.capacityUnits;
  const scope = `${i.service}/${hot.stack}`;
  const shift = action === 'shift_traffic';
  const g = checkGuardrails(
    { action, scope, percent: shift ? route.percent : 0, touches: shift ? [hot.stack, ...route.targets] : [hot.stack] },
    i.guardrails,
    i.now,
    config.guardrails,
    i.isPrimary,
  );
  const mitigation = action !== 'observe';
  const a = approvalOf(g, config.execution.approval);
  const percent = shift ? g.percent : 0;
  const status: RecommendationStatus = !mitigation ? 'informational' : g.blockedBy !== null ? 'blocked' : a.awaitingApproval ? 'awaiting_approval' : 'approved';
  const window = `${ev.kind} ${ev.id} ×${ev.multiplier} from ${hhmm(ev.startTs)} to ${hhmm(ev.endTs)}`;
  const need = `${hot.stack} ${hot.metric} would reach ${fmt(hot.peakOfGate)} of its gate at ${hhmm(hot.peakAt)} (${fmt(hot.baselineOfGate)} without the ${ev.kind}; headroom keeps it under ${fmt(limit)})`;
  const scaleText = scalable
    ? `scale ${hot.stack} to ×${factor.toFixed(2)} its capacity${units !== undefined ? ` (${units} → ${Math.ceil(units * factor)})` : ''}`
    : `more capacity cannot fit ${hot.metric} on ${hot.stack}: its traffic-independent part alone passes ${fmt(limit)}`;
  const todo =
    action === 'pre_scale'
      ? `${scaleText} from ${hhmm(ev.startTs)} to ${hhmm(ev.endTs)}`
      : shift
        ? `shift ${percent} % of traffic from ${hot.stack} to ${route.targets.join(', ')} before ${hhmm(ev.startTs)}${route.covers ? '' : ` (short of the ${Math.ceil(hot.shedPoints)} % needed; ${scaleText})`}`
        : `no allowed action covers it (decision.predictive.actions: ${config.predictive.actions.join(', ')}); ${scaleText}`;
  const lead = Math.round((ev.startTs - i.now) / MIN);
  const phases: PhaseRecord[] = [
    {
      name: 'trigger',
      result: 'pass',
      code: 'scheduled_event',
      evidence: `${window} announced at ${hhmm(ev.announcedAt)}; ${lead >= 0 ? `${lead} min ahead` : `${-lead} min into it`}`,
    },
    {
      name: 'persistence_validation',
      result: 'skip',
      code: 'forecast',
      evidence: `nothing observed yet: forecast from the seasonal baselines (${Math.round(hot.coverage * 100)} % of the window learned)`,
    },
    {
      name: 'event_correlation',
      result: 'pass',
      code: 'cause_found',
      evidence: `${ev.kind} ${ev.id}: expected traffic ×${ev.multiplier}${ev.stack !== undefined ? ` on ${ev.stack}` : ' on every stack'}`,
    },
    { name: 'delta_stack_identification', result: 'pass', code: 'singled_out', evidence: `${need}; ${peersText(i.outlooks, hot.stack)}` },
    {
      name: 'dependency_checks',
      result: mitigation ? 'pass' : 'fail',
      code: action === 'pre_scale' ? 'scale_ready' : shift ? 'targets_ok' : 'no_target',
      evidence: [action === 'pre_scale' ? scaleText : '', ...route.notes].filter((s) => s !== '').join('; ') || 'no peer to take traffic',
    },
    {
      name: 'confidence_scoring',
      result: 'pass',
      code: 'confident',
      evidence: `confidence ${fmt(hot.coverage)}: the share of the event window the baselines have learned`,
    },
    mitigation ? { name: 'human_approval', result: a.result, code: a.code, evidence: a.evidence } : notReached('human_approval'),
    !mitigation
      ? notReached('execution')
      : g.blockedBy !== null
        ? { name: 'execution', result: 'fail', code: 'blocked', evidence: `blocked by ${g.blockedBy}: ${g.notes.join('; ')}` }
        : a.awaitingApproval
          ? { name: 'execution', result: 'pending', code: 'awaiting_approval', evidence: 'waits for approval' }
          : { name: 'execution', result: 'pass', code: 'ready', evidence: todo },
    mitigation
      ? {
          name: 'post_action_validation',
          result: 'skip',
          code: 'inconclusive',
          evidence: `nothing to compare before the ${ev.kind}; during it the stack's own saturation gates and breach prediction watch it`,
        }
      : notReached('post_action_validation'),
    mitigation && status !== 'blocked'
      ? {
          name: 'freeze_window',
          result: 'pending',
          code: 'scheduled',
          evidence: `no new action on ${scope} for ${config.guardrails.freezeMinutes} min after execution`,
        }
      : notReached('freeze_window'),
  ];
  const forecast: ForecastRecord = {
    eventId: ev.id,
    eventKind: ev.kind,
    startTs: ev.startTs,
    endTs: ev.endTs,
    multiplier: ev.multiplier,
    metric: hot.metric,
    peakOfGate: round3(hot.peakOfGate),
    peakAt: hot.peakAt,
    baselineOfGate: round3(hot.baselineOfGate),
    limitOfGate: limit,
    stacks: Object.fromEntries(i.outlooks.map((o) => [o.stack, round3(o.peakOfGate)])),
  };
  const incidentId = `pre-${ev.id}-${i.service}-${hot.stack}`;
  const rec: Recommendation = {
    type: 'recommendation',
    id: i.nextId(incidentId),
    ts: i.now,
    incidentId,
    stack: hot.stack,
    service: i.service,
    action,
    percent,
    targets: shift ? route.targets : [],
    confidence: round3(hot.coverage),
    evidence: {
      persistence: 0,
      magnitude: 0,
      separation: 0,
      businessImpact: 0,
      correlation: 1,
      dataCompleteness: round3(hot.coverage),
      minutesToBreach: Math.max(0, Math.round((hot.peakAt - i.now) / MIN)),
    },
    requiresApproval: mitigation && a.requiresApproval,
    blockedBy: mitigation ? g.blockedBy : null,
    status,
    reason: `${todo}: ${need}`,
    phases,
    cause: {
      kind: 'scheduled',
      reason: `${window}`,
      event: { id: ev.id, kind: ev.kind, ts: ev.announcedAt, attributes: { expectedTrafficMultiplier: ev.multiplier } },
    },
    predictedBreachAt: hot.crossesAt,
    forecast,
  };
  if (action === 'pre_scale') {
    rec.capacity = { factor, from: ev.startTs, until: ev.endTs };
    if (units !== undefined) Object.assign(rec.capacity, { currentUnits: units, targetUnits: Math.ceil(units * factor) });
  }
  return rec;
}

function peersText(outlooks: readonly StackOutlook[], hot: string): string {
  const peers = outlooks.filter((o) => o.stack !== hot);
  if (peers.length === 0) return 'no peer stack';
  return `peers: ${peers.map((p) => `${p.stack} ${fmt(p.peakOfGate)}`).join(', ')}`;
}

function notReached<N extends 'human_approval' | 'execution' | 'post_action_validation' | 'freeze_window'>(name: N): PhaseRecord {
  return { name, result: 'skip', code: 'not_reached', evidence: 'not reached: no allowed action covers the forecast need' } as PhaseRecord;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

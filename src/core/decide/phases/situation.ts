import type { ConfidenceEvidence, Incident, IncidentAlert, IncidentDelta, IncidentSignal } from '../../../domain/decision.js';
import { healthIsFresh } from '../health-freshness.js';
import type { Signal, StackHealthEvent } from '../../../domain/types.js';
import { hhmm } from '../../clock-text.js';
import { reachTowardGate } from '../../predict/breach-predictor.js';
import { persistenceFraction } from '../../threshold/two-stage.js';
import { MS_PER_MIN as MIN } from '../../time-units.js';
import type { WorkflowInput } from './workflow-input.js';

/**
 * What the phases judge, gathered once per evaluation: the incident's live signals, breaches,
 * alerts and predictions, the cross-stack verdicts that bear on it, and the confidence evidence.
 */
export interface Situation {
  active: IncidentSignal[];
  /** Confirmed on a seasoned baseline: a verdict against a baseline with no season yet is a warning, not proof. */
  confirmed: IncidentSignal[];
  firing: IncidentAlert[];
  /** Metrics past their SLO gate (a relative gate counts only on a seasoned baseline). */
  breached: string[];
  /** Predictions that put an SLO at risk. */
  firm: Incident['predictions'][string][];
  predictedBreachAt: number | null;
  evidence: ConfidenceEvidence;
  confidence: number;
  verdicts: IncidentDelta[];
  local: IncidentDelta[];
  riskMetrics: Set<string>;
  /** Under a global event: capacity metrics past their saturation gate here while every peer has headroom (see saturatedAlone). */
  saturatedAlone: SaturatedAlone | null;
}

export interface SaturatedAlone {
  metrics: string[];
  /** The peers judged, all fresh and under the target saturation limit. */
  peers: StackHealthEvent[];
}

export function situate(w: WorkflowInput): Situation {
  const inc = w.incident;
  const active = Object.values(inc.signals).filter((s) => !s.recovered);
  const confirmed = active.filter((s) => s.stage === 'confirmed' && !s.coldStart);
  const firing = Object.values(inc.alerts).filter((a) => a.status === 'firing');
  // A relative (business) gate is only as good as its baseline; an absolute gate is proof on its own.
  const breached = Object.keys(inc.breaches).filter((m) => inc.signals[m] === undefined || !inc.signals[m]!.coldStart || inc.signals[m]!.signal !== 'business');
  const deviating = deviatesNow(w);
  const firm = firmPredictions(inc, w.now, confirmed, w.correlation.recentGain !== undefined, warmsUntil(w), deviating);
  const predictedBreachAt = earliestBreach(firm);
  const evidence = gatherEvidence(w, confirmed.length > 0 ? confirmed : active, predictedBreachAt, firm);
  const { verdicts, local, riskMetrics } = stackVerdicts(w, active, confirmed, breached, firm, deviating);
  return {
    active,
    confirmed,
    firing,
    breached,
    firm,
    predictedBreachAt,
    evidence,
    confidence: w.confidence(evidence),
    verdicts,
    local,
    riskMetrics,
    saturatedAlone: saturatedAlone(w, breached),
  };
}

/**
 * Under a global explaining event (a campaign), capacity series past their saturation gate on this
 * stack, now, while every peer reporting fresh health has headroom (its highest saturation under
 * `guardrails.maxTargetSaturation`). Out of
 * capacity beside peers with room is a routing problem whatever fraction the load moved by: under
 * a campaign a pool went 27 → 100 % on one stack while its peer's went 15 → 40 %, alike as
 * fractions (no local verdict), so the campaign explained it until the errors came, nine minutes
 * after the SLO broke. A peer's saturation is what decides where traffic can go (dependency checks).
 */
function saturatedAlone(w: WorkflowInput, breached: readonly string[]): SaturatedAlone | null {
  const inc = w.incident;
  if (w.correlation.explaining === undefined || w.correlation.explaining.stack !== undefined) return null;
  const stale = w.config.incident.staleAfterMinutes;
  const own = w.health.get(inc.stack);
  if (!healthIsFresh(own, w.now, stale) || own.saturation === null || own.saturation < 1) return null;
  const peers = [...w.health.values()].filter((h) => h.stack !== inc.stack && healthIsFresh(h, w.now, stale));
  if (peers.length === 0 || !peers.every((h) => h.saturation !== null && h.saturation < w.config.guardrails.maxTargetSaturation)) return null;
  const metrics = breached.filter((m) => inc.signals[m]?.signal === 'capacity' && inc.signals[m]!.gate === 'saturation');
  return metrics.length > 0 ? { metrics, peers } : null;
}

/**
 * Signals that put an SLO at risk by degrading: business metrics (authoritative), and reliability
 * metrics that have an SLO gate. A restart count or another ungated reliability metric is evidence,
 * not a reason to move traffic on its own (a rolling deploy restarts every pod).
 */
export function threatensSlo(s: Incident['signals'][string]): boolean {
  return s.signal === 'business' || (s.signal === 'reliability' && s.gate !== null);
}

function gatherEvidence(
  w: WorkflowInput,
  signals: Incident['signals'][string][],
  breachAt: number | null,
  firm: readonly Incident['predictions'][string][],
): ConfidenceEvidence {
  const inc = w.incident;
  // Anomaly events mark transitions only; the minute-by-minute health of every stack says how
  // large the deviation is now and how far this stack stands from its peers now.
  const own = w.health.get(inc.stack);
  let persistence = 0;
  let magnitude = 0;
  let separation = 0;
  // A change may own an episode whose first point came before it (the cause window's slack reads
  // that point as noise that happened to come first); what it owns is what followed it, so such a
  // signal's peak, reached before the change, is not its magnitude. Kit seed 5353: a lone 5xx of
  // 200σ four minutes before a deploy, then the rollout's two points at 4σ, was rolled back at 0.60.
  const changedAt = w.correlation.cause?.ts ?? -Infinity;
  // Per signal kind, for learned models only (the formula reads the seven fields returned first).
  const magnitudes: Partial<Record<Signal, number>> = {};
  for (const s of signals) {
    const p = s.stage === 'confirmed' ? persistenceFraction(s.persistence) : 0;
    if (p > persistence) persistence = p;
    const now = own?.scores[s.signal] ?? -Infinity;
    const mag = s.firstTs < changedAt ? now : Math.max(s.peakScore, now);
    if (mag > magnitude) magnitude = mag;
    if (mag > (magnitudes[s.signal] ?? -Infinity)) magnitudes[s.signal] = mag;
    let peer = 0;
    for (const h of w.health.values()) if (h.stack !== inc.stack && (h.scores[s.signal] ?? 0) > peer) peer = h.scores[s.signal]!;
    if (w.deltas.get(s.metric)?.scope === 'local' && w.deltas.get(s.metric)?.stack === inc.stack && now - peer > separation) separation = now - peer;
  }
  if (Object.keys(inc.breaches).length > 0) persistence = Math.max(persistence, 1);
  for (const d of w.deltas.values())
    if (d.scope === 'local' && d.stack === inc.stack && inc.signals[d.metric] !== undefined && d.separation > separation) separation = d.separation;
  const business = Object.values(inc.signals).filter((s) => s.signal === 'business' && !s.recovered);
  const businessImpact = business.some((s) => s.stage === 'confirmed') ? 1 : business.length > 0 ? 0.5 : 0;
  const correlation = w.correlation.explaining !== undefined ? 0 : w.correlation.cause !== undefined ? 1 : 0.5;
  const dataCompleteness = !healthIsFresh(own, w.now, w.config.incident.staleAfterMinutes) ? 0 : own.known > 0 ? Math.min(1, own.reporting / own.known) : 0;
  const minutesToBreach = Object.keys(inc.breaches).length > 0 ? 0 : breachAt === null ? null : Math.max(0, (breachAt - w.now) / MIN);
  const gain = w.correlation.shareGain;
  const share = w.shareOf(inc.stack);
  return {
    persistence,
    magnitude,
    separation,
    businessImpact,
    correlation,
    dataCompleteness,
    minutesToBreach,
    gateReach: gateReach(signals, firm),
    magnitudes,
    signals: (Object.keys(magnitudes) as Signal[]).sort(),
    causeKind: w.correlation.cause?.kind ?? 'none',
    shareGain: gain === undefined ? 0 : Math.max(0, gain.to - gain.from),
    ...(share !== undefined ? { trafficShare: share } : {}),
    peers: [...w.health.keys()].filter((s) => s !== inc.stack).length,
    hourOfDay: (((w.now % 86_400_000) + 86_400_000) % 86_400_000) / 3_600_000,
  };
}

/**
 * How far the evidence signals with a firm forecast have come from where they normally sit (0)
 * toward their SLO gate (1), the furthest of them. Sigmas say how unusual a move is; this says how
 * much of the room under the gate it has used: a 5xx rate gone 0.03 → 0.08 % against a 0.1 % gate is
 * 4.4σ on a noisy series, 70 % of the way to the breach forecast two minutes out. Relative gates
 * (business drops) are left to the business term; a series normally past its gate has no room to
 * measure.
 */
function gateReach(signals: readonly IncidentSignal[], firm: readonly Incident['predictions'][string][]): number {
  let reach = 0;
  for (const p of firm) {
    if (p.slo.relative === true) continue;
    const s = signals.find((x) => x.metric === p.metric);
    if (s === undefined) continue;
    const r = reachTowardGate(p.slo, s.expected, s.value);
    if (r > reach) reach = Math.min(1, r);
  }
  return reach;
}

/**
 * The cross-stack verdicts that bear on this incident: the latest per active metric, from this
 * episode only (one from an earlier episode of the metric, hours ago, proves nothing now; the
 * detector says nothing when an episode ends), a local one made within the tail of a global
 * episode downgraded to partial. `local`: those naming this stack, strongest first. `riskMetrics`:
 * the metrics that put an SLO at risk; if one of them moves on every stack the episode is global,
 * even when a side metric (a busier CPU) happens to single this stack out.
 */
function stackVerdicts(
  w: WorkflowInput,
  active: IncidentSignal[],
  confirmed: IncidentSignal[],
  breached: string[],
  firm: readonly Incident['predictions'][string][],
  deviating: (signal: Signal) => boolean,
): { verdicts: IncidentDelta[]; local: IncidentDelta[]; riskMetrics: Set<string> } {
  const inc = w.incident;
  const metrics = new Set([...confirmed.map((s) => s.metric), ...breached, ...active.map((s) => s.metric)]);
  const tail = w.config.correlation.globalTailMinutes * MIN;
  const verdicts = [...metrics]
    .map((m) => w.deltas.get(m))
    .filter((d): d is IncidentDelta => d !== undefined && d.ts >= (inc.signals[d.metric]?.firstTs ?? -Infinity) - MIN)
    .map((d) =>
      d.scope === 'local' && d.afterGlobalAt !== undefined && w.now - d.afterGlobalAt < tail
        ? {
            ...d,
            scope: 'partial' as const,
            reason: `${d.reason}, but ${d.metric} moved on every stack until ${hhmm(d.afterGlobalAt)}: the tail of a global episode (re-judged after ${w.config.correlation.globalTailMinutes} min)`,
          }
        : d,
    );
  // Singled out now, not only when the verdict was made: a stack straggling out of a platform-wide
  // fault stood apart by its smoothed score while its own latest point was back under the bound.
  // After a change on the stack the change is the prior, and a point of a ramp under the bound
  // (judged at the lower after-change bound by the detector) does not withdraw the canary verdict.
  // Errors and latency only: what a shared fault moves on every stack (a pool or a business volume
  // is judged on its own terms).
  const stillDeviates = (signal: Signal): boolean =>
    w.correlation.cause !== undefined || (signal !== 'reliability' && signal !== 'latency') || deviating(signal);
  const local = verdicts
    .filter((d) => d.scope === 'local' && d.stack === inc.stack && (inc.signals[d.metric] === undefined || stillDeviates(inc.signals[d.metric]!.signal)))
    .sort((a, b) => b.separation - a.separation);
  const riskMetrics = new Set([...breached, ...firm.map((p) => p.metric), ...confirmed.filter(threatensSlo).map((s) => s.metric)]);
  return { verdicts, local, riskMetrics };
}

/**
 * A latency trend is trusted no further ahead than this many times the span of the deviation it
 * was fitted on: a release's latency bump six minutes old, extrapolated to a breach 75 minutes
 * out, is a hint, not an SLO at risk (it had faded two minutes later); a regression that keeps
 * rising brings its breach within reach as it lasts. Errors and business are not held back (a
 * good release does not raise them, even briefly: the same reason errors confirm on two points
 * after a change), nor is capacity unless traffic was moved onto the stack within the hour (its CPU climbs to
 * the new load, and a trend fitted on the climb overshoots): otherwise a pool or a memory filling
 * up is what pre-detection is for (a pool forecast 79 minutes out, 8 minutes into its rise, held
 * back, was mitigated 20 minutes after its breach instead of 19 before it).
 */
const EXTRAPOLATION_RATIO = 8;

function bumpsBenignly(s: IncidentSignal, gainedTraffic: boolean): boolean {
  return s.signal === 'latency' || (s.signal === 'capacity' && gainedTraffic);
}

/**
 * Until when the change this incident is correlated with still warms up: the end of its rollout
 * (its start, when it names no end) plus the warm-up allowance a traffic shift gets. A rollout
 * replaces pods, and new pods warm their caches and JIT: latency bumps through it and for minutes
 * after, on a good version too (half the false rollbacks on the imitation seeds were latency
 * forecasts 0-5 minutes after a healthy rollout ended). A latency forecast inside that window is
 * evidence, not an SLO at risk, unless the breach it forecasts comes before the window ends:
 * waiting out the warm-up must not cost the SLO. Errors, business and breaches are always at risk
 * (a good version raises none).
 */
function warmsUntil(w: WorkflowInput): number {
  const c = w.correlation.cause;
  return c === undefined ? -Infinity : (c.endTs ?? c.ts) + w.config.correlation.warmUpAllowanceMinutes * MIN;
}

/**
 * Whether the stack's latest health still puts a signal beyond the warn bound. A forecast made on a
 * point back inside its bound extrapolates the echo a deviation left in the smoothed trend; it
 * stays an SLO at risk only while the stack still deviates on that signal. A two-minute p99 spike,
 * back to normal a minute later, kept a breach forecast 77 minutes out alive (and its episode
 * open) until traffic was shifted eight minutes after the spike had passed; a ramp that keeps
 * rising stays beyond its bound, so its forecast keeps counting.
 */
function deviatesNow(w: WorkflowInput): (signal: Signal) => boolean {
  const own = w.health.get(w.incident.stack);
  const fresh = healthIsFresh(own, w.now, w.config.incident.staleAfterMinutes);
  // No fresh health, or none for that signal this minute (series on slower scrapes): keep the forecast.
  return (signal) => !fresh || (own.scores[signal] ?? Infinity) >= w.warnScore;
}

/** A prediction whose breach time passed without a breach was wrong: it no longer counts. */
const PREDICTION_GRACE_MS = 10 * MIN;

export function livePredictions(inc: Incident, now: number): Incident['predictions'][string][] {
  return Object.values(inc.predictions).filter((p) => !inc.signals[p.metric]?.recovered && p.breachAt + PREDICTION_GRACE_MS >= now);
}

/**
 * Predictions that put an SLO at risk: those of a confirmed signal, or, while a signal with an SLO
 * gate is confirmed on the stack, those made on a point still beyond its bound after the first. A trend extrapolated from
 * a warning (one point over the bound, or three sigma after a deploy) beside nothing but a restart
 * count is a hint for the evidence, not a reason to move traffic; nor is one spike beside a memory
 * or CPU that has sat a few sigma high for hours (it would borrow their confirmation).
 */
function firmPredictions(
  inc: Incident,
  now: number,
  confirmed: readonly IncidentSignal[],
  gainedTraffic: boolean,
  warmingUntil: number,
  deviating: (signal: Signal) => boolean,
): Incident['predictions'][string][] {
  const gatedConfirmed = confirmed.some((s) => s.gate !== null);
  return livePredictions(inc, now).filter((p) => {
    const own = inc.signals[p.metric];
    if (p.beyondBound === false && own !== undefined && !deviating(own.signal)) return false;
    if ((own?.signal === 'latency' || p.slo.kind === 'latency_p99') && now < warmingUntil && p.breachAt > warmingUntil) return false;
    if (own !== undefined && bumpsBenignly(own, gainedTraffic) && p.breachAt - now > EXTRAPOLATION_RATIO * Math.max(now - own.firstTs, MIN)) return false;
    if (confirmed.some((s) => s.metric === p.metric)) return true;
    if (!gatedConfirmed || own === undefined) return gatedConfirmed;
    return p.beyondBound === undefined ? own.persistence.hits >= 2 : p.beyondBound && p.ts > own.firstTs;
  });
}

function earliestBreach(predictions: readonly Incident['predictions'][string][]): number | null {
  let best: number | null = null;
  for (const p of predictions) if (best === null || p.breachAt < best) best = p.breachAt;
  return best;
}

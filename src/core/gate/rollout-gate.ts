import type { SeriesState } from '../detection/series-state.js';
import { formatMeasure as fmt } from '../math/format.js';

/**
 * The progressive-delivery gate (seed §7, §12): is this step of a canary or blue/green rollout
 * good to promote? The new version runs as its own stack of the service (`canary`), the old one as
 * its peers. Judged on the SLO gates and on business KPIs per unit of traffic share, and never
 * before a minimum sample (seed 002): `hold` until then.
 */

export type GateVerdict = 'promote' | 'hold' | 'rollback';

export interface GateReason {
  metric: string;
  verdict: GateVerdict;
  /** What was measured, with the numbers. */
  detail: string;
}

export interface GateJudgement {
  verdict: GateVerdict;
  reasons: GateReason[];
}

export interface GateParams {
  /** Points of a series since the step began before it counts (minutes of 1-minute data). */
  minPoints: number;
  /** Business units (orders...) the canary must have served since the step began before business is judged. */
  minBusinessVolume: number;
  /** A canary business rate per share this much below the peers' is a regression. */
  businessTolerance: number;
  /** Canary deviation over the worst peer, in sigmas, that is a regression. */
  minSeparation: number;
  warnScore: number;
}

export interface GateInput {
  canary: readonly SeriesState[];
  peers: readonly SeriesState[];
  /** When this step began (the first time the gate was asked about it), epoch ms. */
  since: number;
  /** The canary's traffic percent at this step, when known. */
  step: number | undefined;
}

/** Judge one step. Pure: the series are the detector's state, read as they are now. */
export function judgeRollout(input: GateInput, p: GateParams): GateJudgement {
  const reasons: GateReason[] = [];
  const gated = input.canary.filter((s) => s.gate !== null || s.signal === 'business');
  if (gated.length === 0)
    return { verdict: 'hold', reasons: [{ metric: '-', verdict: 'hold', detail: 'no SLO-gated or business series reports for this stack yet' }] };
  for (const s of gated) {
    const points = pointsSince(s, input.since);
    const peers = input.peers.filter((x) => x.metric === s.metric && x.lastTs >= input.since);
    if (points < p.minPoints) {
      reasons.push({ metric: s.metric, verdict: 'hold', detail: `${points} of ${p.minPoints} points since the step began: not enough to judge` });
      continue;
    }
    if (s.signal === 'business') {
      reasons.push(judgeBusiness(s, peers, input, p));
      continue;
    }
    const gate = s.gate!;
    const breached = gate.relative ? false : gate.comparator === '>' ? s.lastValue > gate.limit : s.lastValue < gate.limit;
    const peerBreached = peers.some((x) => (gate.comparator === '>' ? x.lastValue > gate.limit : x.lastValue < gate.limit));
    const peerScore = Math.max(0, ...peers.map((x) => x.smoothedScore));
    const separation = s.smoothedScore - peerScore;
    if (breached && !peerBreached) {
      reasons.push({
        metric: s.metric,
        verdict: 'rollback',
        detail: `${fmt(s.lastValue)} ${gate.comparator} ${gate.limit} (SLO) on the new version, the old one within it`,
      });
    } else if (s.threshold.phase === 'confirmed' && separation >= p.minSeparation) {
      reasons.push({
        metric: s.metric,
        verdict: 'rollback',
        detail: `${fmt(s.smoothedScore)}σ from its baseline, ${fmt(separation)}σ worse than the old version (${fmt(peerScore)}σ)`,
      });
    } else if (breached || s.threshold.phase !== 'normal' || s.smoothedScore >= p.warnScore) {
      reasons.push({
        metric: s.metric,
        verdict: 'hold',
        detail: `unsettled: ${fmt(s.lastValue)} (${fmt(s.smoothedScore)}σ)${peerBreached ? ', and the old version is past the SLO too' : ''}`,
      });
    } else {
      const within = gate.relative ? 'within its baseline' : `${gate.comparator === '>' ? 'under' : 'over'} the SLO's ${gate.limit}`;
      reasons.push({
        metric: s.metric,
        verdict: 'promote',
        detail: `${fmt(s.lastValue)}, ${within}; ${fmt(s.smoothedScore)}σ against the old version's ${fmt(peerScore)}σ`,
      });
    }
  }
  const verdict: GateVerdict = reasons.some((r) => r.verdict === 'rollback') ? 'rollback' : reasons.some((r) => r.verdict === 'hold') ? 'hold' : 'promote';
  return { verdict, reasons };
}

/** Business per unit of traffic: the canary's rate over its share against the peers' over theirs. */
function judgeBusiness(s: SeriesState, peers: readonly SeriesState[], input: GateInput, p: GateParams): GateReason {
  const step = input.step;
  if (step === undefined || step <= 0 || step >= 100 || peers.length === 0) {
    return {
      metric: s.metric,
      verdict: s.threshold.phase === 'confirmed' ? 'hold' : 'promote',
      detail: 'business judged against its own baseline only (step or peers unknown)',
    };
  }
  // The level, not the last minute: one minute of a 10 % canary is a handful of orders and all noise.
  const level = (x: SeriesState): number => (Number.isFinite(x.lastExpected) ? x.lastExpected : x.lastValue);
  const served = level(s) * pointsSince(s, input.since);
  if (served < p.minBusinessVolume)
    return {
      metric: s.metric,
      verdict: 'hold',
      detail: `${Math.round(served)} of ${p.minBusinessVolume} business events since the step began: not enough to judge`,
    };
  if (s.threshold.phase === 'confirmed')
    return {
      metric: s.metric,
      verdict: 'rollback',
      detail: `${fmt(s.lastValue)} against ${fmt(s.lastExpected)} expected: a confirmed drop on the new version`,
    };
  const canaryPerShare = level(s) / step;
  const peerPerShare = peers.reduce((a, x) => a + level(x), 0) / (100 - step);
  const ratio = peerPerShare > 0 ? canaryPerShare / peerPerShare : 1;
  const detail = `${fmt(canaryPerShare * 100)} per 100 % of traffic on the new version against ${fmt(peerPerShare * 100)} on the old (${fmt((ratio - 1) * 100)} %)`;
  return { metric: s.metric, verdict: ratio < 1 - p.businessTolerance ? 'rollback' : 'promote', detail };
}

/** Points since `since`, from the series' last timestamp and its learned spacing. */
function pointsSince(s: SeriesState, since: number): number {
  if (!(s.lastTs >= since)) return 0;
  return Math.floor((s.lastTs - since) / (s.threshold.intervalMinutes * 60_000)) + 1;
}

/** The parts of the configuration the gate reads (config's `decision` and `detection` sections). */
export interface GateConfig {
  decision: { rolloutGate: { minPoints: number; businessTolerance: number } };
  detection: { delta: { minVolume: number; minSeparation: number }; threshold: { warnScore: number } };
}

/** The gate's parameters from the configuration: the same for the HTTP port and the fixture eval. */
export function rolloutGateParams(cfg: GateConfig): GateParams {
  return {
    minPoints: cfg.decision.rolloutGate.minPoints,
    minBusinessVolume: cfg.detection.delta.minVolume,
    businessTolerance: cfg.decision.rolloutGate.businessTolerance,
    minSeparation: cfg.detection.delta.minSeparation,
    warnScore: cfg.detection.threshold.warnScore,
  };
}

/** The gate's input for `stack` of `service`: its series against the service's other stacks, as they are now. */
export function rolloutGateInput(series: Iterable<SeriesState>, q: { service: string; stack: string; step: number | undefined }, since: number): GateInput {
  const all = [...series].filter((s) => s.service === q.service);
  return { canary: all.filter((s) => s.stack === q.stack), peers: all.filter((s) => s.stack !== q.stack), since, step: q.step };
}

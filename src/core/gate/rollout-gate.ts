import { emptyTally, type SeriesState, type Tally } from '../detection/series-state.js';
import { formatMeasure as fmt } from '../math/format.js';
import { judgedPerShare } from '../context/traffic-shares.js';

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
  /** The business series' running sums when the step began (see tallySnapshot); absent: zero. */
  start: ReadonlyMap<string, Tally>;
}

const tallyKey = (s: SeriesState): string => `${s.stack}|${s.metric}`;

/** The running sums of `service`'s business series now: what a step's verdict is measured from. */
export function tallySnapshot(series: Iterable<SeriesState>, service: string): Map<string, Tally> {
  const out = new Map<string, Tally>();
  for (const s of series) if (s.service === service && s.tally !== undefined) out.set(tallyKey(s), { ...s.tally });
  return out;
}

/** What a series observed, expected and its noise added up to since the step began. */
function sinceStart(s: SeriesState, start: ReadonlyMap<string, Tally>): Tally {
  const now = s.tally ?? emptyTally();
  const from = start.get(tallyKey(s)) ?? emptyTally();
  return {
    observed: now.observed - from.observed,
    seasonedObserved: now.seasonedObserved - from.seasonedObserved,
    expected: now.expected - from.expected,
    variance: now.variance - from.variance,
  };
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

/**
 * Business since the step began, in sums: one minute of a 10 % canary is a handful of orders and
 * all noise. A volume that follows the traffic (orders, not a success rate), with the step's share
 * known, is compared per unit of share with the old version over the same minutes: what the new
 * version would have sold selling like the old one is the old one's sum times step / (100 - step).
 * Otherwise each version is measured against its own baseline and the new one's ratio against the
 * old one's (a campaign or a quiet hour moves both). The baselines alone, which an earlier gate
 * compared, do not move when the new version sells less.
 *
 * A rollback needs the shortfall past the tolerance and significant against the noise the detector
 * expected over the same points (warnScore sigmas, and at least the counting noise of what was
 * expected); a shortfall still within noise holds.
 */
function judgeBusiness(s: SeriesState, peers: readonly SeriesState[], input: GateInput, p: GateParams): GateReason {
  const own = sinceStart(s, input.start);
  let peerObserved = 0;
  let peerSeasoned = 0;
  let peerExpected = 0;
  for (const x of peers) {
    const t = sinceStart(x, input.start);
    peerObserved += t.observed;
    peerSeasoned += t.seasonedObserved;
    peerExpected += t.expected;
  }
  const step = input.step;
  const volume = judgedPerShare(s.metric, s.volume);
  const perShare = volume && step !== undefined && step > 0 && step < 100 && peerObserved > 0;
  // The old version's ratio to its baseline is what the hour brought everyone; without peers, 1.
  const everyone = peerExpected > 0 ? peerSeasoned / peerExpected : 1;
  const expected = perShare ? (peerObserved * step) / (100 - step) : own.expected * everyone;
  if (expected < p.minBusinessVolume)
    return {
      metric: s.metric,
      verdict: 'hold',
      detail: `${Math.round(expected)} of ${p.minBusinessVolume} business events expected since the step began: not enough to judge`,
    };
  const observed = perShare ? own.observed : own.seasonedObserved;
  const ratio = observed / expected;
  // Counting noise on both sides: the new version's own, and the old version's sum it is scaled from.
  const counted = volume ? expected * (1 + (perShare ? step / (100 - step) : 0)) : 0;
  const variance = Math.max(own.variance * (perShare ? 1 : everyone * everyone), counted);
  const z = variance > 0 ? (observed - expected) / Math.sqrt(variance) : 0;
  const basis = perShare
    ? `the old version's rate at a ${step} % share`
    : peerExpected > 0
      ? `its baseline, the old version at ${fmt(everyone * 100)} % of its own`
      : 'its baseline';
  const detail = `${fmt(observed)} against ${fmt(expected)} expected since the step began from ${basis} (${fmt((ratio - 1) * 100)} %, ${fmt(z)}σ)`;
  if (ratio >= 1 - p.businessTolerance) return { metric: s.metric, verdict: 'promote', detail };
  if (z > -p.warnScore) return { metric: s.metric, verdict: 'hold', detail: `${detail}: short, not yet beyond noise` };
  return { metric: s.metric, verdict: 'rollback', detail };
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
export function rolloutGateInput(
  series: Iterable<SeriesState>,
  q: { service: string; stack: string; step: number | undefined },
  since: number,
  start: ReadonlyMap<string, Tally>,
): GateInput {
  const all = [...series].filter((s) => s.service === q.service);
  return { canary: all.filter((s) => s.stack === q.stack), peers: all.filter((s) => s.stack !== q.stack), since, step: q.step, start };
}

import type { DetectionParams } from './detection-params.js';
import { forecast, learn, learnNoiseOnly, MAD_TO_SIGMA, sigmaAt, skip, type BaselineDecays, type BaselineState } from '../baseline/seasonal-baseline.js';
import { observe, type ThresholdParams, type ThresholdState, type ThresholdTransition } from '../threshold/two-stage.js';

/**
 * One point through baseline and threshold: the step shared by the stream engine and the
 * single-series scorer, so both judge a point the same way.
 */

/** 1: up is bad, -1: down is bad, 0: both ways are (a series of unknown meaning). */
export type Direction = 1 | -1 | 0;

/** What the slow (drift) channel does with a point: see assessPoint. */
export type DriftUse = 'off' | 'track' | 'judge';

/** EWMA gain per point and its stationary sd for unit-variance input. */
const EW_GAIN = 0.25;
const EW_SD = Math.sqrt(EW_GAIN / (2 - EW_GAIN));
/** The averaged channel counts at 80 % of its standardized value: it fires on sustained shifts, not on noise. */
const EW_WEIGHT = 0.8;
/** The slow channel's gain: about forty points of memory, for a creep that no few points show. */
const SLOW_GAIN = 0.05;
/** Mean |average| of the slow channel over unit-variance independent input: the least spread it learns. */
const SLOW_IID_ABS = Math.sqrt(SLOW_GAIN / (2 - SLOW_GAIN)) * Math.sqrt(2 / Math.PI);
/** Gain of the slow channel's own spread: it learns over some thousands of calm points. */
const SLOW_SCALE_GAIN = 0.0005;

export interface Assessment {
  expected: number;
  sigma: number;
  /** Deviation in robust sigmas, positive in the bad direction; 0 until the baseline has history. */
  score: number;
  cold: boolean;
  transition: ThresholdTransition;
}

export function newAssessment(): Assessment {
  return { expected: 0, sigma: 0, score: 0, cold: true, transition: 'none' };
}

/**
 * Score `value` against the baseline and feed the threshold. Fills `out` to stay allocation-free.
 * `noiseFloor`: the least sigma the point can be judged by, when the input says how much data is
 * behind it (one error in 300 requests is a rate of 0.33 %, and not five sigma of anything).
 * `noiseScale`: how much wider the noise is now than when the spread was learned (less traffic).
 * `ceiling`: the value a complement series (a success rate) is bad below (see sigmaAt); NaN for others.
 * `atLeast`: the least score the point gets, when positive (0: none; a good-direction score stays negative).
 * `drift`: the slow channel, for a creep towards a hard limit (see driftScore): 'track' keeps its
 * average and learns its spread, 'judge' also scores the point by it; 'off' for other series.
 */
export function assessPoint(
  b: BaselineState,
  th: ThresholdState,
  ts: number,
  value: number,
  direction: Direction,
  cfg: DetectionParams,
  out: Assessment,
  threshold: ThresholdParams = cfg.threshold,
  noiseFloor = 0,
  noiseScale = 1,
  ceiling = Number.NaN,
  atLeast = 0,
  drift: DriftUse = 'off',
): Assessment {
  forecast(b, ts, out);
  if (b.points === 0) out.expected = value;
  out.sigma = sigmaAt(b, out.expected, cfg.baseline, ts, ceiling) * noiseScale;
  if (noiseFloor > out.sigma) out.sigma = noiseFloor;
  let point = 0;
  if (b.points < cfg.baseline.minHistoryPoints) out.score = 0;
  else {
    const z = (value - out.expected) / out.sigma;
    point = direction === 0 ? Math.abs(z) : direction * z;
    // EWMA control chart beside the point test: a sustained shift of 2σ, invisible point by point,
    // stands out once averaged. The average is standardized by its own sd, so both share one bound.
    // Each point enters it clipped at the bound: a point beyond the bound is the point test's to
    // judge, and the average is for what it cannot see. Clipped at six instead, one 22σ spike
    // alone put the average at 3.2σ, and the ordinary noise after it (1.5σ) kept it past a changed
    // stack's 3σ bound for four minutes: a confirmed episode made of one spike (a false rollback
    // on the independent kit). Clipped at the bound (a Huber-type robust EWMA): 25 → 22 false
    // mitigations over 17 kit seeds, NAB dev 76.9 → 77.6; the price, a few incidents confirmed a
    // minute later, where a large point had carried the moderate ones after it.
    const clip = threshold.warnScore;
    th.ewScore += EW_GAIN * ((point < clip ? point : clip) - th.ewScore);
    const averaged = (th.ewScore / EW_SD) * EW_WEIGHT;
    out.score = averaged > point ? averaged : point;
    // Not while cold: the cold-start level lags every daily swing, and its lag is sustained too.
    if (drift !== 'off' && !out.cold) driftScore(th, point, clip, drift === 'judge', out);
  }
  // A point known to be bad whatever the spread says (see SampleScorer: past an absolute gate on a
  // spread learned on a sliver of the traffic) is at least `atLeast`, for the threshold and its runs.
  if (atLeast > 0) {
    if (atLeast > out.score) out.score = atLeast;
    if (atLeast > point) point = atLeast;
  }
  out.transition = observe(th, ts, out.score, threshold, point);
  return out;
}

/**
 * The slow channel: an average over about forty points, for a creep (an error rate rising over an
 * hour sits at one or two sigmas a point until it breaches its gate; error_creep on the imitation
 * families was mitigated 37 minutes after its breach). Residuals of real telemetry are not
 * independent, so such an average wanders more than theory says: it is judged against its own
 * spread, learned while the series is calm and never below the spread of independent noise. Kept
 * for series with an absolute gate, and judged only on points well on their way to it (the
 * caller's choice, see SampleScorer): a creep matters when it heads for a hard limit. Everywhere,
 * it cost NAB dev 79.3 -> 73.7 (seasonal misfits are sustained too) and woke night-time business
 * series on the kit.
 */
function driftScore(th: ThresholdState, point: number, clip: number, judge: boolean, out: Assessment): void {
  const slowAbs = th.slowAbs ?? SLOW_IID_ABS;
  const prev = th.slowScore ?? 0;
  const slow = prev + SLOW_GAIN * ((point < clip ? point : clip) - prev);
  th.slowScore = slow;
  if (th.phase === 'normal') {
    const a = slowAbs + SLOW_SCALE_GAIN * ((slow < 0 ? -slow : slow) - slowAbs);
    th.slowAbs = a > SLOW_IID_ABS ? a : SLOW_IID_ABS;
  }
  if (!judge) return;
  const drift = (slow / (slowAbs * MAD_TO_SIGMA)) * EW_WEIGHT;
  if (drift > out.score) out.score = drift;
}

/**
 * Learn the point unless it must not be learned: any point of an anomaly episode judged against
 * the seasonal forecast (until it has lasted long enough to be the new normal), or a period a
 * context event explains. Learning from a warn-phase ramp, even clipped, lets the baseline creep
 * after the fault it should be measuring. `noiseOnly`: an explained point's noise is learned all
 * the same (its spread only; see SampleScorer: a colour relearning its noise after a cutover).
 */
export function learnPoint(
  b: BaselineState,
  th: ThresholdState,
  ts: number,
  value: number,
  a: Assessment,
  cfg: DetectionParams,
  decays: BaselineDecays,
  explained: boolean,
  noiseOnly = false,
): boolean {
  // A cold baseline knows no seasonality, so its "anomalies" include the first sight of every daily
  // peak: learning from them is how the season is learned. Only a seasonal verdict stops learning.
  const inEpisode = !a.cold && th.phase !== 'normal' && ts - th.episodeStartTs < cfg.baseline.relearnAfterMinutes * 60_000;
  if (explained && noiseOnly && !a.cold && !inEpisode) {
    learnNoiseOnly(b, ts, value, a.expected, a.sigma, cfg.baseline, decays);
    return false;
  }
  if (explained || (inEpisode && ts !== th.episodeStartTs)) {
    skip(b, ts);
    return false;
  }
  learn(b, ts, value, a.expected, a.sigma, a.cold, cfg.baseline, decays);
  return true;
}

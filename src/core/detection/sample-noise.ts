import { discountSeasons, relearnNoise } from '../baseline/seasonal-baseline.js';
import type { SeriesState } from './series-state.js';
import { complementCeiling } from './slo-gates.js';

/**
 * How much noise a point carries beyond what the baseline's spread learned: the least sigma it can
 * be judged by, from what the input says about the data behind it (its count, its stack's traffic
 * share); and, the other way, how much what the baseline learned is worth when the share it was
 * learned at was small.
 */

/** An exponentially weighted average of a stack's traffic share, started at the first share seen. */
export function followShare(known: number | undefined, share: number, gain: number): number {
  return known === undefined || !(known > 0) ? share : known + gain * (share - known);
}

/**
 * The share a spread was learned at, averaged as its noise is: a statistic's sd goes as
 * 1/sqrt(share), so that is what is averaged. A spread learned over a day at 99 % and a day at 1 %
 * holds the 1 % day's noise almost whole, and counts as learned at ~4 %, not at the 50 % an
 * average of the shares says (imitation seed 7373: a colour back at 99 % after a day as the 1 %
 * standby had a spread ten times its noise and a `noiseShare` of 25 %, too close to 99 % to read
 * as thin).
 */
export function followNoiseShare(known: number | undefined, share: number, gain: number): number {
  if (known === undefined || !(known > 0)) return share;
  const was = 1 / Math.sqrt(known);
  const k = was + gain * (1 / Math.sqrt(share) - was);
  return 1 / (k * k);
}

/**
 * A statistic over a stack's requests (a rate, a quantile, a per-share volume) is noisier on less
 * traffic: its sd grows as 1/sqrt(volume). A stack whose share fell since its spread was learned
 * (the colour that went idle, a drained stack) is judged with the spread widened by
 * sqrt(learned share / share now), never narrowed: a stack that gained traffic keeps the wider
 * spread it learned until it relearns it (narrowing would page on every warm-up).
 */
export function noiseScale(series: SeriesState, share: number | undefined): number {
  const learned = series.noiseShare;
  if (share === undefined || !(share > 0) || learned === undefined || !(learned > share)) return 1;
  return Math.sqrt(learned / share);
}

/** A share at least this many times the one a spread was learned at makes that spread thin evidence (see thinSpread). */
const THIN_SPREAD_RISE = 4;

/**
 * Whether the series' spread was learned on a small fraction of the traffic it takes now: a
 * statistic's noise shrinks as 1/sqrt(volume), so at four times the share the learned spread is
 * at least twice too wide, and no deviation against it is significant (see SampleScorer's
 * thinSpreadFloor for what is judged instead).
 */
export function thinSpread(series: SeriesState, share: number | undefined): boolean {
  const learned = series.noiseShare;
  return share !== undefined && learned !== undefined && learned > 0 && share >= THIN_SPREAD_RISE * learned;
}

/**
 * What the old spread is worth when it is learned again: ten points. It is too wide by at least
 * sqrt(THIN_SPREAD_RISE), so it should fade over the first tens of points at the new share, not
 * weigh as the 30 points of a cold start's prior.
 */
const RESPREAD_PRIOR_POINTS = 10;

/** Whether the series' noise was learned again at a share rise (see respreadOnShareRise) and not reset since. */
export function relearning(series: SeriesState): boolean {
  const at = series.spreadShare;
  return typeof at === 'number' && at === at;
}

/**
 * The noise learned on a sliver of the traffic the series takes now (see thinSpread) is learned
 * again (see relearnNoise): the spread's 12-hour half-life, and the hours' spreads learned over
 * days, would judge a colour cut over to 97 % by its standby noise for days (imitation seeds 14142
 * and 16180: 5xx sigmas four to six times the noise at 97 %, and bad releases on the live colour
 * mitigated at their breach). Once per rise: `spreadShare` is the share it was learned again at;
 * a further rise to four times that (a staged cutover, 3 -> 12 -> 97 %) learns it again, and a
 * fall to a quarter of it lets the next rise start over. The season buckets' shape is flattened
 * only when they too were learned at a sliver (`seasonShare`, averaged as shares): a stack live
 * for weeks and drained for a few hours keeps its daily shape.
 */
export function respreadOnShareRise(series: SeriesState, share: number): void {
  const at = series.spreadShare;
  if (relearning(series)) {
    if (share * THIN_SPREAD_RISE <= at!) {
      series.spreadShare = Number.NaN;
      return;
    }
    if (share < THIN_SPREAD_RISE * at!) return;
  }
  if (!thinSpread(series, share)) return;
  const seasons = series.seasonShare;
  relearnNoise(series.baseline, RESPREAD_PRIOR_POINTS, seasons !== undefined && seasons > 0 && share >= THIN_SPREAD_RISE * seasons);
  series.spreadShare = share;
}

/** A share at least this many times the one the season buckets were learned at discounts them. */
const SHARE_RISE = 2;

/**
 * Weigh what the season buckets learned by the traffic it was learned on. A statistic over a
 * stack's requests (a rate, a quantile, orders per share) carries information in proportion to
 * its volume: a standby colour's buckets, learned at 1 % of the traffic, hold per-share orders
 * and error rates that are each a handful of requests, and after a cutover to 99 % their day of
 * running means counted as much as the first day at 99 % (a standby's 17:15 bucket 15 % high
 * from its sampling noise read every morning's orders as 12 % short, for three days). When the
 * share at least doubles over `seasonShare` (the share the buckets were learned at, averaged as
 * the spread is), the buckets keep `seasonShare / share` of their weight; small shifts between
 * active stacks change nothing. Call before the point is learned.
 */
export function weighSeasonsByShare(series: SeriesState, share: number, gain: number): void {
  const learned = series.seasonShare;
  if (learned !== undefined && learned > 0 && share >= SHARE_RISE * learned) {
    discountSeasons(series.baseline, learned / share);
    series.seasonShare = share;
  } else series.seasonShare = followShare(learned, share, gain);
}

/**
 * The sampling noise of an error ratio over `count` requests (binomial, at the rate the baseline
 * expects, never below one error: a rate over fewer is all sampling noise), in the series' unit.
 * Zero for other series: counts say how much data a ratio rests on, nothing about a latency or a
 * business rate.
 */
export function countNoise(series: SeriesState, count: number): number {
  const gate = series.gate;
  if (gate === null || gate.kind !== 'error_rate' || gate.relative || !(count > 0)) return 0;
  const scale = gate.unit === 'percent' ? 100 : 1;
  const expected = series.lastExpected / scale;
  // A success rate's sampling noise is its error rate's: p(1 − p) is the same for p and 1 − p.
  const errors = Number.isNaN(complementCeiling(gate)) ? expected : 1 - expected;
  const p = Math.min(0.5, Math.max(errors === errors ? errors : 0, 1 / count));
  return Math.sqrt((p * (1 - p)) / count) * scale;
}

/**
 * A series that has only ever sent non-negative integers over a range of at least 0..2 counts
 * events (restarts, orders, queued jobs): its noise is at least Poisson's, sqrt(expected count),
 * and never below one event. A series of zeros whose learned spread is nil would otherwise read
 * two restarts as thousands of sigma. The range excludes flags and ratios that sit at 0 or 1.
 * Errors and business only: a quantile in whole milliseconds, a CPU in whole percent or a speed in
 * whole miles per hour is no count, and a floor of sqrt(45) on a CPU at 45 % would hide a rise to
 * 55 %. (Queue depths and pools in use are counts too, but capacity keeps its own spread.) `scale`
 * is the business per-share factor: the count is the raw one, the floor is in the scaled unit.
 */
export function eventCountNoise(series: SeriesState, raw: number, scale: number): number {
  let low = series.countLow;
  if (low === undefined || low !== low || (series.signal !== 'reliability' && series.signal !== 'business')) return 0;
  if (raw < 0 || raw !== Math.floor(raw)) {
    series.countLow = Number.NaN;
    return 0;
  }
  let high = series.countHigh!;
  if (raw < low) series.countLow = low = raw;
  if (raw > high) series.countHigh = high = raw;
  if (high - low < 2) return 0;
  const expected = series.lastExpected; // raw units (see lastExpected)
  return Math.sqrt(expected > 1 ? expected : 1) * scale;
}

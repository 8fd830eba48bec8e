/**
 * Seasonal robust baseline for one series, as a plain serializable object plus pure functions.
 *
 * Model: expected(t) = profile(t) + level, where `profile` is the value the series had at this
 * time of day (or of week) in past seasons and `level` a slow correction for today being higher
 * or lower than usual. Until a season has been seen the expected value is a short-horizon level
 * (the cold-start fallback). Residuals are clipped at `huberK` spreads before they update anything,
 * so an outlier moves the baseline by a bounded amount (a Huber M-estimator in streaming form);
 * the spread is an exponentially weighted mean absolute residual, scaled to a normal sigma.
 *
 * O(1) time and no allocation per sample. The learned buckets live in two typed arrays over one
 * buffer per series (see SeasonShape for the layout): with a daily and a weekly season that is 264
 * buckets a series, which as number[] cost 8 bytes a value and 8 a count, plus a header per array.
 *
 * Why float32 is enough for `values`: they are exponentially weighted estimates of a noisy series,
 * and the score never resolves them below its sigma, which is at least `relativeScaleFloor` (1 %)
 * of the expected value. float32 keeps 24 bits (a relative error of 6e-8 per store), and an EWMA
 * whose step is smaller than half a unit in the last place stops moving: with a gain g that dead
 * band is 6e-8 / g of the value (1.6e-5 for a weekly season's gain at one-minute data), under
 * 0.2 % of the smallest sigma. Counts saturate: a bucket's running-mean start (gain 1/(n+1))
 * gives way to the decay's gain long before 65,535 points, so a Uint16 decides the same; the
 * hour-of-day counts weigh that hour's spread against the day's to the end, so they stay exact
 * (float32 holds every integer up to 2^24; they saturate at 10^6 as before).
 */
import { Decay } from '../math/decay.js';
import { addHours, allocate, bucketTotal, hasHours, HOURS, shapesOf, type SeasonShape } from './baseline-layout.js';

export { reviveBaseline, type SeasonShape } from './baseline-layout.js';
import { MS_PER_MIN } from '../time-units.js';

export interface BaselineState {
  /** Time of the first learned point (epoch ms), or NaN before any. */
  firstTs: number;
  lastTs: number;
  points: number;
  /** Points learned since the seasonal forecast took over from the cold-start level. */
  warmPoints: number;
  coldLevel: number;
  level: number;
  /** Exponentially weighted mean absolute residual. */
  spread: number;
  /**
   * Running 99th percentile of |residual| / sigma. A normal series sits at 2.58; a heavy-tailed
   * one (bursty tweet volumes, load-balancer spikes) higher, and its sigma is widened to match, so
   * "4 sigma" means equally rare on every series.
   */
  tailQ: number;
  /** Recent |z|, smoothed over a few points: tells an isolated spike from a sustained shift. */
  recentZ: number;
  /**
   * The lowest and highest values learned (NaN before any, and in checkpoints that predate them).
   * The forecast is held inside them: see expectedFrom.
   */
  low: number;
  high: number;
  /** The seasons, shortest first, and where each one's buckets are. */
  seasons: readonly SeasonShape[];
  /**
   * Learned value per bucket, season after season. With hour-of-day spread (see spreadAt), then 24
   * spreads by hour of day (UTC) and the points learned per hour: the noise of a rate over few
   * requests is wider at night than at the daily peak, so one spread for the whole day makes
   * night-time noise look like five sigma and hides a daytime fault. Older checkpoints have none.
   */
  values: Float32Array;
  /** Points learned per season bucket (saturating at 65,535; the running-mean start and warm-up). */
  counts: Uint16Array;
}

export interface BaselineParams {
  seasons: readonly { minutes: number; bucketMinutes: number }[];
  levelHalfLifeMinutes: number;
  coldLevelHalfLifeMinutes: number;
  seasonalHalfLifeSeasons: number;
  scaleHalfLifeMinutes: number;
  huberK: number;
  relativeScaleFloor: number;
  hourOfDaySpread: boolean;
}

/** Decay gains of one parameter set, built once per engine (see Decay for why). */
export interface BaselineDecays {
  cold: Decay;
  level: Decay;
  spread: Decay;
  /** Per season: a bucket's half-life in minutes of its own visits. */
  season: Decay[];
  /** An hour-of-day spread's half-life in minutes of its own visits. */
  hour: Decay;
}

export function baselineDecays(params: BaselineParams): BaselineDecays {
  return {
    cold: new Decay(params.coldLevelHalfLifeMinutes),
    level: new Decay(params.levelHalfLifeMinutes),
    spread: new Decay(params.scaleHalfLifeMinutes),
    season: params.seasons.map((s) => new Decay(params.seasonalHalfLifeSeasons * s.bucketMinutes)),
    hour: new Decay(params.seasonalHalfLifeSeasons * 60),
  };
}

/** Mean absolute deviation of a normal variable is sigma * sqrt(2/pi). */
export const MAD_TO_SIGMA = 1.2533;
const MS_PER_HOUR = 3_600_000;
const SPREAD_PRIOR_POINTS = 30;
/** Weight of the whole day's spread in an hour's own, in points (see spreadAt). */
const HOUR_PRIOR_POINTS = 30;
/** 99th percentile of |z| for a normal variable. */
const NORMAL_Q99 = 2.576;
/** Log-step of the percentile tracker: adapts over roughly a thousand points. */
const TAIL_STEP = 0.05;
/** Smoothed |z| below which the neighbourhood counts as calm. */
const CALM_Z = 1.5;
const TAIL_UP = Math.exp(TAIL_STEP * 0.99);
const TAIL_DOWN = Math.exp(-TAIL_STEP * 0.01);

export function createBaseline(params: BaselineParams): BaselineState {
  const seasons = shapesOf(params.seasons);
  const { values, counts } = allocate(seasons, params.hourOfDaySpread);
  return {
    firstTs: NaN,
    lastTs: NaN,
    points: 0,
    warmPoints: 0,
    coldLevel: 0,
    level: 0,
    spread: 0,
    tailQ: NORMAL_Q99,
    recentZ: 0,
    low: Number.NaN,
    high: Number.NaN,
    seasons,
    values,
    counts,
  };
}

/** Index of the bucket of `ts` in the series' arrays. */
function bucketOf(season: SeasonShape, ts: number): number {
  const minuteOfSeason = (ts / MS_PER_MIN) % season.minutes;
  const m = minuteOfSeason < 0 ? minuteOfSeason + season.minutes : minuteOfSeason;
  return season.offset + Math.min(season.buckets - 1, Math.floor(m / season.bucketMinutes));
}

/** The season the forecast uses: the longest one whose bucket for `ts` has been learned. */
function activeSeason(state: BaselineState, ts: number): SeasonShape | undefined {
  for (let i = state.seasons.length - 1; i >= 0; i--) {
    const s = state.seasons[i]!;
    if (ts - state.firstTs >= s.minutes * MS_PER_MIN && state.counts[bucketOf(s, ts)]! > 0) return s;
  }
  return undefined;
}

/** True while no season has been seen yet (the forecast is the short-horizon fallback). */
export function isCold(state: BaselineState, ts: number): boolean {
  return activeSeason(state, ts) === undefined;
}

export function expectedAt(state: BaselineState, ts: number): number {
  return expectedFrom(state, activeSeason(state, ts), ts);
}

/**
 * Expected value and cold flag in one pass (the per-sample path): the active season is found
 * once. Returns NaN-free `expected`; `cold` is written to `out`.
 */
export function forecast(state: BaselineState, ts: number, out: { expected: number; cold: boolean }): void {
  const season = activeSeason(state, ts);
  out.cold = season === undefined;
  out.expected = expectedFrom(state, season, ts);
}

/**
 * The season's bucket plus the level, held inside the range the series has shown. Buckets learn the
 * point minus the level, so while the level stands raised by an excursion the buckets visited learn
 * low, and once it decays back their forecast sits below anything ever seen: a restart counter at
 * 0 all week was forecast -0.002 and its every 0 scored 3.6 sigma (the sigma of a constant series
 * is its floor), which read as a reliability fault during a blue/green cutover. No series is
 * expected where it has never been.
 */
function expectedFrom(state: BaselineState, season: SeasonShape | undefined, ts: number): number {
  const e = season === undefined ? state.coldLevel : state.values[bucketOf(season, ts)]! + state.level;
  return e < state.low ? state.low : e > state.high ? state.high : e;
}

function hourOf(ts: number): number {
  const h = Math.floor(ts / MS_PER_HOUR) % 24;
  return h < 0 ? h + 24 : h;
}

/**
 * The spread at `ts`: the hour of day's own, shrunk towards the whole day's while that hour has
 * few points (HOUR_PRIOR_POINTS of the day's spread as a prior), so hourly data starts sane.
 */
function spreadAt(state: BaselineState, ts: number, params: BaselineParams): number {
  if (!params.hourOfDaySpread || !hasHours(state)) return state.spread;
  const h = bucketTotal(state.seasons) + hourOf(ts);
  const v = state.values;
  const c = v[h + HOURS]!;
  return (c * v[h]! + HOUR_PRIOR_POINTS * state.spread) / (c + HOUR_PRIOR_POINTS);
}

/**
 * Robust sigma of the residuals at `ts`, floored relative to the expected value so flat series stay
 * sane. `ceiling`: for a series whose bad side is the distance below a ceiling (a success rate
 * under 1, an availability under 100 %), the floor is relative to that distance, the failure
 * fraction: 1 % of a 99.95 % success rate would hide its fall to 99.5 %.
 */
export function sigmaAt(state: BaselineState, expected: number, params: BaselineParams, ts: number, ceiling = Number.NaN): number {
  const floor = params.relativeScaleFloor * Math.abs(ceiling === ceiling ? ceiling - expected : expected);
  const sigma = spreadAt(state, ts, params) * MAD_TO_SIGMA * (state.tailQ / NORMAL_Q99);
  return sigma > floor ? sigma : floor > 1e-12 ? floor : 1e-12;
}

function clip(x: number, bound: number): number {
  return x > bound ? bound : x < -bound ? -bound : x;
}

/** Points a bucket's first visit must hold to be learned against the forecast, clipped (see learn). */
const MEAN_VISIT_POINTS = 10;

/**
 * Learn one point. `expected` and `sigma` are the values the caller just scored the point against,
 * so the clipping bound is the one the point was judged by.
 */
export function learn(
  state: BaselineState,
  ts: number,
  value: number,
  expected: number,
  sigma: number,
  cold: boolean,
  params: BaselineParams,
  decays: BaselineDecays,
): void {
  if (state.points === 0) {
    state.firstTs = ts;
    state.lastTs = ts;
    state.coldLevel = value;
  }
  // Negated tests so that a NaN bound (none yet, or an older checkpoint) takes the value.
  if (!(value >= state.low)) state.low = value;
  if (!(value <= state.high)) state.high = value;
  const dtMin = state.points === 0 ? 1 : Math.max((ts - state.lastTs) / MS_PER_MIN, 1e-3);
  const n = ++state.points;
  const bound = state.points > 2 && state.spread > 0 ? params.huberK * sigma : Infinity;
  const residual = clip(value - expected, bound);

  const warm = !cold;
  learnSpread(state, ts, value - expected, bound, warm, n, dtMin, params, decays);
  // Stochastic-approximation quantile in log space, on the un-widened z; never below normal.
  // Only an exceedance out of a calm neighbourhood is heavy tail: a ramp or a level shift is a run
  // of exceedances, and letting it widen sigma would hide the very faults we look for.
  if (n > SPREAD_PRIOR_POINTS && sigma > 0) {
    const z = Math.abs(value - expected) / (sigma * (NORMAL_Q99 / state.tailQ));
    if (z <= state.tailQ) state.tailQ *= TAIL_DOWN;
    else if (state.recentZ < CALM_Z) state.tailQ *= TAIL_UP;
    if (state.tailQ < NORMAL_Q99) state.tailQ = NORMAL_Q99;
    state.recentZ += 0.3 * (Math.min(z, 10) - state.recentZ);
  }

  state.coldLevel += Math.max(1 / n, decays.cold.gain(dtMin)) * clip(value - state.coldLevel, bound);
  if (warm) state.level += decays.level.gain(dtMin) * residual;

  // Each season's bucket learns the point minus the level correction (a running mean at first),
  // clipped against its own forecast; in cold start, against the bucket's own value so far.
  const values = state.values;
  const counts = state.counts;
  for (let i = 0; i < state.seasons.length; i++) {
    const s = state.seasons[i]!;
    const b = bucketOf(s, ts);
    const c = counts[b]!;
    const target = value - (warm ? state.level : 0);
    // Half-life of `seasonalHalfLifeSeasons` visits, each visit being one bucket's worth of points.
    const step = dtMin < s.bucketMinutes ? dtMin : s.bucketMinutes;
    const g = Math.max(1 / (c + 1), decays.season[i]!.gain(step));
    // A bucket's first visit, when it holds many points, is the running mean of its points, each
    // clipped against the point's forecast; later points are clipped against the bucket. Taken as
    // the bucket's value, a lone spike at a bucket's first point stayed its value (a 1.4 % 5xx spike
    // at 14:00 of day one had the 14:00 bucket expect 1.2 % two days later, where 0.04 % was
    // normal, and hid a platform-wide fault on that stack alone). Over a visit of a few points
    // (5-minute data in 15-minute buckets: three) the forecast lags the season too far to clip
    // against, and the first point stands as before. Only in the season's first turn: a bucket
    // emptied by a cutover relearns as discountSeasons says.
    const firstVisit = s.bucketMinutes >= MEAN_VISIT_POINTS * step && c * step < s.bucketMinutes && ts - state.firstTs < s.minutes * MS_PER_MIN;
    if (firstVisit) {
      const forecastHere = expected - (warm ? state.level : 0);
      const point = forecastHere + clip(target - forecastHere, bound);
      values[b] = c === 0 ? point : values[b]! + g * (point - values[b]!);
    } else {
      const current = c === 0 ? target : values[b]!;
      values[b] = current + g * clip(target - current, bound);
    }
    counts[b] = c < 0xffff ? c + 1 : c;
  }
  state.lastTs = ts;
}

/**
 * The spread's share of learning a point that deviates by `deviation`. A running mean at first,
 * then exponentially weighted. When the seasonal forecast takes over, its residuals are much
 * smaller than the cold level's lag errors, so the running mean restarts with the cold spread as a
 * prior worth SPREAD_PRIOR_POINTS points. The hour's own spread learns only from seasonal residuals
 * (cold-start residuals are lag errors), clipped twice as wide as the level's: clipped at the
 * day's bound, a noisy night could only creep up to its real spread over many nights.
 */
function learnSpread(
  state: BaselineState,
  ts: number,
  deviation: number,
  bound: number,
  warm: boolean,
  n: number,
  dtMin: number,
  params: BaselineParams,
  decays: BaselineDecays,
): void {
  const m = warm ? ++state.warmPoints + SPREAD_PRIOR_POINTS : n;
  const gSpread = Math.max(1 / m, decays.spread.gain(dtMin));
  if (n > 1) state.spread += gSpread * (Math.abs(clip(deviation, bound)) - state.spread);
  if (warm && params.hourOfDaySpread) {
    // Created on first use: a series checkpointed before the setting existed gains it here.
    if (!hasHours(state)) addHours(state);
    const v = state.values;
    const h = bucketTotal(state.seasons) + hourOf(ts);
    const c = v[h + HOURS]!;
    const r = Math.abs(clip(deviation, 2 * bound));
    v[h] = v[h]! + Math.max(1 / (c + 1), decays.hour.gain(dtMin < 60 ? dtMin : 60)) * (r - v[h]!);
    v[h + HOURS] = c < 1e6 ? c + 1 : c;
  }
}

/**
 * Learn only the noise of a point whose level is explained by an event (see learnPoint): the
 * spread and the hour's spread, nothing of the level, the buckets or the range.
 */
export function learnNoiseOnly(
  state: BaselineState,
  ts: number,
  value: number,
  expected: number,
  sigma: number,
  params: BaselineParams,
  decays: BaselineDecays,
): void {
  if (state.points > 2 && state.spread > 0) {
    const dtMin = Math.max((ts - state.lastTs) / MS_PER_MIN, 1e-3);
    learnSpread(state, ts, value - expected, params.huberK * sigma, true, state.points, dtMin, params, decays);
  }
  skip(state, ts);
}

/**
 * Keep `factor` (0..1) of the weight of what the season buckets have learned: each bucket's count
 * (how many points its running mean stands for) is scaled, so the points to come move it by more.
 * A bucket left worth less than half a point counts as never learned: its next point is judged
 * against the cold-start level, as on a new series, and replaces its value.
 */
export function discountSeasons(state: BaselineState, factor: number): void {
  const c = state.counts;
  for (let i = 0; i < c.length; i++) c[i] = Math.round(c[i]! * factor);
}

/**
 * Learn the noise again, for a series whose volume multiplied (see SampleScorer: its share of the
 * traffic): what it learned was a handful of requests' noise. The spread's running mean restarts
 * with what it holds worth `priorPoints` points, every hour's spread is forgotten (the day's
 * stands for it until the hour relearns), and the heavy tail learned on a few requests a minute
 * (0 or 1 error) starts normal again (kept, it held a colour back at 99 % at 1.7 times its
 * spread, imitation seed 7373). With `shape` (the buckets too were learned on that traffic), each
 * season's buckets, whose shape was that noise (imitation seed 456: a 03:45 bucket learned at 1 %
 * of the traffic expected 40 % fewer errors than the 99 % gave, and a tight spread read that as
 * 5σ), are set to their mean, each keeping its weight: the shape comes back as slowly as it was
 * learned, and a first visit does not follow a ramp (worth one point, a bucket learned a failing
 * release's rising 5xx as it rose, imitation seed 7373).
 */
export function relearnNoise(state: BaselineState, priorPoints: number, shape: boolean): void {
  state.warmPoints = priorPoints - SPREAD_PRIOR_POINTS;
  state.tailQ = NORMAL_Q99;
  if (shape) flattenSeasons(state);
  // The hours' point counts: each hour's spread then stands on the day's (see spreadAt).
  if (hasHours(state)) state.values.fill(0, bucketTotal(state.seasons) + HOURS);
}

/** Each season's buckets to their weighted mean, weights kept (see relearnNoise). */
function flattenSeasons(state: BaselineState): void {
  const v = state.values;
  const c = state.counts;
  for (const season of state.seasons) {
    let sum = 0;
    let n = 0;
    for (let b = season.offset; b < season.offset + season.buckets; b++) {
      sum += c[b]! * v[b]!;
      n += c[b]!;
    }
    if (n === 0) continue;
    for (let b = season.offset; b < season.offset + season.buckets; b++) v[b] = sum / n;
  }
}

/** Advance the clock without learning (a suppressed point still moves time forward). */
export function skip(state: BaselineState, ts: number): void {
  if (state.points > 0 && ts > state.lastTs) state.lastTs = ts;
}

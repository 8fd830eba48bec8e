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
 * O(1) time and no allocation per sample; state is a few numbers plus two arrays per season.
 */
import { Decay } from '../math/decay.js';
import { MS_PER_MIN } from '../time-units.js';

export interface SeasonProfile {
  minutes: number;
  bucketMinutes: number;
  /** Learned value per bucket. */
  value: number[];
  /** Points learned per bucket (saturates; used for the running-mean start and warm-up). */
  count: number[];
}

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
   * Spread by hour of day (UTC), and points learned per hour: the noise of a rate over few
   * requests is wider at night than at the daily peak, so one spread for the whole day makes
   * night-time noise look like five sigma and hides a daytime fault. Absent in older checkpoints.
   */
  hourSpread?: number[];
  hourCount?: number[];
  seasons: SeasonProfile[];
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
const MAD_TO_SIGMA = 1.2533;
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
    ...(params.hourOfDaySpread ? { hourSpread: new Array<number>(24).fill(0), hourCount: new Array<number>(24).fill(0) } : {}),
    seasons: params.seasons.map((s) => {
      const buckets = Math.max(1, Math.round(s.minutes / s.bucketMinutes));
      return { minutes: s.minutes, bucketMinutes: s.bucketMinutes, value: new Array<number>(buckets).fill(0), count: new Array<number>(buckets).fill(0) };
    }),
  };
}

function bucketOf(season: SeasonProfile, ts: number): number {
  const minuteOfSeason = (ts / MS_PER_MIN) % season.minutes;
  const m = minuteOfSeason < 0 ? minuteOfSeason + season.minutes : minuteOfSeason;
  return Math.min(season.value.length - 1, Math.floor(m / season.bucketMinutes));
}

/** The season the forecast uses: the longest one whose bucket for `ts` has been learned. */
function activeSeason(state: BaselineState, ts: number): SeasonProfile | undefined {
  for (let i = state.seasons.length - 1; i >= 0; i--) {
    const s = state.seasons[i]!;
    if (ts - state.firstTs >= s.minutes * MS_PER_MIN && s.count[bucketOf(s, ts)]! > 0) return s;
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

function expectedFrom(state: BaselineState, season: SeasonProfile | undefined, ts: number): number {
  return season === undefined ? state.coldLevel : season.value[bucketOf(season, ts)]! + state.level;
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
  const hs = state.hourSpread;
  if (hs === undefined || !params.hourOfDaySpread) return state.spread;
  const h = hourOf(ts);
  const c = state.hourCount![h]!;
  return (c * hs[h]! + HOUR_PRIOR_POINTS * state.spread) / (c + HOUR_PRIOR_POINTS);
}

/** Robust sigma of the residuals at `ts`, floored relative to the expected value so flat series stay sane. */
export function sigmaAt(state: BaselineState, expected: number, params: BaselineParams, ts: number): number {
  const floor = params.relativeScaleFloor * Math.abs(expected);
  const sigma = spreadAt(state, ts, params) * MAD_TO_SIGMA * (state.tailQ / NORMAL_Q99);
  return sigma > floor ? sigma : floor > 1e-12 ? floor : 1e-12;
}

function clip(x: number, bound: number): number {
  return x > bound ? bound : x < -bound ? -bound : x;
}

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
  const dtMin = state.points === 0 ? 1 : Math.max((ts - state.lastTs) / MS_PER_MIN, 1e-3);
  const n = ++state.points;
  const bound = state.points > 2 && state.spread > 0 ? params.huberK * sigma : Infinity;
  const residual = clip(value - expected, bound);

  const warm = !cold;
  // Spread: a running mean at first, then exponentially weighted. When the seasonal forecast takes
  // over, its residuals are much smaller than the cold level's lag errors, so the running mean
  // restarts with the cold spread as a prior worth SPREAD_PRIOR_POINTS points.
  const m = warm ? ++state.warmPoints + SPREAD_PRIOR_POINTS : n;
  const gSpread = Math.max(1 / m, decays.spread.gain(dtMin));
  if (n > 1) state.spread += gSpread * (Math.abs(residual) - state.spread);
  // The hour's own spread learns only from seasonal residuals: cold-start residuals are lag errors.
  // Its residual is clipped twice as wide as the level's: clipped at the day's bound, a noisy
  // night could only creep up to its real spread over many nights.
  if (warm && params.hourOfDaySpread) {
    // Created on first use: a series checkpointed before the setting existed gains it here.
    if (state.hourSpread === undefined) {
      state.hourSpread = new Array<number>(24).fill(0);
      state.hourCount = new Array<number>(24).fill(0);
    }
    const h = hourOf(ts);
    const c = state.hourCount![h]!;
    const r = Math.abs(clip(value - expected, 2 * bound));
    state.hourSpread[h]! += Math.max(1 / (c + 1), decays.hour.gain(dtMin < 60 ? dtMin : 60)) * (r - state.hourSpread[h]!);
    state.hourCount![h] = c < 1e6 ? c + 1 : c;
  }
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
  for (let i = 0; i < state.seasons.length; i++) {
    const s = state.seasons[i]!;
    const b = bucketOf(s, ts);
    const c = s.count[b]!;
    const target = value - (warm ? state.level : 0);
    // Half-life of `seasonalHalfLifeSeasons` visits, each visit being one bucket's worth of points.
    const g = Math.max(1 / (c + 1), decays.season[i]!.gain(dtMin < s.bucketMinutes ? dtMin : s.bucketMinutes));
    const current = c === 0 ? target : s.value[b]!;
    s.value[b] = current + g * clip(target - current, bound);
    s.count[b] = c < 1e6 ? c + 1 : c;
  }
  state.lastTs = ts;
}

/** Advance the clock without learning (a suppressed point still moves time forward). */
export function skip(state: BaselineState, ts: number): void {
  if (state.points > 0 && ts > state.lastTs) state.lastTs = ts;
}

/**
 * Two-stage threshold for one series: stage 1 (warn) the moment a point crosses the warn bound in
 * the signal's bad direction; stage 2 (confirmed) once m of the last n points of the re-check
 * window are still beyond it. An episode ends after `clearMinutes` with no point beyond the bound.
 *
 * Persistence is weighted by magnitude: a run of consecutive hits also confirms once its summed
 * strength (each point's score over the warn bound, capped at RUN_STRENGTH_CAP) reaches the m of
 * m-of-n. Four points at the bound confirm as before; two points at twice the bound confirm at
 * once, so a sharp, large move is confirmed in two points, not five. A single point never
 * confirms: heavy-tailed telemetry has lone spikes of any size, and they do not come in pairs.
 *
 * The last 32 hits are a bitmask, so the m-of-n check costs a popcount, not a window scan.
 */

export type ThresholdPhase = 'normal' | 'warn' | 'confirmed';

export interface ThresholdState {
  phase: ThresholdPhase;
  hits: number;
  /** Typical spacing of the series' points, learned, to turn minutes into point counts. */
  intervalMinutes: number;
  lastTs: number;
  lastHitTs: number;
  episodeStartTs: number;
  confirmedTs: number;
  peakScore: number;
  /** Exponentially weighted mean of recent scores (the EWMA control chart's statistic). */
  ewScore: number;
  /** The same over about forty points, and its mean absolute value while calm (see assessPoint). Absent in older checkpoints. */
  slowScore?: number;
  slowAbs?: number;
  /**
   * The current run of consecutive *point* hits (the point itself beyond the bound, not the EWMA
   * channel, which carries a spike into the next points): its length and summed strength. Absent
   * in older checkpoints.
   */
  pointRun?: number;
  runStrength?: number;
  /**
   * Under `confirmWithin` only (else 0), the upper CUSUM of the point scores, each clipped at the
   * bound, less the calm average (`slowScore`, where the series keeps one) and CUSUM_SLACK: the
   * evidence the points before a hit carry between them (see confirmIfPersistent). Absent in
   * older checkpoints.
   */
  cusum?: number;
}

/** One point's strength is capped here, so no single spike is worth more than this many points at the bound. */
export const RUN_STRENGTH_CAP = 2.5;

export interface ThresholdParams {
  warnScore: number;
  recheckMinutes: number;
  confirmFraction: number;
  clearMinutes: number;
  /**
   * A run of this many consecutive point hits confirms on its own (0 or absent: off). Used for a
   * stack that just changed: its unchanged peers are the control and the change is the prior, so
   * two points past the bound in a row are the canary verdict, not noise to re-check for five
   * minutes. Never one: after a deploy, lone spikes of any size are common.
   */
  confirmRun?: number;
  /**
   * The `confirmRun` hits may be spread over this many points, the latest a point hit (absent:
   * in a row). A ramp of error counts dips under the bound for a point as it rises (kit seed 44:
   * 3.4σ, 2.0σ, then 4.1σ at its breach).
   */
  confirmWithin?: number;
}

/** The CUSUM's allowance per point, in sigmas: half the one-sigma shift it looks for (the textbook k). */
const CUSUM_SLACK = 0.5;

/** What changed with this point; `none` for the common case. */
export type ThresholdTransition = 'none' | 'warn' | 'confirmed' | 'cleared';

export function createThreshold(): ThresholdState {
  return {
    phase: 'normal',
    hits: 0,
    intervalMinutes: 1,
    lastTs: NaN,
    lastHitTs: NaN,
    episodeStartTs: NaN,
    confirmedTs: NaN,
    peakScore: 0,
    ewScore: 0,
    pointRun: 0,
    runStrength: 0,
    cusum: 0,
  };
}

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Points in the re-check window at this series' resolution (1..32). */
export function recheckPoints(state: ThresholdState, params: ThresholdParams): number {
  const n = Math.round(params.recheckMinutes / state.intervalMinutes);
  return n < 1 ? 1 : n > 32 ? 32 : n;
}

/**
 * Hits in the re-check window, and with `episodePoints` how many of its points the episode has
 * lasted (`seen`, only when fewer than the window): an episode two points old has not had the
 * chance to fill the other three (see persistenceFraction).
 */
export function persistence(state: ThresholdState, params: ThresholdParams, episodePoints = Infinity): { hits: number; of: number; seen?: number } {
  const n = recheckPoints(state, params);
  const mask = n === 32 ? 0xffffffff : (1 << n) - 1;
  const hits = popcount(state.hits & mask);
  return episodePoints < n ? { hits, of: n, seen: Math.max(hits, episodePoints) } : { hits, of: n };
}

/**
 * The persistence evidence as a fraction, over the points the episode has had: a confirmed
 * episode two points old with both beyond the bound has held for all of its life (2/2), not for
 * two fifths of a window it has not lived through yet. Confirmation already demanded a run strong
 * enough for its length; this is how long it has held, not proof that it will.
 */
export function persistenceFraction(p: { hits: number; of: number; seen?: number }): number {
  const of = p.seen !== undefined && p.seen < p.of ? p.seen : p.of;
  return of > 0 ? Math.min(1, p.hits / of) : 0;
}

/**
 * Feed one scored point (score > 0 is the bad direction). `pointScore` is the point's own
 * deviation when `score` also carries an averaged channel; only point hits make a strong run.
 */
export function observe(state: ThresholdState, ts: number, score: number, params: ThresholdParams, pointScore = score): ThresholdTransition {
  if (state.lastTs === state.lastTs && ts > state.lastTs) {
    const dt = (ts - state.lastTs) / 60_000;
    state.intervalMinutes += (dt - state.intervalMinutes) * 0.05;
  }
  state.lastTs = ts;
  const hit = score >= params.warnScore;
  state.hits = ((state.hits << 1) | (hit ? 1 : 0)) >>> 0;
  const pointHit = pointScore >= params.warnScore;
  const strength = pointScore / params.warnScore;
  // Summed only while the caller asks for `confirmWithin` (a changed stack's errors after the
  // rollout), from zero: what counts is what the points since then carry, over what they carried.
  const summing = (params.confirmWithin ?? 0) > 0;
  const cusumBefore = summing ? (state.cusum ?? 0) : 0;
  if (summing) {
    const calm = state.slowScore !== undefined && state.slowScore > 0 ? state.slowScore : 0;
    const sum = cusumBefore + (pointScore < params.warnScore ? pointScore : params.warnScore) - calm - CUSUM_SLACK;
    state.cusum = sum > 0 ? sum : 0;
  } else state.cusum = 0;
  // An averaged hit counts only on a point that carries evidence itself (half the bound): the
  // average a spike leaves behind is that spike again, already in the sum.
  const ledIn = (pointHit || (hit && pointScore >= params.warnScore / 2)) && cusumBefore >= params.warnScore;
  state.pointRun = pointHit ? (state.pointRun ?? 0) + 1 : 0;
  state.runStrength = pointHit ? (state.runStrength ?? 0) + (strength < RUN_STRENGTH_CAP ? strength : RUN_STRENGTH_CAP) : 0;
  if (hit) state.lastHitTs = ts;

  switch (state.phase) {
    case 'normal':
      if (!hit) return 'none';
      state.phase = 'warn';
      state.episodeStartTs = ts;
      state.peakScore = score;
      return confirmIfPersistent(state, ts, params, ledIn) ? 'confirmed' : 'warn';
    case 'warn':
    case 'confirmed': {
      if (score > state.peakScore) state.peakScore = score;
      if (!hit && ts - state.lastHitTs >= params.clearMinutes * 60_000) {
        state.phase = 'normal';
        return 'cleared';
      }
      if (state.phase === 'warn' && confirmIfPersistent(state, ts, params, ledIn)) return 'confirmed';
      return 'none';
    }
  }
}

/**
 * Under `confirmWithin`, a hit also confirms when the points before it, past the slack, add up to
 * a bound's worth (`cusum`, `ledIn`): a ramp rising inside the noise, then out of it (kit
 * seed 11: a release's 5xx at 2.1σ, 1.2σ, 1.7σ, 1.1σ, 1.9σ, then 3.1σ two minutes before its
 * breach, confirmed at its breach by two hits more). The hit may be the averaged channel's, its
 * point just under the bound: the evidence is the sum either way (imitation seed 7373: a cut-over
 * release's 5xx at 0.9σ, 1.4σ, 1.7σ, 2.5σ, then 2.9σ averaging 3.3σ, a minute before its breach,
 * confirmed two minutes after it), but only on a point at half the bound or more: two spikes
 * apart (each in the sum once) and the average the second carries into a calm point did
 * confirm. A lone spike comes out of calm points and does not confirm. Not during the rollout:
 * restarting pods blip errors up for minutes, and summed they confirmed healthy rollouts
 * (imitation seeds 88, 3101); nor from the level before: a series the baseline under-forecasts by
 * a sigma sums to the bound in minutes (imitation seed 99, twice).
 */
function confirmIfPersistent(state: ThresholdState, ts: number, params: ThresholdParams, ledIn: boolean): boolean {
  const { hits, of } = persistence(state, params);
  const needed = Math.max(1, Math.ceil(params.confirmFraction * of));
  const run = state.pointRun ?? 0;
  const k = params.confirmRun ?? 0;
  const within = params.confirmWithin ?? k;
  const byRun = k > 0 && (ledIn || run >= k || (run >= 1 && within > k && popcount(state.hits & ((1 << within) - 1)) >= k));
  const strongRun = byRun || (run >= 2 && (state.runStrength ?? 0) >= needed);
  if (hits < needed && !strongRun) return false;
  // A single point is no re-check: with one-point windows (sparse series), confirm on the next point.
  if (of === 1 && ts === state.episodeStartTs && !byRun) return false;
  confirmEpisode(state, ts);
  return true;
}

/**
 * Confirms the episode at `ts`. Besides the m-of-n re-check above, the caller may confirm on
 * evidence the window cannot see: error bursts that recur past their gate (see SampleScorer).
 */
export function confirmEpisode(state: ThresholdState, ts: number): void {
  state.phase = 'confirmed';
  state.confirmedTs = ts;
}

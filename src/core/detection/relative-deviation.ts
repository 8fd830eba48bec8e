/**
 * Each series' deviation from its own baseline as a fraction of the expected value (value /
 * expected - 1, positive in the bad direction), smoothed like the score the stacks are compared
 * on.
 *
 * Why beside the sigma score: when every stack moves by the same fraction (the platform's daily
 * level is lower after a weekend, an upstream slows every stack alike), the stack with the tighter
 * baseline shows the larger z and would be singled out against peers that moved just as much. A
 * fraction compares stacks of different noise fairly; the sigma score says whether a move is real.
 *
 * Plain data, checkpointed with its group (see GroupSnapshot.relative).
 */
export interface RelativeDeviation {
  /** Smoothed relative deviation in the bad direction; NaN until the baseline is ready. */
  dev: number;
  /**
   * The spread `dev` has from noise alone: one point's sigma as a fraction of the expected value,
   * narrowed by the smoothing (an average of a few minutes of 1-minute data is steadier than one
   * point; one hourly point is not averaged at all). NaN when unknown.
   */
  noise: number;
  /** The expected value of the last point, per 100 % of traffic for a business volume; NaN when unknown. */
  expected: number;
  /**
   * The baseline's level correction inside `expected` (see seasonal-baseline.ts): the part it
   * learns within hours, where a platform-wide move is absorbed; NaN for a cold baseline.
   */
  level: number;
}

export function newRelativeDeviation(): RelativeDeviation {
  return { dev: Number.NaN, noise: Number.NaN, expected: Number.NaN, level: Number.NaN };
}

/**
 * One scored point. `sigma`: the spread the point was judged by. `direction`: 1 up is bad, -1 down
 * is bad, 0 both ways are. `gain`: the same smoothing as the score's. A point with no usable expectation (a baseline with too little history, an expected value of
 * zero or less) forgets the deviation: a fraction of nothing means nothing.
 */
export function trackRelative(
  t: RelativeDeviation,
  value: number,
  expected: number,
  sigma: number,
  level: number,
  direction: 1 | -1 | 0,
  gain: number,
  ready: boolean,
): void {
  if (!ready || !(expected > 0) || !Number.isFinite(value)) {
    t.dev = Number.NaN;
    t.noise = Number.NaN;
    t.expected = Number.NaN;
    t.level = Number.NaN;
    return;
  }
  const frac = value / expected - 1;
  const r = direction === 0 ? Math.abs(frac) : direction * frac;
  t.dev = t.dev === t.dev ? t.dev + gain * (r - t.dev) : r;
  // The stationary spread of an exponential average with this gain over independent points.
  t.noise = (sigma / expected) * Math.sqrt(gain / (2 - gain));
  t.expected = expected;
  t.level = level;
}

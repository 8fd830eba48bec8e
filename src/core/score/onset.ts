/**
 * Building blocks of the single-series score: a per-series rarity scale for deviations and an
 * onset gate that lets an episode alarm once instead of once per anomalous point.
 */

/**
 * Streaming upper quantile of a non-negative variable: a stochastic-approximation tracker in log
 * space (each point moves the estimate by a fixed log-step, up with weight 1-p when the point is
 * above it, down with weight p otherwise), so it settles where a fraction p of the points lies
 * above. O(1), no history kept; it follows a drifting distribution over roughly 1 / (step p)
 * points.
 */
export class RunningQuantile {
  private readonly up: number;
  private readonly down: number;

  constructor(
    readonly p: number,
    step: number,
    public value: number,
  ) {
    this.up = Math.exp(step * (1 - p));
    this.down = Math.exp(-step * p);
  }

  update(x: number): void {
    this.value *= x > this.value ? this.up : this.down;
  }
}

/**
 * Onset gate: passes a point's evidence only when it is the start of something new, i.e. when it
 * exceeds by `renewFactor` the strongest evidence seen in the last `refractoryPoints` points (counted
 * from its latest new peak). Threshold-free: whatever alarm level a consumer later picks,
 * an episode that rises and stays above it alarms at its first crossing (plus once more per
 * `renewFactor` escalation), and the same kind of event alarms again only after the refractory
 * period. A hold ends `refractoryPoints` after the last new peak.
 */
export class OnsetGate {
  private peak = 0;
  private sincePeak = Infinity;
  /** Evidence of the last onset (the level an escalation is measured from). */
  private lastOnset = 0;

  constructor(
    readonly refractoryPoints: number,
    readonly renewFactor: number,
    /**
     * Measure escalations from the last onset rather than from the running peak. With the running
     * peak, evidence that climbs a little at every point (a slow drift, a ramp) never beats the
     * previous point by `renewFactor` and is capped for good; from the last onset, it alarms each
     * time it has grown by `renewFactor`, so it crosses any alarm level within that factor.
     */
    readonly fromLastOnset: boolean = false,
  ) {}

  /** True when `evidence` is an onset. */
  isOnset(evidence: number): boolean {
    this.sincePeak++;
    const live = this.sincePeak <= this.refractoryPoints;
    const held = live ? this.peak : 0;
    const ref = this.fromLastOnset ? (live ? this.lastOnset : 0) : held;
    if (evidence > held) {
      this.peak = evidence;
      this.sincePeak = 0;
    }
    const onset = evidence > this.renewFactor * ref;
    if (onset) this.lastOnset = evidence;
    return onset;
  }
}

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

  constructor(
    readonly refractoryPoints: number,
    readonly renewFactor: number,
  ) {}

  /** True when `evidence` is an onset. */
  isOnset(evidence: number): boolean {
    this.sincePeak++;
    const held = this.sincePeak <= this.refractoryPoints ? this.peak : 0;
    if (evidence > held) {
      this.peak = evidence;
      this.sincePeak = 0;
    }
    return evidence > this.renewFactor * held;
  }
}

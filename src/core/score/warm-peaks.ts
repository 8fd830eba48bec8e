/**
 * Why this file: a rarity scale ({@link ExcursionQuantile}) starts at its floor and climbs a few
 * per cent per exceedance, so on a flat quantized series with sparse normal spikes (CloudWatch CPU,
 * network, disk at 5-minute resolution) it has not reached the spikes' size within a NAB-length
 * file and every spike alarms. This remembers, during a burn-in of the first `burnPoints` points,
 * the peaks of the excursions above the floor (runs of consecutive points above it, one peak per
 * run) and keeps the `rank`-th largest: during the burn-in the scale is never below it (an alarm
 * needs a spike larger than `rank` distinct earlier ones), and at its end the tracker is lifted to
 * it once and tracks on its own from there. With rank >= 2 one early anomaly does not raise the bar
 * for the next. O(rank) per excursion end, O(1) otherwise, nothing allocated after construction.
 */
export class WarmPeaks {
  /** Largest excursion peaks so far, descending (0: empty slot). */
  private readonly top: Float64Array;
  private seen = 0;
  private runMax = 0;

  constructor(
    readonly burnPoints: number,
    readonly rank: number,
    readonly floor: number,
  ) {
    this.top = new Float64Array(rank);
  }

  /** True while the burn-in lasts. */
  get warming(): boolean {
    return this.seen < this.burnPoints;
  }

  /** The rank-th largest excursion peak of the burn-in so far (0 when fewer excursions). */
  get value(): number {
    return this.top[this.rank - 1]!;
  }

  /** Feeds one point; returns true when this point ends the burn-in. */
  update(x: number): boolean {
    if (this.seen >= this.burnPoints) return false;
    this.seen++;
    if (x > this.floor) {
      if (x > this.runMax) this.runMax = x;
    } else this.endRun();
    if (this.seen < this.burnPoints) return false;
    this.endRun();
    return true;
  }

  private endRun(): void {
    const m = this.runMax;
    if (m === 0) return;
    this.runMax = 0;
    const t = this.top;
    let i = t.length - 1;
    if (m <= t[i]!) return;
    while (i > 0 && t[i - 1]! < m) {
      t[i] = t[i - 1]!;
      i--;
    }
    t[i] = m;
  }
}

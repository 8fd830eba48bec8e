/**
 * Why this file: on a flat quantized series with sparse normal spikes (CloudWatch CPU, network,
 * disk at 5-minute resolution) the deviation's rarity scale, in robust sigmas, has not converged
 * within a NAB-length file (it starts at its floor and climbs 5 % per exceedance, and the baseline's
 * spread keeps shrinking on such a series, so the same spike measures ever more sigmas): every
 * spike alarms. This remembers the spikes themselves in the series' own units: for each short
 * excursion of the deviation above its floor (at most `maxRun` points: a spike, not a shift or an
 * episode), its peak raw residual (value minus the baseline's expectation), up and down apart, and
 * keeps the `rank` largest of each sign. A deviation whose raw residual is not `margin` times the
 * `rank`-th largest earlier spike of its sign is "within the range of spikes already seen" (the
 * noise on a spike's residual would otherwise let every other repeat of the same spike through):
 * the scorer treats it as a continuation. With rank 2 one earlier spike (or anomaly) does not raise the bar; long
 * excursions are not remembered, so a level shift or a sustained episode never hides the next one.
 * No decay: over a long life the bar only rises, to the rank-th largest spike ever seen. O(rank)
 * per excursion end, O(1) otherwise, nothing allocated after construction.
 */
export class SeenPeaks {
  /** Largest spike residuals so far, descending (0: empty slot). */
  private readonly up: Float64Array;
  private readonly down: Float64Array;
  private runUp = 0;
  private runDown = 0;
  private runLen = 0;

  constructor(
    readonly rank: number,
    readonly maxRun: number,
    readonly margin: number,
  ) {
    this.up = new Float64Array(rank);
    this.down = new Float64Array(rank);
  }

  /** True when `residual` is within the range of the earlier spikes of its sign. */
  seen(residual: number): boolean {
    const m = this.margin;
    return residual >= 0 ? residual <= m * this.up[this.rank - 1]! : -residual <= m * this.down[this.rank - 1]!;
  }

  /** Feeds one point: its raw residual and whether it is part of an excursion. */
  update(residual: number, inside: boolean): void {
    if (inside) {
      this.runLen++;
      if (residual > this.runUp) this.runUp = residual;
      else if (-residual > this.runDown) this.runDown = -residual;
      return;
    }
    if (this.runLen > 0 && this.runLen <= this.maxRun) {
      if (this.runUp > 0) insert(this.up, this.runUp);
      if (this.runDown > 0) insert(this.down, this.runDown);
    }
    this.runUp = 0;
    this.runDown = 0;
    this.runLen = 0;
  }
}

/** Inserts `m` into the descending array `t` if it beats its last entry. */
function insert(t: Float64Array, m: number): void {
  let i = t.length - 1;
  if (m <= t[i]!) return;
  while (i > 0 && t[i - 1]! < m) {
    t[i] = t[i - 1]!;
    i--;
  }
  t[i] = m;
}

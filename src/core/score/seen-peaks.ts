/**
 * Why this file: on a flat quantized series with sparse normal spikes the rarity scale, in robust
 * sigmas, never settles (the baseline's spread keeps shrinking, so the same spike measures ever
 * more sigmas) and every spike alarms. This remembers the spikes themselves in the series' own
 * units: the peak raw residual (value minus the baseline's expectation, signed: up and down apart)
 * of each excursion above the deviation floor, keeping the `rank` largest of each sign. A deviation
 * whose raw residual is not above the `rank`-th largest earlier excursion of its sign is "within the
 * range of spikes already seen" and the scorer treats it as a continuation. O(rank) per excursion
 * end, nothing allocated after construction.
 */
export class SeenPeaks {
  private readonly up: Float64Array;
  private readonly down: Float64Array;
  private runUp = 0;
  private runDown = 0;

  constructor(readonly rank: number) {
    this.up = new Float64Array(rank);
    this.down = new Float64Array(rank);
  }

  /** True when `residual` is within the range of earlier excursions of its sign. */
  seen(residual: number): boolean {
    return residual >= 0 ? residual <= this.up[this.rank - 1]! : -residual <= this.down[this.rank - 1]!;
  }

  /** Feeds one point: `residual` is its raw residual, `inside` whether it is part of an excursion. */
  update(residual: number, inside: boolean): void {
    if (inside) {
      if (residual > this.runUp) this.runUp = residual;
      else if (-residual > this.runDown) this.runDown = -residual;
      return;
    }
    if (this.runUp > 0) insert(this.up, this.runUp);
    if (this.runDown > 0) insert(this.down, this.runDown);
    this.runUp = 0;
    this.runDown = 0;
  }
}

function insert(t: Float64Array, m: number): void {
  let i = t.length - 1;
  if (m <= t[i]!) return;
  while (i > 0 && t[i - 1]! < m) {
    t[i] = t[i - 1]!;
    i--;
  }
  t[i] = m;
}

/**
 * Why this file: the plain rarity tracker ({@link RunningQuantile}) moves its upper quantile up by
 * a fixed log-step at EVERY point above it, so a detector output that climbs slowly (a slow drift,
 * a ramp of CPU before a failure) is chased point by point: the scale climbs as fast as the
 * evidence (5 % per point at the shipped step) and the ratio never reaches an alarm. Here the
 * up-moves of an excursion (consecutive points above the scale) are held back while it lasts and
 * applied when it ends, so during the first `holdPoints` points of an excursion the scale is the one
 * from before it and a slow climb shows as growing evidence. The moves are applied in full (the
 * tracker settles on the same quantile as the plain one whenever excursions are shorter than
 * `holdPoints`); an excursion that outlasts `holdPoints` is taken as a change of behaviour: its
 * held moves are applied then and it is tracked point by point from there, so a new regime does not
 * keep an alarm up for ever. Held moves never lift the scale above the excursion's largest point
 * (a moving quantile has no reason to pass the points that pushed it); with `holdPoints` = 1 this is
 * the plain tracker with that cap alone, which is what the deviation's scale uses (the cap moved
 * NAB dev leave-one-category-out standard 70.4 -> 73.0 but low-FP 59.3 -> 57.2, mostly by a different threshold being
 * chosen for realAdExchange: read it as "about as good", not as a real gain). O(1) per point.
 */
export class ExcursionQuantile {
  private readonly upLog: number;
  private readonly down: number;
  /** Points of the current excursion (0: not in one). */
  private run = 0;
  /** Largest point of the current excursion. */
  private runMax = 0;

  constructor(
    readonly p: number,
    readonly step: number,
    public value: number,
    readonly holdPoints: number,
  ) {
    this.upLog = step * (1 - p);
    this.down = Math.exp(-step * p);
  }

  update(x: number): void {
    if (x > this.value) {
      this.run++;
      if (x > this.runMax) this.runMax = x;
      if (this.run === this.holdPoints) this.release();
      else if (this.run > this.holdPoints) this.value *= Math.exp(this.upLog);
      return;
    }
    if (this.run > 0 && this.run < this.holdPoints) this.release();
    this.run = 0;
    this.runMax = 0;
    this.value *= this.down;
  }

  /** Applies the held up-moves, never above the excursion's largest point (the plain tracker would not pass it either). */
  private release(): void {
    const v = this.value * Math.exp(this.upLog * this.run);
    this.value = v < this.runMax ? v : this.runMax;
  }
}

/**
 * Exponential-decay gain for a half-life, in event time: the weight a new point gets after `dt`
 * minutes. Memoizes the last dt, because real series arrive at a steady interval and Math.pow
 * was the single largest cost of the per-sample path.
 */
export class Decay {
  private lastDt = NaN;
  private lastGain = 0;

  constructor(readonly halfLifeMinutes: number) {}

  gain(dtMinutes: number): number {
    if (dtMinutes !== this.lastDt) {
      this.lastDt = dtMinutes;
      this.lastGain = 1 - Math.pow(2, -dtMinutes / this.halfLifeMinutes);
    }
    return this.lastGain;
  }
}

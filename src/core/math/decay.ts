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
    // Real scrapes jitter by milliseconds; to the second is exact enough and keeps the memo useful.
    const dt = Math.round(dtMinutes * 60) / 60 || dtMinutes;
    if (dt !== this.lastDt) {
      this.lastDt = dt;
      this.lastGain = 1 - 2 ** (-dt / this.halfLifeMinutes);
    }
    return this.lastGain;
  }
}

/** A measured value for people: three significant figures below 1 (0.0042), two decimals to 100, whole above. */
export function formatMeasure(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 1 ? x.toFixed(2) : x.toPrecision(2);
}

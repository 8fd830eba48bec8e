/** Four decimals: what emitted scores and values carry (enough to read, stable across replays). */
export function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

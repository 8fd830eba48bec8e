/**
 * Traffic-split arithmetic shared by the weight-based routing controllers. Pure.
 *
 * Weights are relative (HAProxy's 0..256, Envoy's, anything): each stack's share of traffic is its
 * weight over the sum. The result is always integer percents that sum to 100, so it can be written
 * back as weights directly (HAProxy accepts 0..256).
 */

/**
 * Moves `percent` points of total traffic from `from` to `to` (split evenly) and returns the new
 * split as integer percents summing to 100 (largest-remainder rounding).
 *
 * - `current`: weights or shares per stack; normalised to percent of their total first.
 * - The move is capped at what `from` has, so no stack goes below 0 (a stack may end at 0: drained).
 * - Stacks that are neither `from` nor a target keep their share (up to rounding).
 * - A revert is the same call with `from` and `to` swapped.
 *
 * Throws on unknown stacks, an empty or self-only target list, a negative/non-finite percent, a
 * negative weight, or when every weight is 0 (there is no traffic to move).
 */
export function shiftWeights(current: Record<string, number>, from: string, to: string[], percent: number): Record<string, number> {
  const stacks = Object.keys(current);
  if (!stacks.includes(from)) throw new Error(`shiftWeights: unknown source stack "${from}" (known: ${stacks.join(', ')})`);
  const targets = [...new Set(to)].filter((t) => t !== from);
  if (targets.length === 0) throw new Error(`shiftWeights: no target stack other than "${from}"`);
  for (const t of targets) if (!stacks.includes(t)) throw new Error(`shiftWeights: unknown target stack "${t}" (known: ${stacks.join(', ')})`);
  if (!Number.isFinite(percent) || percent < 0) throw new Error(`shiftWeights: percent must be a finite number ≥ 0, got ${percent}`);
  let total = 0;
  for (const s of stacks) {
    const w = current[s]!;
    if (!Number.isFinite(w) || w < 0) throw new Error(`shiftWeights: weight of "${s}" must be a finite number ≥ 0, got ${w}`);
    total += w;
  }
  if (total <= 0) throw new Error('shiftWeights: all weights are 0, there is no traffic to shift');

  const shares: Record<string, number> = {};
  for (const s of stacks) shares[s] = (current[s]! / total) * 100;
  const moved = Math.min(percent, shares[from]!);
  shares[from] = shares[from]! - moved;
  for (const t of targets) shares[t] = shares[t]! + moved / targets.length;
  return roundToHundred(shares, stacks);
}

/**
 * Largest-remainder rounding of shares (summing to ~100) to integers summing to exactly 100.
 * Ties go to the stack listed first in `order`.
 */
export function roundToHundred(shares: Record<string, number>, order: string[] = Object.keys(shares)): Record<string, number> {
  const EPS = 1e-9;
  const floors = order.map((s) => {
    const v = Math.max(0, shares[s] ?? 0);
    // Snap values within float noise of an integer (e.g. 69.99999999) before flooring.
    const near = Math.round(v);
    const f = Math.abs(v - near) < EPS ? near : Math.floor(v);
    return { s, f, rem: Math.abs(v - near) < EPS ? 0 : v - f };
  });
  let left = 100 - floors.reduce((a, x) => a + x.f, 0);
  const byRemainder = floors.map((x, i) => ({ ...x, i })).sort((a, b) => (b.rem - a.rem > EPS ? 1 : a.rem - b.rem > EPS ? -1 : a.i - b.i));
  const out: Record<string, number> = {};
  for (const x of floors) out[x.s] = x.f;
  for (const x of byRemainder) {
    if (left <= 0) break;
    out[x.s] = out[x.s]! + 1;
    left--;
  }
  return out;
}

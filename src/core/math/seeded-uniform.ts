/**
 * mulberry32: a tiny seeded PRNG with uniforms in [0, 1). For reproducible synthetic data and
 * test schedules, never for anything that must be unpredictable.
 */
export function seededUniform(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

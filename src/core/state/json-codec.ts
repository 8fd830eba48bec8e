/**
 * JSON for checkpoints. Plain JSON turns NaN and ±Infinity into null, and the core uses NaN for
 * "not yet" (no last timestamp, no breach time), so non-finite numbers are written as a tagged
 * object {"$n":"NaN"} and read back exactly.
 */
const TAG = '$n';

export function encodeState(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { [TAG]: String(v) } : v));
}

export function decodeState<T>(text: string): T {
  return JSON.parse(text, (_k, v: unknown) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const keys = Object.keys(o);
      if (keys.length === 1 && keys[0] === TAG && typeof o[TAG] === 'string') return Number(o[TAG]);
    }
    return v;
  }) as T;
}

import type { z } from 'zod';

/**
 * "Did you mean" for a misspelled configuration key: the known keys at the path, read from
 * the schema itself, and the nearest one by edit distance (case-insensitive), when it is near
 * enough to be a typo (`controler` → `controller`, `warnscore` → `warnScore`, `guardrail` →
 * `guardrails`).
 */
export function suggestKey(schema: z.ZodType, path: readonly PropertyKey[], key: string): string | undefined {
  const known = keysAt(schema, path);
  if (known === undefined) return undefined;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = distance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

interface SchemaDef {
  type?: string;
  innerType?: unknown;
  in?: unknown;
  shape?: Record<string, unknown>;
  element?: unknown;
  valueType?: unknown;
}

const defOf = (s: unknown): SchemaDef | undefined => (s as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;

/** Unwraps optional/default/prefault/pipe wrappers down to the schema that holds keys. */
function unwrap(s: unknown): unknown {
  for (let d = defOf(s); d !== undefined && (d.innerType !== undefined || (d.type === 'pipe' && d.in !== undefined)); d = defOf(s)) s = d.innerType ?? d.in;
  return s;
}

function keysAt(schema: unknown, path: readonly PropertyKey[]): string[] | undefined {
  let s = unwrap(schema);
  for (const seg of path) {
    const d = defOf(s);
    if (d?.type === 'object' && d.shape !== undefined) s = d.shape[String(seg)];
    else if (d?.type === 'array') s = d.element;
    else if (d?.type === 'record') s = d.valueType;
    else return undefined;
    s = unwrap(s);
  }
  const d = defOf(s);
  return d?.type === 'object' && d.shape !== undefined ? Object.keys(d.shape) : undefined;
}

/** Levenshtein distance (keys are short). */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

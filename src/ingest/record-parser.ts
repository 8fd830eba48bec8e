import { EVENT_KINDS, SIGNALS, type ContextEvent, type EventKind, type Sample, type Signal } from '../domain/types.js';

/**
 * Parses one input record (a JSONL line or an element of a JSON array) into a Sample or a
 * ContextEvent, or says exactly why not. Never throws. Unknown fields are ignored.
 * Hand-written rather than zod because it runs once per sample on the ingest path.
 */

export type ParsedRecord = { ok: true; kind: 'sample'; sample: Sample } | { ok: true; kind: 'event'; event: ContextEvent } | { ok: false; reason: string };

const SIGNAL_SET: ReadonlySet<string> = new Set(SIGNALS);
const KIND_SET: ReadonlySet<string> = new Set(EVENT_KINDS);
/** Names are label values: printable, bounded, so a typo cannot create megabyte series keys. */
export const MAX_NAME = 200;

export function parseLine(line: string): ParsedRecord {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch (e) {
    return { ok: false, reason: `invalid JSON: ${(e as Error).message}` };
  }
  return parseRecord(obj);
}

export function parseRecord(obj: unknown): ParsedRecord {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return { ok: false, reason: 'record must be a JSON object' };
  const r = obj as Record<string, unknown>;
  const ts = parseTimestamp(r['ts']);
  if (typeof ts === 'string') return { ok: false, reason: `ts: ${ts}` };
  switch (r['type']) {
    case 'sample':
      return parseSample(r, ts);
    case 'event':
      return parseEvent(r, ts);
    default:
      return { ok: false, reason: `type: expected "sample" or "event", got ${describe(r['type'])}` };
  }
}

function parseSample(r: Record<string, unknown>, ts: number): ParsedRecord {
  const signal = r['signal'];
  if (typeof signal !== 'string' || !SIGNAL_SET.has(signal))
    return { ok: false, reason: `signal: expected one of ${SIGNALS.join(', ')}, got ${describe(signal)}` };
  // The three names are checked in place (no result object per field): this runs once per sample.
  const metric = r['metric'];
  const stack = r['stack'];
  const service = r['service'];
  if (!isName(metric)) return { ok: false, reason: name(r, 'metric', true).error! };
  if (!isName(stack)) return { ok: false, reason: name(r, 'stack', true).error! };
  if (!isName(service)) return { ok: false, reason: name(r, 'service', true).error! };
  const value = r['value'];
  if (typeof value !== 'number' || !Number.isFinite(value)) return { ok: false, reason: `value: expected a finite number, got ${describe(value)}` };
  const sample: Sample = { ts, signal: signal as Signal, metric, stack, service, value };
  const count = r['count'];
  if (count !== undefined) {
    if (typeof count !== 'number' || !Number.isFinite(count) || count < 0)
      return { ok: false, reason: `count: expected a non-negative number, got ${describe(count)}` };
    sample.count = count;
  }
  return { ok: true, kind: 'sample', sample };
}

function parseEvent(r: Record<string, unknown>, ts: number): ParsedRecord {
  const kind = r['kind'];
  if (typeof kind !== 'string' || !KIND_SET.has(kind)) return { ok: false, reason: `kind: expected one of ${EVENT_KINDS.join(', ')}, got ${describe(kind)}` };
  const id = name(r, 'id', true);
  if (id.error) return { ok: false, reason: id.error };
  const stack = name(r, 'stack', false);
  if (stack.error) return { ok: false, reason: stack.error };
  const service = name(r, 'service', false);
  if (service.error) return { ok: false, reason: service.error };
  const attributes = r['attributes'] ?? {};
  if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes))
    return { ok: false, reason: `attributes: expected an object, got ${describe(attributes)}` };
  const tooBig = attributesProblem(attributes);
  if (tooBig !== undefined) return { ok: false, reason: tooBig };
  const event: ContextEvent = { ts, kind: kind as EventKind, id: id.value!, attributes: attributes as Record<string, unknown> };
  if (stack.value !== undefined) event.stack = stack.value;
  if (service.value !== undefined) event.service = service.value;
  if (r['startTs'] !== undefined && r['startTs'] !== null) {
    const startTs = parseTimestamp(r['startTs']);
    if (typeof startTs === 'string') return { ok: false, reason: `startTs: ${startTs}` };
    event.startTs = startTs;
  }
  if (r['endTs'] !== undefined && r['endTs'] !== null) {
    const endTs = parseTimestamp(r['endTs']);
    if (typeof endTs === 'string') return { ok: false, reason: `endTs: ${endTs}` };
    if (endTs < ts) return { ok: false, reason: 'endTs: before ts' };
    if (event.startTs !== undefined && endTs < event.startTs) return { ok: false, reason: 'endTs: before startTs' };
    event.endTs = endTs;
  }
  // A scheduled event's multiplier sizes capacity: a wrong one is refused here, not guessed at later.
  const multiplier = (attributes as Record<string, unknown>)['expectedTrafficMultiplier'];
  if (multiplier !== undefined && (typeof multiplier !== 'number' || !Number.isFinite(multiplier) || multiplier <= 0))
    return { ok: false, reason: `attributes.expectedTrafficMultiplier: expected a number > 0, got ${describe(multiplier)}` };
  if (kind === 'traffic_shift') {
    const w = (attributes as Record<string, unknown>)['weights'];
    if (w === null || typeof w !== 'object' || Array.isArray(w))
      return { ok: false, reason: 'attributes.weights: a traffic_shift needs {"<stack>": percent, ...}' };
    for (const [k, v] of Object.entries(w as Record<string, unknown>)) {
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
        return { ok: false, reason: `attributes.weights.${k}: expected a non-negative number, got ${describe(v)}` };
    }
  }
  return { ok: true, kind: 'event', event };
}

function isName(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME;
}

function name(r: Record<string, unknown>, field: string, required: boolean): { value?: string; error?: string } {
  const v = r[field];
  if (v === undefined || v === null) return required ? { error: `${field}: required` } : {};
  if (typeof v !== 'string' || v.length === 0) return { error: `${field}: expected a non-empty string, got ${describe(v)}` };
  if (v.length > MAX_NAME) return { error: `${field}: longer than ${MAX_NAME} characters` };
  return { value: v };
}

/**
 * The last timestamp text and its value: every series of a minute carries the same text, so a
 * replay or a batch parses each minute's timestamp once, not once per sample.
 */
let lastTsText = '';
let lastTsMs = 0;

/** ISO-8601 text or epoch milliseconds → epoch ms, or a reason string. */
export function parseTimestamp(v: unknown): number | string {
  if (v === lastTsText) return lastTsMs;
  const ms = parseTimestampUncached(v);
  if (typeof v === 'string' && typeof ms === 'number') {
    lastTsText = v;
    lastTsMs = ms;
  }
  return ms;
}

function parseTimestampUncached(v: unknown): number | string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return `expected a finite epoch-milliseconds number, got ${v}`;
    if (v > 0 && v < 1e11) return `${v} looks like epoch seconds; send epoch milliseconds`;
    return validRange(v);
  }
  if (typeof v === 'string') {
    if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(v)) return `expected ISO-8601 or epoch milliseconds, got ${describe(v)}`;
    const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(v);
    const ms = Date.parse(hasZone ? v : `${v.replace(' ', 'T')}Z`);
    if (Number.isNaN(ms)) return `unparseable timestamp ${describe(v)}`;
    return validRange(ms);
  }
  return `required: ISO-8601 text or epoch milliseconds, got ${describe(v)}`;
}

/** Years 1970..2200: catches seconds passed as milliseconds and vice versa. */
function validRange(ms: number): number | string {
  if (ms < 0 || ms > 7_258_118_400_000) return `out of range (${ms}); epoch values must be milliseconds between 1970 and 2200`;
  return ms;
}

/**
 * A value as a refusal quotes it: short, and never by serializing a structure (a value nested
 * 100,000 levels deep parses fine but overflows the stack of JSON.stringify).
 */
function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return `an array of ${v.length} item${v.length === 1 ? '' : 's'}`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v);
    return `an object {${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', ...' : ''}}`;
  }
  if (typeof v === 'string') return v.length > 57 ? `${JSON.stringify(v.slice(0, 57)).slice(0, -1)}..."` : JSON.stringify(v);
  return String(v);
}

/** Event attributes are kept in checkpoints and shown to people: bounded in depth, count and size. */
export const ATTRIBUTE_LIMITS = { depth: 8, values: 512, stringLength: 2048, totalChars: 16_384 } as const;

/** The first way `attributes` exceeds its limits, walked without recursion; undefined when within them. */
function attributesProblem(attributes: object): string | undefined {
  const pending: [unknown, number, string][] = [[attributes, 1, 'attributes']];
  let values = 0;
  // Keys and strings together: 512 values of 2048 characters each would still be 1 MiB per event,
  // kept in every checkpoint (a deploy's metadata is a few hundred characters).
  let chars = 0;
  while (pending.length > 0) {
    const [v, depth, path] = pending.pop()!;
    if (++values > ATTRIBUTE_LIMITS.values) return `attributes: more than ${ATTRIBUTE_LIMITS.values} values`;
    if (typeof v === 'string' && v.length > ATTRIBUTE_LIMITS.stringLength) return `${path}: a string longer than ${ATTRIBUTE_LIMITS.stringLength} characters`;
    if (typeof v === 'string') chars += v.length;
    if (chars > ATTRIBUTE_LIMITS.totalChars) return `attributes: more than ${ATTRIBUTE_LIMITS.totalChars} characters of keys and strings in all`;
    if (v === null || typeof v !== 'object') continue;
    if (depth > ATTRIBUTE_LIMITS.depth) return `attributes: nested deeper than ${ATTRIBUTE_LIMITS.depth} levels (at ${path})`;
    for (const k in v) {
      if (k.length > MAX_NAME) return `${path}: a key longer than ${MAX_NAME} characters`;
      chars += k.length;
      pending.push([(v as Record<string, unknown>)[k], depth + 1, `${path}.${k}`]);
      if (pending.length > ATTRIBUTE_LIMITS.values) return `attributes: more than ${ATTRIBUTE_LIMITS.values} values`;
    }
  }
  return undefined;
}

/**
 * Where a baseline's learned numbers live: the season buckets and hour-of-day spreads in two typed
 * arrays over one buffer per series (see seasonal-baseline.ts for why float32 and uint16 are
 * enough), the shapes shared by every series with the same seasons, and the revival of a
 * checkpointed baseline (typed, plain JSON, or the older per-season layout) into that layout.
 */
import type { BaselineState } from './seasonal-baseline.js';

/**
 * One season's place in a series' arrays: its buckets are `values[offset .. offset + buckets)` and
 * `counts[offset .. offset + buckets)`. Shared by every series with the same seasons (never mutated).
 */
export interface SeasonShape {
  readonly minutes: number;
  readonly bucketMinutes: number;
  readonly buckets: number;
  readonly offset: number;
}

/** Hour-of-day slots at the end of `values`: 24 spreads, then 24 point counts. */
export const HOURS = 24;

/** Shapes by their seasons, so that every series with the same ones shares one array of them. */
const shapeCache = new Map<string, readonly SeasonShape[]>();

export function shapesOf(seasons: readonly { minutes: number; bucketMinutes: number; buckets?: number }[]): readonly SeasonShape[] {
  const key = seasons.map((s) => `${s.minutes}/${s.bucketMinutes}/${s.buckets ?? ''}`).join(',');
  let shapes = shapeCache.get(key);
  if (shapes === undefined) {
    let offset = 0;
    shapes = Object.freeze(
      seasons.map((s) => {
        const buckets = s.buckets ?? Math.max(1, Math.round(s.minutes / s.bucketMinutes));
        const shape = Object.freeze({ minutes: s.minutes, bucketMinutes: s.bucketMinutes, buckets, offset });
        offset += buckets;
        return shape;
      }),
    );
    shapeCache.set(key, shapes);
  }
  return shapes;
}

export function bucketTotal(seasons: readonly SeasonShape[]): number {
  const last = seasons[seasons.length - 1];
  return last === undefined ? 0 : last.offset + last.buckets;
}

/** Both arrays over one buffer: one allocation, one header fewer per series. */
export function allocate(seasons: readonly SeasonShape[], hours: boolean): { values: Float32Array; counts: Uint16Array } {
  const n = bucketTotal(seasons);
  const floats = n + (hours ? 2 * HOURS : 0);
  const buffer = new ArrayBuffer(4 * floats + 2 * n);
  return { values: new Float32Array(buffer, 0, floats), counts: new Uint16Array(buffer, 4 * floats, n) };
}

/** Whether the series learns its spread by hour of day yet (older checkpoints do not). */
export function hasHours(state: BaselineState): boolean {
  return state.values.length > bucketTotal(state.seasons);
}

/**
 * A baseline as a checkpoint gives it back, as a new state in this layout: typed arrays from the codec, plain
 * number arrays from plain JSON, or an older checkpoint's per-season `value`/`count` arrays and
 * `hourSpread`/`hourCount` (counts past 65,535 saturate there, which changes nothing; see above).
 */
export function reviveBaseline(raw: BaselineState): BaselineState {
  const old = raw as unknown as LegacyBaseline;
  const legacy = old.seasons.length > 0 && old.seasons[0]!.value !== undefined;
  const seasons = shapesOf(
    legacy ? old.seasons.map((s) => ({ minutes: s.minutes, bucketMinutes: s.bucketMinutes, buckets: numbers(s.value!).length })) : old.seasons,
  );
  const n = bucketTotal(seasons);
  const hourSpread = legacy ? old.hourSpread : undefined;
  const values = legacy ? old.seasons.flatMap((s) => Array.from(numbers(s.value!))) : numbers(old.values!);
  const counts = legacy ? old.seasons.flatMap((s) => Array.from(numbers(s.count!))) : numbers(old.counts!);
  const hours = legacy ? hourSpread !== undefined : values.length > n;
  const fresh = allocate(seasons, hours);
  for (let i = 0; i < n; i++) {
    fresh.values[i] = values[i]!;
    fresh.counts[i] = Math.min(counts[i]!, 0xffff);
  }
  if (hours && legacy) {
    const spread = numbers(hourSpread!);
    const count = numbers(old.hourCount!);
    for (let h = 0; h < HOURS; h++) {
      fresh.values[n + h] = spread[h]!;
      fresh.values[n + HOURS + h] = count[h]!;
    }
  } else if (hours) for (let i = n; i < n + 2 * HOURS; i++) fresh.values[i] = values[i]!;
  // A new object with the fields of createBaseline's, in its order: one shape for every series.
  return {
    firstTs: raw.firstTs,
    lastTs: raw.lastTs,
    points: raw.points,
    warmPoints: raw.warmPoints,
    coldLevel: raw.coldLevel,
    level: raw.level,
    spread: raw.spread,
    tailQ: raw.tailQ,
    recentZ: raw.recentZ,
    // JSON writes NaN as null; a checkpoint from before the range has neither.
    low: (raw as Partial<BaselineState>).low ?? Number.NaN,
    high: (raw as Partial<BaselineState>).high ?? Number.NaN,
    seasons,
    values: fresh.values,
    counts: fresh.counts,
  };
}

/** The layout before typed arrays, as older checkpoints hold it. */
interface LegacyBaseline {
  seasons: { minutes: number; bucketMinutes: number; value?: NumberList; count?: NumberList }[];
  values?: NumberList;
  counts?: NumberList;
  hourSpread?: NumberList;
  hourCount?: NumberList;
}

/** A typed array, a number array, or a typed array as plain JSON.stringify writes it ({"0": x, ...}). */
type NumberList = ArrayLike<number> | Record<string, number>;

function numbers(list: NumberList): ArrayLike<number> {
  if (ArrayBuffer.isView(list) || Array.isArray(list)) return list as ArrayLike<number>;
  return Object.values(list);
}

/** A series checkpointed before the hour-of-day spread existed gains it (zeros, as a new one has). */
export function addHours(state: BaselineState): void {
  const fresh = allocate(state.seasons, true);
  fresh.values.set(state.values);
  fresh.counts.set(state.counts);
  state.values = fresh.values;
  state.counts = fresh.counts;
}

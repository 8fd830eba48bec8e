import { SIGNALS, type ContextEvent, type DetectionEvent, type Signal, type StackHealthEvent } from '../../domain/types.js';

/**
 * Joins the output of several detection engines (shards: one per Kafka partition, or the single
 * in-process engine) into the one stream the decision workflow reads.
 *
 * Each shard reports a watermark: nothing it emits later is older than that (see
 * DetectionEngine.watermark). The merge releases what is older than the smallest watermark of the
 * active shards (a shard whose input has gone quiet says it is idle and stops holding the others
 * back, as Flink's idle sources do; when all are idle, the newest watermark counts), in a canonical order (time, kind, service/metric/stack), so the decision workflow sees
 * the same sequence however the series are spread over shards and however their output
 * interleaves in transit. Two things a shard cannot do alone are done here:
 *
 * - **Health** is per stack across all its metrics, while a shard holds only some metrics. The
 *   shards' partial health for one minute is combined (worst score and saturation: max; series
 *   reporting and known: sum; metrics in episode: union). A shard with no data in that minute emits
 *   nothing, so its last known `known` and episodes stand in, as they would in one engine.
 * - **Context events** reach every shard (each needs them for its baselines); each is passed on
 *   once.
 *
 * Each shard numbers its output; a number already seen is a re-delivery (a shard restored from
 * an older checkpoint emits the same output again) and is dropped. Pure: no I/O, no clock.
 */
export interface MergeSink {
  detection(e: DetectionEvent): void;
  context(e: ContextEvent): void;
}

export type ShardOutput = DetectionEvent | ContextEvent;

interface Pending {
  ts: number;
  rank: number;
  key: string;
  arrival: number;
  shard: string;
  item: ShardOutput;
}

interface PartialHealth {
  service: string;
  stack: string;
  known: number;
  episodes: string[];
  /** The shard's reporting interval for the stack (absent from older shards and checkpoints). */
  intervalMinutes?: number;
}

export interface MergeStats {
  released: number;
  duplicates: number;
  /** Items older than what was already released: a shard broke its watermark promise. */
  outOfOrder: number;
}

export interface MergeSnapshot {
  version: 1;
  shards: { shard: string; watermark: number | null; idle: boolean; seq: number }[];
  pending: { shard: string; arrival: number; item: ShardOutput }[];
  partials: { shard: string; health: PartialHealth[] }[];
  releasedTo: number | null;
  arrival: number;
  stats: MergeStats;
  contextReleased?: [string, number][];
}

/** Where each kind goes among events of the same instant: a change first, the minute's summary last. */
const RANK: Record<string, number> = { context: 0, anomaly: 1, recovery: 2, breach: 3, prediction: 4, delta: 5, health: 6 };

const CONTEXT_MEMORY_MS = 24 * 3600_000;

const isContext = (item: ShardOutput): item is ContextEvent => (item as ContextEvent).kind !== undefined;

export class DetectionMerge {
  private readonly watermarks = new Map<string, number>();
  private readonly idle = new Map<string, boolean>();
  private readonly seqs = new Map<string, number>();
  private pending: Pending[] = [];
  private minPending = Infinity;
  private readonly partials = new Map<string, Map<string, PartialHealth>>();
  private releasedTo = -Infinity;
  private arrival = 0;
  /**
   * Context events already passed on, by content, with their time: a copy from a shard that was
   * idle (and so released it late) is recognised even after its instant was released.
   */
  private readonly contextReleased = new Map<string, number>();
  readonly stats: MergeStats = { released: 0, duplicates: 0, outOfOrder: 0 };

  constructor(
    /** Every shard whose output is needed: until each has reported a watermark, nothing is released. */
    private readonly shards: readonly string[],
    private readonly sink: MergeSink,
  ) {
    for (const s of shards) this.watermarks.set(s, -Infinity);
  }

  /** The last sequence number taken from a shard (0 before any). */
  lastSeq(shard: string): number {
    return this.seqs.get(shard) ?? 0;
  }

  /** A shard's output item; `seq` numbers the shard's output from 1. False for a re-delivery. */
  offer(shard: string, seq: number, item: ShardOutput): boolean {
    if (seq <= (this.seqs.get(shard) ?? 0)) {
      this.stats.duplicates++;
      return false;
    }
    this.seqs.set(shard, seq);
    const ts = item.ts;
    if (ts < this.releasedTo) this.stats.outOfOrder++;
    const rank = isContext(item) ? RANK.context! : RANK[item.type]!;
    this.pending.push({ ts, rank, key: keyOf(item), arrival: this.arrival++, shard, item });
    if (ts < this.minPending) this.minPending = ts;
    return true;
  }

  /**
   * A shard's watermark moved, or it went idle or active again; releases whatever is now
   * complete. Cheap when nothing is due (the in-process pipeline calls it per sample).
   */
  advance(shard: string, watermark: number, idle = false): void {
    const prev = this.watermarks.get(shard);
    if (prev === undefined) return;
    const wasIdle = this.idle.get(shard) === true;
    if (watermark <= prev && idle === wasIdle) return;
    if (watermark > prev) this.watermarks.set(shard, watermark);
    if (idle !== wasIdle) this.idle.set(shard, idle);
    // An active shard bounds the merged watermark: if nothing pending is older, nothing is due.
    if (this.minPending >= watermark && !idle && !wasIdle) return;
    this.releaseBefore(this.watermark);
  }

  /** The merged watermark: everything older has been released. */
  get watermark(): number {
    let low = Infinity;
    let high = -Infinity;
    let active = false;
    for (const [shard, w] of this.watermarks) {
      if (w > high) high = w;
      if (this.idle.get(shard) !== true) {
        active = true;
        if (w < low) low = w;
      }
    }
    return active ? low : high;
  }

  /** The most advanced shard's watermark: roughly where event time is at the front of the input. */
  get leadingWatermark(): number {
    let high = -Infinity;
    for (const w of this.watermarks.values()) if (w > high) high = w;
    return high;
  }

  /** End of input: release everything. */
  flush(): void {
    this.releaseBefore(Infinity);
  }

  snapshot(): MergeSnapshot {
    return {
      version: 1,
      shards: this.shards.map((shard) => ({
        shard,
        watermark: finite(this.watermarks.get(shard)!),
        idle: this.idle.get(shard) === true,
        seq: this.seqs.get(shard) ?? 0,
      })),
      pending: this.pending.map((p) => ({ shard: p.shard, arrival: p.arrival, item: p.item })),
      partials: [...this.partials].map(([shard, m]) => ({ shard, health: [...m.values()] })),
      releasedTo: finite(this.releasedTo),
      arrival: this.arrival,
      stats: { ...this.stats },
      contextReleased: [...this.contextReleased],
    };
  }

  restore(s: MergeSnapshot): void {
    if (s.version !== 1) throw new Error(`merge snapshot version ${String(s.version)} is not supported`);
    for (const { shard, watermark, idle, seq } of s.shards) {
      if (!this.watermarks.has(shard)) continue;
      this.watermarks.set(shard, watermark ?? -Infinity);
      this.idle.set(shard, idle);
      this.seqs.set(shard, seq);
    }
    this.pending = s.pending.map(({ shard, arrival, item }) => ({
      ts: item.ts,
      rank: isContext(item) ? RANK.context! : RANK[item.type]!,
      key: keyOf(item),
      arrival,
      shard,
      item,
    }));
    this.minPending = this.pending.reduce((m, p) => Math.min(m, p.ts), Infinity);
    this.partials.clear();
    for (const { shard, health } of s.partials) this.partials.set(shard, new Map(health.map((h) => [`${h.service}\u0000${h.stack}`, h])));
    this.releasedTo = s.releasedTo ?? -Infinity;
    this.arrival = s.arrival;
    Object.assign(this.stats, s.stats);
    this.contextReleased.clear();
    for (const [k, ts] of s.contextReleased ?? []) this.contextReleased.set(k, ts);
  }

  private releaseBefore(limit: number): void {
    if (!(this.minPending < limit)) return;
    const ready: Pending[] = [];
    const rest: Pending[] = [];
    let minRest = Infinity;
    for (const p of this.pending) {
      if (p.ts < limit) ready.push(p);
      else {
        rest.push(p);
        if (p.ts < minRest) minRest = p.ts;
      }
    }
    this.pending = rest;
    this.minPending = minRest;
    ready.sort(compare);
    for (let i = 0; i < ready.length; ) {
      const p = ready[i]!;
      // One shard's health is already whole: only several shards' partials need combining.
      if (p.rank === RANK.health && this.shards.length > 1) {
        // All partial health of this minute sits together at the end of its instant.
        let j = i;
        while (j < ready.length && ready[j]!.rank === RANK.health && ready[j]!.ts === p.ts) j++;
        this.releaseHealth(p.ts, ready.slice(i, j));
        i = j;
        continue;
      }
      i++;
      if (isContext(p.item)) {
        if (this.contextReleased.has(p.key)) continue;
        this.contextReleased.set(p.key, p.ts);
        this.stats.released++;
        this.sink.context(p.item);
      } else {
        this.stats.released++;
        this.sink.detection(p.item);
      }
    }
    if (limit > this.releasedTo) this.releasedTo = limit;
    // Remember a day of context: far longer than any shard stays idle before it is noticed.
    for (const [k, ts] of this.contextReleased) if (ts < this.releasedTo - CONTEXT_MEMORY_MS) this.contextReleased.delete(k);
  }

  /** One merged health event per (service, stack) known to any shard, in service/stack order. */
  private releaseHealth(ts: number, parts: Pending[]): void {
    const fresh = new Map<string, StackHealthEvent[]>();
    for (const p of parts) {
      const h = p.item as StackHealthEvent;
      const k = `${h.service}\u0000${h.stack}`;
      let byStack = this.partials.get(p.shard);
      if (byStack === undefined) this.partials.set(p.shard, (byStack = new Map()));
      byStack.set(k, {
        service: h.service,
        stack: h.stack,
        known: h.known,
        episodes: h.inEpisode,
        ...(h.intervalMinutes !== undefined ? { intervalMinutes: h.intervalMinutes } : {}),
      });
      const list = fresh.get(k);
      if (list === undefined) fresh.set(k, [h]);
      else list.push(h);
    }
    const keys = new Map<string, { service: string; stack: string }>();
    for (const byStack of this.partials.values()) for (const [k, v] of byStack) keys.set(k, v);
    const ordered = [...keys].sort(([, a], [, b]) =>
      a.service < b.service ? -1 : a.service > b.service ? 1 : a.stack < b.stack ? -1 : a.stack > b.stack ? 1 : 0,
    );
    for (const [k, { service, stack }] of ordered) {
      const emitted = fresh.get(k) ?? [];
      const scores: Partial<Record<Signal, number>> = {};
      for (const sig of SIGNALS) {
        let worst = -Infinity;
        for (const h of emitted) {
          const v = h.scores[sig];
          if (v !== undefined && v > worst) worst = v;
        }
        if (worst > -Infinity) scores[sig] = worst;
      }
      let saturation: number | null = null;
      let loadSaturation: number | undefined;
      let reporting = 0;
      for (const h of emitted) {
        if (h.saturation !== null && (saturation === null || h.saturation > saturation)) saturation = h.saturation;
        if (h.loadSaturation !== undefined && (loadSaturation === undefined || h.loadSaturation > loadSaturation)) loadSaturation = h.loadSaturation;
        reporting += h.reporting;
      }
      // Known series and episodes: every shard's latest word, whether it spoke this minute or not.
      let known = 0;
      let interval: number | undefined;
      const episodes = new Set<string>();
      for (const byStack of this.partials.values()) {
        const part = byStack.get(k);
        if (part === undefined) continue;
        known += part.known;
        for (const m of part.episodes) episodes.add(m);
        if (part.intervalMinutes !== undefined && !(interval !== undefined && interval >= part.intervalMinutes)) interval = part.intervalMinutes;
      }
      this.stats.released++;
      this.sink.detection({
        type: 'health',
        ts,
        service,
        stack,
        scores,
        saturation,
        ...(loadSaturation !== undefined ? { loadSaturation } : {}),
        inEpisode: [...episodes].sort(),
        reporting,
        known,
        ...(interval !== undefined ? { intervalMinutes: interval } : {}),
      });
    }
  }
}

function keyOf(item: ShardOutput): string {
  if (isContext(item)) return JSON.stringify(item);
  switch (item.type) {
    case 'health':
      return `${item.service}\u0000\u0000${item.stack}`;
    case 'delta':
      return `${item.service}\u0000${item.metric}\u0000`;
    default:
      return `${item.service}\u0000${item.metric}\u0000${item.stack}`;
  }
}

function compare(a: Pending, b: Pending): number {
  if (a.ts !== b.ts) return a.ts - b.ts;
  if (a.rank !== b.rank) return a.rank - b.rank;
  if (a.key !== b.key) return a.key < b.key ? -1 : 1;
  return a.arrival - b.arrival;
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

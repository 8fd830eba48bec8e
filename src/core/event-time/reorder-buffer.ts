/**
 * Event-time reorder buffer with a watermark.
 *
 * The watermark trails the highest timestamp seen by `allowedLatenessMs`. Items are released in
 * timestamp order once the watermark passes them (ties by rank, then arrival order: an optional
 * `rankOf` puts, say, context events before samples of the same instant, so the release order of
 * two sources does not depend on which one happened to arrive first); an item older than the
 * watermark on arrival is late and is handed back to the caller, never silently dropped.
 *
 * In-order input, the common case, takes a FIFO fast path; only out-of-order items pay for the heap.
 */

interface Entry<T> {
  ts: number;
  rank: number;
  seq: number;
  item: T;
}

export class ReorderBuffer<T> {
  private fifo: Entry<T>[] = [];
  private fifoHead = 0;
  private readonly heap: Entry<T>[] = [];
  private maxTs = -Infinity;
  private seq = 0;
  private released = -Infinity;

  /** The watermark set by the source, in external mode. */
  private external = -Infinity;

  /**
   * @param externalWatermark when true the watermark is whatever the source says (see
   *   `raiseWatermark`), not the highest timestamp minus the lateness: a partitioned source
   *   (Kafka) holds it at its slowest partition so a partition that runs ahead cannot make the
   *   others' data late.
   */
  constructor(
    private readonly allowedLatenessMs: number,
    private readonly externalWatermark = false,
    private readonly rankOf: (item: T) => number = () => 0,
  ) {}

  get watermark(): number {
    return this.externalWatermark ? this.external : this.maxTs - this.allowedLatenessMs;
  }

  raiseWatermark(ts: number): void {
    if (ts > this.external) this.external = ts;
  }

  /** Highest event time seen so far (-Infinity before the first item). */
  get maxEventTime(): number {
    return this.maxTs;
  }

  get size(): number {
    return this.fifo.length - this.fifoHead + this.heap.length;
  }

  /**
   * Offer an item. Returns false when it is late (older than what was already released or than
   * the watermark): the caller reports it.
   */
  push(ts: number, item: T): boolean {
    if (ts < this.watermark || ts < this.released) return false;
    const entry: Entry<T> = { ts, rank: this.rankOf(item), seq: this.seq++, item };
    const fifoLen = this.fifo.length;
    if (fifoLen === this.fifoHead || !before(entry, this.fifo[fifoLen - 1]!)) this.fifo.push(entry);
    else heapPush(this.heap, entry);
    if (ts > this.maxTs) this.maxTs = ts;
    return true;
  }

  /** Everything buffered, in release order, plus the clock: a checkpoint. */
  toJSON(): { maxTs: number | null; released: number | null; external?: number | null; items: [number, T][] } {
    const all = [...this.fifo.slice(this.fifoHead), ...this.heap].sort((a, b) => (before(a, b) ? -1 : 1));
    const j: ReturnType<ReorderBuffer<T>['toJSON']> = {
      maxTs: Number.isFinite(this.maxTs) ? this.maxTs : null,
      released: Number.isFinite(this.released) ? this.released : null,
      items: all.map((e) => [e.ts, e.item]),
    };
    // A restored partition must refuse exactly what it refused before the checkpoint.
    if (this.externalWatermark) j.external = Number.isFinite(this.external) ? this.external : null;
    return j;
  }

  static fromJSON<T>(
    allowedLatenessMs: number,
    j: ReturnType<ReorderBuffer<T>['toJSON']>,
    externalWatermark = false,
    rankOf?: (item: T) => number,
  ): ReorderBuffer<T> {
    const b = new ReorderBuffer<T>(allowedLatenessMs, externalWatermark, rankOf);
    for (const [ts, item] of j.items) b.fifo.push({ ts, rank: b.rankOf(item), seq: b.seq++, item });
    b.maxTs = j.maxTs ?? -Infinity;
    b.released = j.released ?? -Infinity;
    b.external = j.external ?? -Infinity;
    return b;
  }

  /**
   * Move the watermark as if an item at `ts` had arrived: a live service calls this with the wall
   * clock when data is quiet, so buffered items do not wait forever for a newer one.
   */
  advance(ts: number): void {
    if (ts > this.maxTs) this.maxTs = ts;
  }

  /** Release, in order, every item at or before the watermark. */
  drain(emit: (item: T, ts: number) => void): void {
    this.drainUntil(this.watermark, emit);
  }

  /** Release everything (end of input). */
  flush(emit: (item: T, ts: number) => void): void {
    this.drainUntil(Infinity, emit);
  }

  private drainUntil(limit: number, emit: (item: T, ts: number) => void): void {
    for (;;) {
      const f = this.fifoHead < this.fifo.length ? this.fifo[this.fifoHead]! : undefined;
      const h = this.heap.length > 0 ? this.heap[0]! : undefined;
      let next: Entry<T> | undefined;
      if (f !== undefined && (h === undefined || before(f, h))) next = f;
      else next = h;
      if (next === undefined || next.ts > limit) break;
      if (next === f) this.fifoHead++;
      else heapPop(this.heap);
      this.released = next.ts;
      emit(next.item, next.ts);
    }
    // Compact the FIFO once its consumed prefix dominates, keeping push amortized O(1).
    if (this.fifoHead > 1024 && this.fifoHead * 2 > this.fifo.length) {
      this.fifo = this.fifo.slice(this.fifoHead);
      this.fifoHead = 0;
    }
  }
}

function before<T>(a: Entry<T>, b: Entry<T>): boolean {
  return a.ts < b.ts || (a.ts === b.ts && (a.rank < b.rank || (a.rank === b.rank && a.seq < b.seq)));
}

function heapPush<T>(heap: Entry<T>[], e: Entry<T>): void {
  heap.push(e);
  let i = heap.length - 1;
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (!before(heap[i]!, heap[p]!)) break;
    [heap[i], heap[p]] = [heap[p]!, heap[i]!];
    i = p;
  }
}

function heapPop<T>(heap: Entry<T>[]): void {
  const last = heap.pop()!;
  if (heap.length === 0) return;
  heap[0] = last;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
    if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
    if (m === i) break;
    [heap[i], heap[m]] = [heap[m]!, heap[i]!];
    i = m;
  }
}

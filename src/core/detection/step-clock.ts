import type { ContextEvent, Sample } from '../../domain/types.js';
import { ReorderBuffer } from '../event-time/reorder-buffer.js';

/** Samples and events share the reorder buffer; only events have a `kind`. */
export type Item = Sample | ContextEvent;
export const isEvent = (item: Item): item is ContextEvent => (item as ContextEvent).kind !== undefined;
/** At one instant a context event goes before samples: a change is in force from its timestamp on. */
const rankOf = (item: Item): number => (isEvent(item) ? 0 : 1);

export type BufferSnapshot = ReturnType<ReorderBuffer<Item>['toJSON']>;

export interface StepHandlers {
  /** An item released in event-time order, inside the step the clock is now in. */
  item(item: Item): void;
  /** Event time left step `step` (the index: event time / step length); called once, in order. */
  close(step: number): void;
}

/**
 * The detection stage's event-time clock: the reorder buffer, and the step (one minute by default)
 * that released items fall into. A step is closed as soon as event time has left it, not only when
 * a later item happens to arrive, so the step's comparisons and health never wait on data: that is
 * what lets several partitions' engines be merged by watermark.
 */
export class StepClock {
  private buffer: ReorderBuffer<Item>;
  /** The step index released items are in; NaN between steps (nothing released since the last close). */
  step = Number.NaN;
  private readonly release = (item: Item, ts: number): void => {
    const step = Math.floor(ts / this.stepMs);
    if (step !== this.step) {
      if (this.step === this.step) this.handlers.close(this.step);
      this.step = step;
    }
    this.handlers.item(item);
  };

  constructor(
    readonly stepMs: number,
    private readonly latenessMs: number,
    /** A partitioned source sets the watermark itself (see ReorderBuffer). */
    private readonly externalWatermark: boolean,
    private readonly handlers: StepHandlers,
  ) {
    this.buffer = new ReorderBuffer<Item>(latenessMs, externalWatermark, rankOf);
  }

  /** Buffers an item and releases what is due; false when it is behind the watermark (late). */
  offer(item: Item): boolean {
    if (!this.buffer.push(item.ts, item)) return false;
    this.drain();
    return true;
  }

  /** End of input: release everything buffered and close the last step. */
  flush(): void {
    this.buffer.flush(this.release);
    this.closeOpenStep();
  }

  /** Everything emitted later has `ts` at or after this (see DetectionEngine.watermark). */
  get watermark(): number {
    return this.buffer.watermark;
  }

  /** The newest event time seen (-Infinity before any). */
  get maxEventTime(): number {
    return this.buffer.maxEventTime;
  }

  /** External-watermark mode: the source's watermark moved; release what is due. */
  setWatermark(ts: number): void {
    this.buffer.raiseWatermark(ts);
    this.drain();
  }

  /** Advance event time without data (see ReorderBuffer.advance) and release what is due. */
  advanceTo(ts: number): void {
    this.buffer.advance(ts);
    this.drain();
  }

  toJSON(): BufferSnapshot {
    return this.buffer.toJSON();
  }

  restore(buffer: BufferSnapshot, step: number): void {
    this.buffer = ReorderBuffer.fromJSON<Item>(this.latenessMs, buffer, this.externalWatermark, rankOf);
    this.step = step;
  }

  private drain(): void {
    this.buffer.drain(this.release);
    if (this.step === this.step && this.buffer.watermark >= (this.step + 1) * this.stepMs) this.closeOpenStep();
  }

  private closeOpenStep(): void {
    if (this.step === this.step) this.handlers.close(this.step);
    this.step = Number.NaN;
  }
}

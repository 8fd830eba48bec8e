import { SIGNALS, type Signal, type StackHealthEvent } from '../../domain/types.js';
import { round4 } from '../math/round.js';
import { MS_PER_MIN } from '../time-units.js';

/** Per (service, stack), accumulated over the current step for the `health` event. */
export interface StackHealthAcc {
  service: string;
  stack: string;
  /** Worst score per signal (in SIGNALS order) this step. */
  worst: Float64Array;
  saturation: number;
  /** The same over the gates of resources that follow the load (see followsLoad). */
  loadSaturation: number;
  /** Series that reported this step, of the `known` ones. */
  reporting: number;
  known: number;
  /** Metrics of the stack in an anomaly episode. */
  episodes: Set<string>;
  /** End of the last step the stack reported in (NaN before any), and the typical minutes between such steps. */
  lastReportTs: number;
  intervalMinutes: number;
}

export type HealthAccJSON = {
  service: string;
  stack: string;
  worst: number[];
  saturation: number;
  /** Absent in older checkpoints. */
  loadSaturation?: number;
  reporting: number;
  episodes: string[];
  /** Absent in older checkpoints. */
  lastReportTs?: number;
  intervalMinutes?: number;
}[];

/**
 * Weight of one new gap in the learned reporting interval: a scrape interval changed from 1 to 5
 * minutes is learned within a few reports, one late scrape barely moves it.
 */
const INTERVAL_GAIN = 0.2;
/** A gap longer than this is an outage, not the stack's pace. */
const MAX_INTERVAL_MINUTES = 60;

/**
 * The health of every stack, accumulated step by step: the worst score per signal, the highest
 * saturation, how many series reported, which metrics are in an episode. Closing a step yields
 * one `health` event per stack and service, in service-then-stack order whatever the arrival order.
 */
export class HealthBoard {
  private readonly byService = new Map<string, Map<string, StackHealthAcc>>();
  /** The accumulators sorted by service then stack. */
  private order: StackHealthAcc[] = [];

  /** The accumulator of one stack of one service, created on first use. */
  acc(service: string, stack: string): StackHealthAcc {
    let byStack = this.byService.get(service);
    if (byStack === undefined) this.byService.set(service, (byStack = new Map()));
    let acc = byStack.get(stack);
    if (acc === undefined) {
      acc = {
        service,
        stack,
        worst: new Float64Array(SIGNALS.length).fill(-Infinity),
        saturation: -Infinity,
        loadSaturation: -Infinity,
        reporting: 0,
        known: 0,
        episodes: new Set(),
        lastReportTs: Number.NaN,
        intervalMinutes: 1,
      };
      byStack.set(stack, acc);
      this.order.push(acc);
      this.order.sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : a.stack < b.stack ? -1 : a.stack > b.stack ? 1 : 0));
    }
    return acc;
  }

  /** Close the step ending at `ts`: one event per stack and service, then reset for the next step. */
  close(ts: number, emit: (e: StackHealthEvent) => void): void {
    for (const acc of this.order) {
      const scores: Partial<Record<Signal, number>> = {};
      SIGNALS.forEach((sig, i) => {
        if (acc.worst[i]! > -Infinity) scores[sig] = round4(acc.worst[i]!);
      });
      if (acc.reporting > 0) {
        if (acc.lastReportTs === acc.lastReportTs && ts > acc.lastReportTs) {
          const gap = Math.min(MAX_INTERVAL_MINUTES, (ts - acc.lastReportTs) / MS_PER_MIN);
          acc.intervalMinutes += INTERVAL_GAIN * (gap - acc.intervalMinutes);
        }
        acc.lastReportTs = ts;
      }
      emit({
        type: 'health',
        ts,
        service: acc.service,
        stack: acc.stack,
        scores,
        saturation: acc.saturation > -Infinity ? round4(acc.saturation) : null,
        ...(acc.loadSaturation > -Infinity ? { loadSaturation: round4(acc.loadSaturation) } : {}),
        inEpisode: [...acc.episodes].sort(),
        reporting: acc.reporting,
        known: acc.known,
        intervalMinutes: Math.round(acc.intervalMinutes * 10) / 10,
      });
      acc.worst.fill(-Infinity);
      acc.saturation = -Infinity;
      acc.loadSaturation = -Infinity;
      acc.reporting = 0;
    }
  }

  clear(): void {
    this.byService.clear();
    this.order = [];
  }

  /** The current step's accumulators, so a mid-step checkpoint resumes exactly. */
  toJSON(): HealthAccJSON {
    return this.order.map((a) => ({
      service: a.service,
      stack: a.stack,
      worst: Array.from(a.worst),
      saturation: a.saturation,
      loadSaturation: a.loadSaturation,
      reporting: a.reporting,
      episodes: [...a.episodes],
      lastReportTs: a.lastReportTs,
      intervalMinutes: a.intervalMinutes,
    }));
  }

  restore(list: HealthAccJSON): void {
    for (const h of list) {
      const acc = this.acc(h.service, h.stack);
      acc.worst.set(h.worst);
      acc.saturation = h.saturation;
      acc.loadSaturation = h.loadSaturation ?? -Infinity;
      acc.reporting = h.reporting;
      acc.episodes = new Set(h.episodes);
      acc.lastReportTs = h.lastReportTs ?? Number.NaN;
      acc.intervalMinutes = h.intervalMinutes ?? 1;
    }
  }
}

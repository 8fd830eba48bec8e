import type { ContextEvent, EventKind, Signal } from '../../domain/types.js';

/**
 * Periods whose behaviour is explained by a known context event (performance test, campaign,
 * chaos experiment, maintenance, traffic moved onto a cold stack). The baseline does not learn
 * from them, so a load test does not teach it that 400 ms is normal.
 */

/** How long an event explains behaviour when it carries no `endTs`. */
export const DEFAULT_EXPLAIN_MINUTES: Readonly<Partial<Record<EventKind, number>>> = {
  perf_test: 60,
  campaign: 240,
  chaos: 30,
  maintenance: 60,
  traffic_shift: 15,
};

/** When an event begins: its `startTs` when it was announced ahead, else its `ts`. */
export function eventStart(event: ContextEvent): number {
  return event.startTs ?? event.ts;
}

/** When an event stops explaining behaviour: its `endTs`, or its kind's default duration. */
export function explainEnd(event: ContextEvent, minutes: Readonly<Partial<Record<EventKind, number>>> = DEFAULT_EXPLAIN_MINUTES): number {
  return event.endTs ?? eventStart(event) + (minutes[event.kind] ?? 60) * 60_000;
}

/**
 * Signals an event kind does not explain: a load test's synthetic requests load the stack (latency,
 * capacity, the errors load brings) but buy nothing, so what real users order goes on as the day
 * goes. Held out of learning for the length of a test, a business baseline stays where the day was
 * when the test began: kit seed 4242, a 90-minute test on a morning 7 % below the day before on
 * every stack, left the tested stack's orders 4σ under an expectation its peers had long since
 * lowered, and traffic was moved off it as the test ended.
 */
const UNEXPLAINED: Readonly<Partial<Record<EventKind, Signal>>> = { perf_test: 'business' };

export interface Window {
  kind: EventKind;
  id: string;
  stack: string | undefined;
  service: string | undefined;
  start: number;
  end: number;
  /** The one signal this window explains, when it is not all of them (see ContextState.apply). */
  only?: Signal;
}

export class ExplainedWindows {
  private windows: Window[] = [];

  constructor(private readonly explainMinutes: Readonly<Partial<Record<EventKind, number>>> = DEFAULT_EXPLAIN_MINUTES) {}

  /**
   * `stacks` narrows a traffic shift to the stacks it touched; `only` narrows the window to one
   * signal.
   */
  add(event: ContextEvent, stacks?: readonly string[], only?: Signal): void {
    const minutes = this.explainMinutes[event.kind];
    if (minutes === undefined) return;
    const end = explainEnd(event, this.explainMinutes);
    const targets = stacks ?? [event.stack];
    for (const stack of targets) {
      // A campaign announced hours ahead explains nothing until it begins.
      this.windows.push({
        kind: event.kind,
        id: event.id,
        stack,
        service: event.service,
        start: eventStart(event),
        end,
        ...(only !== undefined ? { only } : {}),
      });
    }
  }

  toJSON(): Window[] {
    return this.windows;
  }

  static fromJSON(windows: Window[]): ExplainedWindows {
    const e = new ExplainedWindows();
    e.windows = windows.slice();
    return e;
  }

  /**
   * The event of one of `kinds` aimed at this very stack (not a global one) that covers (stack,
   * service) at `ts`, every signal of it, or undefined. A window narrowed to one signal (the business
   * of a stack that lost traffic) is no such event: read as one, a stack that gave up some of a
   * share it had just taken counted as warming up, and the thin-spread scorer set its error rates'
   * peer comparison aside for the window. Read-only.
   */
  aimedAt(stack: string, service: string, ts: number, kinds: ReadonlySet<EventKind>): Window | undefined {
    for (const w of this.windows) {
      if (w.stack === stack && w.only === undefined && kinds.has(w.kind) && w.start <= ts && ts <= w.end && (w.service === undefined || w.service === service))
        return w;
    }
    return undefined;
  }

  /**
   * The first event explaining (stack, service) at `ts` (for `signal`, when given: see UNEXPLAINED),
   * or undefined. Expired windows are dropped.
   */
  explaining(stack: string, service: string, ts: number, signal?: Signal): Window | undefined {
    if (this.windows.length === 0) return undefined;
    let found: Window | undefined;
    let expired = false;
    for (const w of this.windows) {
      if (w.end < ts) {
        expired = true;
        continue;
      }
      if (
        found === undefined &&
        w.start <= ts &&
        (w.stack === undefined || w.stack === stack) &&
        (w.service === undefined || w.service === service) &&
        (signal === undefined ? w.only === undefined : UNEXPLAINED[w.kind] !== signal && (w.only === undefined || w.only === signal))
      )
        found = w;
    }
    // Windows only expire as event time moves forward, so pruning here is safe.
    if (expired) this.windows = this.windows.filter((w) => w.end >= ts);
    return found;
  }
}

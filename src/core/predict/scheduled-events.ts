import type { ContextEvent, EventKind } from '../../domain/types.js';
import { eventStart, explainEnd } from '../context/explained-windows.js';

/**
 * Scheduled events (campaigns, sales, launches announced ahead with the traffic they should bring):
 * which are known, and which are due for a look-ahead. A context event is one when it carries
 * `attributes.expectedTrafficMultiplier`; it begins at `startTs` (or `ts`) and ends at `endTs` (or
 * its kind's default duration, as for explaining it).
 */
export interface ScheduledEvent {
  id: string;
  kind: EventKind;
  /** Absent: every stack (a global campaign); present: only this stack's traffic is multiplied. */
  stack?: string;
  service?: string;
  announcedAt: number;
  startTs: number;
  endTs: number;
  multiplier: number;
}

export function scheduledEventOf(e: ContextEvent): ScheduledEvent | undefined {
  const m = e.attributes['expectedTrafficMultiplier'];
  if (typeof m !== 'number' || !Number.isFinite(m) || m <= 0) return undefined;
  const s: ScheduledEvent = { id: e.id, kind: e.kind, announcedAt: e.ts, startTs: eventStart(e), endTs: explainEnd(e), multiplier: m };
  if (e.stack !== undefined) s.stack = e.stack;
  if (e.service !== undefined) s.service = e.service;
  return s;
}

interface Entry {
  event: ScheduledEvent;
  /** Looked at (a recommendation made, or none needed): not again unless re-announced differently. */
  decided: boolean;
}

export class ScheduledEvents {
  private entries = new Map<string, Entry>();

  /** A re-announcement with other times or multiplier is looked at again; the same one is not. */
  add(e: ScheduledEvent): void {
    const prev = this.entries.get(e.id)?.event;
    const same = prev !== undefined && prev.startTs === e.startTs && prev.endTs === e.endTs && prev.multiplier === e.multiplier && prev.stack === e.stack;
    if (!same) this.entries.set(e.id, { event: e, decided: false });
  }

  /**
   * Events to look at now: `leadMs` or less before they begin and not over. One announced later
   * than that is looked at as soon as it arrives, even once it has begun: a late forecast still
   * beats the reactive workflow, which reads the event's load as explained.
   */
  due(now: number, leadMs: number): ScheduledEvent[] {
    const out: ScheduledEvent[] = [];
    for (const [id, en] of this.entries) {
      if (en.event.endTs < now) {
        this.entries.delete(id);
        continue;
      }
      if (!en.decided && now >= en.event.startTs - leadMs) {
        en.decided = true;
        out.push(en.event);
      }
    }
    return out.sort((a, b) => a.startTs - b.startTs || (a.id < b.id ? -1 : 1));
  }

  toJSON(): Entry[] {
    return [...this.entries.values()];
  }

  restore(list: readonly Entry[]): void {
    this.entries = new Map(list.map((e) => [e.event.id, structuredClone(e)]));
  }
}

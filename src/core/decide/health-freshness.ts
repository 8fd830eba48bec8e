import type { StackHealthEvent } from '../../domain/types.js';
import { MS_PER_MIN } from '../time-units.js';

/**
 * Whether a stack's latest health is recent enough to judge it by: within `staleAfterMinutes`, or
 * within two of the stack's own reporting intervals when it reports more slowly. A five-minute
 * scrape is not stale four minutes after its last point; it is once a report is missed.
 */
export function healthIsFresh(h: StackHealthEvent | undefined, now: number, staleAfterMinutes: number): h is StackHealthEvent {
  if (h === undefined) return false;
  const slow = 2 * (h.intervalMinutes ?? 1);
  return now - h.ts <= (slow > staleAfterMinutes ? slow : staleAfterMinutes) * MS_PER_MIN;
}

/** "HH:MM" (UTC) of an event time, as evidence and messages quote it. */
export function hhmm(ts: number): string {
  return new Date(ts).toISOString().slice(11, 16);
}

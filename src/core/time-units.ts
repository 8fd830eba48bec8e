/** Milliseconds per minute, hour and day: event time is epoch milliseconds everywhere in the core. */
export const MS_PER_MIN = 60_000;
export const MS_PER_HOUR = 3_600_000;
export const MS_PER_DAY = 86_400_000;

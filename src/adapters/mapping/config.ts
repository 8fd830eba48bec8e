import { z } from 'zod';
import { SIGNALS } from '../../domain/types.js';

const signal = z.enum(SIGNALS);

/** A regular expression the mapping can compile (checked when the configuration is read). */
export function isRegExp(s: string): boolean {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}

/** How a labelled series (remote_write, PromQL results, alerts) becomes a Harbinger series. */
export const labelMappingSchema = z.strictObject({
  stackLabel: z.string().default('stack'),
  serviceLabel: z.string().default('service'),
  signalLabel: z.string().default('signal'),
  /** Service when the series has no service label. */
  defaultService: z.string().default('default'),
  /** Which metric names to take and their signal; the first matching rule wins. */
  metrics: z
    .array(
      z.strictObject({
        /** Regular expression on the metric name (`__name__`). */
        match: z.string().min(1).refine(isRegExp, 'not a valid regular expression'),
        signal,
        /** Metric name inside Harbinger; default: the original name. */
        rename: z.string().optional(),
      }),
    )
    .default([]),
});

export type LabelMapping = z.infer<typeof labelMappingSchema>;

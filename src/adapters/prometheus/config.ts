import { z } from 'zod';
import { SIGNALS } from '../../domain/types.js';

const signal = z.enum(SIGNALS);

/** The Prometheus poller: PromQL queries polled at a step, each mapped onto a signal and metric. */
export const prometheusConfigSchema = z.strictObject({
  url: z.string().url(),
  stepSeconds: z.number().positive().default(15),
  timeoutSeconds: z.number().positive().default(5),
  retries: z.number().int().min(0).default(3),
  /** First retry after this long, doubling each time, never longer than half of `stepSeconds`. */
  backoffMillis: z.number().int().positive().default(250),
  /**
   * At a fresh start (no checkpoint), learn the baselines from this much of Prometheus' history
   * (query_range over the same queries at the same step) before serving, so a new deployment is
   * not blind for its first day. 0: off. 192 (8 days) fills a weekly season.
   */
  warmStartHours: z.number().nonnegative().default(0),
  queries: z
    .array(
      z.strictObject({
        query: z.string().min(1),
        signal,
        metric: z.string().min(1),
        stackLabel: z.string().default('stack'),
        serviceLabel: z.string().default('service'),
        /** Service when the result has no service label. */
        service: z.string().optional(),
      }),
    )
    .min(1),
});

export type PrometheusConfig = z.infer<typeof prometheusConfigSchema>;

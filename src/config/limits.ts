import { z } from 'zod';

/**
 * Bounds on what one Harbinger instance keeps, so no input can grow it without limit (as
 * Prometheus bounds samples and labels per scrape). Each refusal is counted
 * (harbinger_records_rejected_total{reason="limit"}, harbinger_incidents_refused_total) and says
 * which limit it hit.
 */
export const limitsConfigSchema = z
  .strictObject({
    /** Active series per detection engine (the in-process pipeline, or each Kafka shard); past it, samples of new series are refused. */
    maxSeries: z.number().int().positive().default(100_000),
    /** Open incidents; past it, no new incident opens (the evidence is counted as refused). */
    maxOpenIncidents: z.number().int().positive().default(2_000),
    /** Context events kept for correlation (at most 24 h of them); past it, the oldest go first. */
    maxContextEvents: z.number().int().positive().default(20_000),
    /** One remote-write request may carry at most this many series and samples (Prometheus sends a few thousand). */
    remoteWriteMaxSeries: z.number().int().positive().default(100_000),
    remoteWriteMaxSamples: z.number().int().positive().default(1_000_000),
  })
  .strict();

export type LimitsConfig = z.infer<typeof limitsConfigSchema>;

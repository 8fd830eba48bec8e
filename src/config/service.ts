import { z } from 'zod';
import { SIGNALS } from '../domain/types.js';

/**
 * Configuration of `harbinger serve`: the HTTP server, how external series and alerts map onto
 * Harbinger's signal/metric/stack/service, and the Prometheus poller. Secrets never live here:
 * they come from the environment or from files (see secrets.ts).
 */

const signal = z.enum(SIGNALS);

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

export const serverConfigSchema = z.strictObject({
  port: z.number().int().min(0).max(65535).default(8080),
  /** Listen address; default 0.0.0.0 with an API token, 127.0.0.1 without one. */
  host: z.string().optional(),
  dataDir: z.string().default('.harbinger'),
  bodyLimitBytes: z.number().int().positive().default(1_048_576),
  /** remote_write bodies are snappy-compressed: the decompressed size is capped separately. */
  maxDecompressedBytes: z
    .number()
    .int()
    .positive()
    .default(32 * 1_048_576),
  /**
   * Connection limits, set explicitly rather than left to Node's defaults: the whole request
   * headers within `headersTimeoutSeconds` (slowloris), the whole request within
   * `requestTimeoutSeconds`, idle keep-alive connections closed after `keepAliveTimeoutSeconds`
   * (above the usual 60 s of load balancers, so they close first), at most `maxConnections` open.
   */
  headersTimeoutSeconds: z.number().positive().default(10),
  requestTimeoutSeconds: z.number().positive().default(60),
  keepAliveTimeoutSeconds: z.number().positive().default(65),
  maxConnections: z.number().int().positive().default(1024),
  checkpointIntervalSeconds: z.number().positive().default(30),
  /** A live service moves event time with the wall clock when data is quiet... */
  wallClockWatermark: z.boolean().default(true),
  /**
   * ...for this long; and refuses data stamped more than `maxClockSkewSeconds` ahead of this
   * server's clock (never more than half of detection.eventTime.allowedLatenessSeconds: a sample
   * further ahead would move the watermark past data arriving on time from every other source).
   */
  idleSeconds: z.number().positive().default(30),
  maxClockSkewSeconds: z.number().nonnegative().default(60),
  /** Listen on a non-loopback address without an API token. Off: Harbinger refuses to start. */
  allowUnauthenticated: z.boolean().default(false),
  tickSeconds: z.number().positive().default(5),
  /** Print each recommendation on the console (structured log) besides the JSONL feed. */
  consoleFeed: z.boolean().default(true),
  /**
   * The learned confidence model: a folder with model.json, weights.bin and selection.json (hot
   * reloaded); 'formula' keeps the hand-written formula. Default: the shipped models/confidence.
   */
  confidenceModel: z.string().default('shipped'),
});

export const prometheusConfigSchema = z.strictObject({
  url: z.string().url(),
  stepSeconds: z.number().positive().default(15),
  timeoutSeconds: z.number().positive().default(5),
  retries: z.number().int().min(0).default(3),
  /** First retry after this long, doubling each time. */
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

export type ServerConfig = z.infer<typeof serverConfigSchema>;
export type LabelMapping = z.infer<typeof labelMappingSchema>;
export type PrometheusConfig = z.infer<typeof prometheusConfigSchema>;

/** Which routing controller executes approved actions, and how to reach it. */
export const routingConfigSchema = z
  .strictObject({
    controller: z.enum(['dry-run', 'webhook', 'haproxy']).default('dry-run'),
    webhook: z
      .strictObject({
        url: z.string().url(),
        timeoutSeconds: z.number().positive().default(5),
        retries: z.number().int().min(0).default(3),
      })
      .optional(),
    haproxy: z
      .strictObject({
        /** HAProxy's stats socket with `level admin`. */
        socketPath: z.string().min(1),
        backend: z.string().min(1),
        /** Harbinger stack → HAProxy server name in that backend. */
        servers: z.record(z.string(), z.string()),
      })
      .optional(),
  })
  .superRefine((r, ctx) => {
    if (r.controller === 'webhook' && r.webhook === undefined)
      ctx.addIssue({ code: 'custom', path: ['webhook'], message: "required when controller is 'webhook'" });
    if (r.controller === 'haproxy' && r.haproxy === undefined)
      ctx.addIssue({ code: 'custom', path: ['haproxy'], message: "required when controller is 'haproxy'" });
  });

/** Slack feed. Secrets (SLACK_BOT_TOKEN, SLACK_WEBHOOK_URL, SLACK_SIGNING_SECRET) come from the environment. */
export const slackConfigSchema = z.strictObject({
  /** Defaults to `bot` when SLACK_BOT_TOKEN is set, `webhook` when only SLACK_WEBHOOK_URL is. */
  mode: z.enum(['bot', 'webhook']).optional(),
  channel: z.string().optional(),
  /** Slack's API base URL (tests and proxies). */
  baseUrl: z.string().url().default('https://slack.com'),
  /** Also post `none` recommendations (explained, global) for visibility. */
  includeInformational: z.boolean().default(false),
  /**
   * Slack user ids (U…) whose Approve/Reject clicks count; a click from anyone else changes
   * nothing. Unset: anyone in the channel can decide (serve warns about it at start).
   */
  approvers: z.array(z.string().min(1)).min(1).optional(),
});

export type RoutingConfig = z.infer<typeof routingConfigSchema>;
export type SlackConfig = z.infer<typeof slackConfigSchema>;

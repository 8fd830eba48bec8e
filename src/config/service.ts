import { z } from 'zod';

/**
 * Configuration of `harbinger serve`'s HTTP server and state directory. Each adapter's own
 * section (mapping, prometheus, routing, slack, kafka) lives beside the adapter, in its config.ts.
 * Secrets never live here: they come from the environment or from files (see secrets.ts).
 */

const MiB = 1_048_576;

/**
 * Size-based rotation of one ever-growing file (src/adapters/file/rotated-files.ts): when the next
 * line would take it past `maxFileBytes` (0: never) it is renamed `<name>.000001`, `.000002`, ...
 * (higher is newer) and a new file begins; `keepFiles` rotated files are kept, 'all' deletes none.
 */
const rotationSchema = (keepFiles: number | 'all') =>
  z.strictObject({
    maxFileBytes: z
      .number()
      .int()
      .nonnegative()
      .default(64 * MiB),
    keepFiles: z.union([z.number().int().positive(), z.literal('all')]).default(keepFiles),
  });

/**
 * The files `serve` appends to forever. The audit log keeps every rotated file unless told
 * otherwise (deleting audit history is an explicit choice, and recorded in the chain); the
 * training log too (its lines are the labels `harbinger train --data` learns from); the
 * recommendations feed, a copy of what the audit log and the API hold, keeps 5.
 */
const logsSchema = z.strictObject({
  audit: rotationSchema('all').prefault({}),
  feed: rotationSchema(5).prefault({}),
  trainingLog: rotationSchema('all').prefault({}),
});

export const serverConfigSchema = z.strictObject({
  port: z.number().int().min(0).max(65535).default(8080),
  /** Listen address; default 0.0.0.0 with an API token, 127.0.0.1 without one. */
  host: z.string().optional(),
  dataDir: z.string().default('.harbinger'),
  /** Rotation of audit.jsonl, recommendations.jsonl and training-log.jsonl in the data directory. */
  logs: logsSchema.prefault({}),
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
  /**
   * gzip level of the state checkpoint (0: plain JSON lines). Level 1 takes a series with daily and
   * weekly seasons from ~4.1 KB to ~1.3 KB for ~35 µs of CPU (`npm run bench`); either form is read back.
   */
  checkpointGzipLevel: z.number().int().min(0).max(9).default(1),
  /** A live service moves event time with the wall clock when data is quiet... */
  wallClockWatermark: z.boolean().default(true),
  /**
   * ...for this long; and refuses data stamped more than `maxClockSkewSeconds` ahead of this
   * server's clock (never more than half of detection.eventTime.allowedLatenessSeconds: a sample
   * further ahead would move the watermark past data arriving on time from every other source).
   */
  idleSeconds: z.number().positive().default(30),
  maxClockSkewSeconds: z.number().nonnegative().default(60),
  /**
   * SIGTERM/SIGINT: the final checkpoint and flushes get this long, then the process exits anyway
   * (an orchestrator's grace period, Kubernetes' 30 s by default, should be longer). Nothing
   * acknowledged is lost if it is cut short: the write-ahead log holds it.
   */
  shutdownTimeoutSeconds: z.number().positive().default(25),
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

export type ServerConfig = z.infer<typeof serverConfigSchema>;

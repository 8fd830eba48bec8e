import type { HarbingerConfig } from '../config/load.js';
import type { ContextEvent, Sample } from '../domain/types.js';
import type { AlertTrigger } from '../domain/decision.js';
import { HttpError } from '../adapters/http/http-error.js';
import type { ServiceMetrics } from '../adapters/http/metrics.js';
import type { Logger } from '../adapters/log/logger.js';
import type { LabelMapper } from '../adapters/mapping/label-mapper.js';
import { toTriggers, type AlertmanagerPayload } from '../adapters/alertmanager/webhook.js';
import type { WriteRequest } from '../adapters/remote-write/write-request.js';
import { samplesOfWriteRequest } from '../adapters/remote-write/write-request-samples.js';
import type { IngestResult, Kept, Runtime } from './runtime/runtime.js';
import type { PersistenceHealth } from './persistence-health.js';

export type AlertResult = { accepted: number; duplicates: number; unmapped: { fingerprint: string; reason: string }[] };

/**
 * The service's intake at the edge, where the wall clock is known and the answer can still say
 * what was not kept: samples and events (HTTP, remote_write, the poller, health checks) and
 * Alertmanager's alerts, counted on /metrics by source and reason. What cannot be kept is not
 * acknowledged: the sender keeps it and retries on the 503.
 */
export class EdgeIntake {
  constructor(
    private readonly cfg: HarbingerConfig,
    private readonly runtime: Runtime,
    private readonly health: PersistenceHealth,
    private readonly metrics: ServiceMetrics,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  async ingest(samples: Sample[], events: ContextEvent[], source: string): Promise<IngestResult> {
    const problem = this.health.problem;
    if (problem !== undefined) {
      this.metrics.rejected.inc({ source, reason: 'unpersisted' }, samples.length + events.length);
      throw new HttpError(503, `not accepting data: ${problem}`);
    }
    // One sample from the future would move the watermark there and make all real data late: at
    // the edge, where the wall clock is known, anything further ahead than the skew allowance (at
    // most half the allowed lateness, so it can never push on-time data behind the watermark) is refused.
    let future: IngestResult['future'];
    if (this.cfg.server.wallClockWatermark) {
      const skewMs = Math.min(this.cfg.server.maxClockSkewSeconds, this.cfg.detection.eventTime.allowedLatenessSeconds / 2) * 1000;
      const limit = this.now() + skewMs;
      const count = samples.filter((s) => s.ts > limit).length + events.filter((e) => e.ts > limit).length;
      if (count > 0) {
        this.metrics.rejected.inc({ source, reason: 'future' }, count);
        samples = samples.filter((s) => s.ts <= limit);
        events = events.filter((e) => e.ts <= limit);
        future = { count, limit: new Date(limit).toISOString() };
      }
    }
    // Samples of series past limits.maxSeries are refused here, where the answer can say so, and
    // not logged: what is not kept is not acknowledged.
    let limited: IngestResult['limited'];
    const room = this.runtime.withinSeriesLimit?.(samples);
    if (room !== undefined && room.refused > 0) {
      this.metrics.rejected.inc({ source, reason: 'limit' }, room.refused);
      samples = room.kept;
      limited = { count: room.refused, limit: room.limit, reason: `${room.limit} series are kept (limits.maxSeries): samples of new series are refused` };
    }
    let kept: Kept;
    try {
      kept = await this.runtime.ingest(samples, events);
    } catch (err) {
      // On Kafka the data must reach the broker; embedded, the write-ahead log (a full disk stops it).
      const message = (err as Error).message;
      const kafka = this.runtime.kind === 'kafka';
      this.metrics.rejected.inc({ source, reason: kafka ? 'kafka' : 'unpersisted' }, samples.length + events.length);
      if (kafka) {
        this.log.error({ err: message, samples: samples.length, events: events.length }, 'kafka: forwarding to the input topics failed');
        throw new HttpError(503, `could not forward to Kafka: ${message}`);
      }
      this.health.failed('wal', `the write-ahead log cannot be written: ${message}`);
      this.log.error({ err: message }, 'write-ahead log append failed; not accepting data until the data directory is writable again');
      throw new HttpError(503, `not accepting data: the write-ahead log cannot be written: ${message}`);
    }
    if (kept.samples > 0) this.metrics.samplesReceived.inc({ source }, kept.samples);
    if (kept.events > 0) this.metrics.eventsReceived.inc({ source }, kept.events);
    if (kept.late > 0) this.metrics.rejected.inc({ source, reason: 'late' }, kept.late);
    return {
      accepted: kept.samples + kept.events,
      late: kept.late,
      ...(future !== undefined ? { future } : {}),
      ...(limited !== undefined ? { limited } : {}),
    };
  }

  /** A remote-write request: the series the mapping asks for, as samples in time order; the rest counted by reason. */
  async remoteWrite(req: WriteRequest, mapper: LabelMapper): Promise<{ accepted: number; skipped: Record<string, number> }> {
    const { samples, skipped } = samplesOfWriteRequest(req, mapper);
    // Unmapped series are expected (Prometheus sends everything): answered, not counted as rejected.
    for (const [reason, n] of Object.entries(skipped)) if (reason !== 'unmapped') this.metrics.rejected.inc({ source: 'remote_write', reason }, n);
    const { accepted } = await this.ingest(samples, [], 'remote_write');
    return { accepted, skipped };
  }

  /** Alertmanager's alerts as ITR triggers, at `now` (event time for what comes from outside the data). */
  alerts(p: AlertmanagerPayload, now: number): AlertResult {
    const { triggers, unmapped } = toTriggers(p, this.cfg.mapping);
    let accepted = 0;
    let duplicates = 0;
    for (const t of triggers) {
      const r = this.runtime.alert(t, alertTime(t, now));
      this.metrics.alerts.inc({ status: t.status, result: r });
      if (r === 'duplicate') duplicates++;
      else if (r === 'limited')
        unmapped.push({
          fingerprint: t.fingerprint,
          reason: `limit: ${this.cfg.limits.maxOpenIncidents} incidents open (limits.maxOpenIncidents): no new incident opened`,
        });
      else accepted++;
    }
    if (unmapped.length > 0) this.metrics.alerts.inc({ status: 'unknown', result: 'unmapped' }, unmapped.length);
    return { accepted, duplicates, unmapped };
  }
}

/** An alert counts from when it started (resolved: ended), never before event time now. */
function alertTime(t: AlertTrigger, now: number): number {
  return Math.max(now, t.status === 'resolved' ? (t.endsAt ?? now) : t.startsAt);
}

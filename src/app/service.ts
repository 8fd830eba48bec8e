import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { gateCoverage, type GateCoverage } from '../core/detection/gate-coverage.js';
import { withActionsReachingData } from '../config/decision.js';
import { HttpError } from '../adapters/http/http-error.js';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HarbingerConfig } from '../config/load.js';
import type { ContextEvent, Sample } from '../domain/types.js';
import type { DecisionEvent, DecisionResult, Recommendation } from '../domain/decision.js';
import { Pipeline, type PipelineOutput } from '../pipeline/pipeline.js';
import type { DetectionSnapshot } from '../core/detection/detection-engine.js';
import type { DecisionSnapshot } from '../core/decide/decision-engine.js';
import type { MergeSnapshot } from '../core/merge/detection-merge.js';
import { ServiceMetrics } from '../adapters/http/metrics.js';
import { createHttpServer, type HttpPort } from '../adapters/http/server.js';
import { FileAuditLog } from '../adapters/file/audit-log.js';
import { FileStateStore } from '../adapters/state/file-state-store.js';
import { LabelMapper } from '../adapters/mapping/label-mapper.js';
import { PrometheusPoller } from '../adapters/prometheus/poller.js';
import { toTriggers, type AlertmanagerPayload } from '../adapters/alertmanager/webhook.js';
import { isStaleMarker, type WriteRequest } from '../adapters/remote-write/write-request.js';
import type { RoutingController } from '../adapters/routing/routing-controller.js';
import { createRoutingController } from './routing-factory.js';
import { SlackFeed } from '../adapters/slack/slack-feed.js';
import { KafkaRunner } from '../adapters/kafka/kafka-runner.js';
import { formulaConfidence } from '../core/decide/confidence.js';
import type { ModelWatcher } from '../model/load.js';
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../adapters/log/logger.js';
import { auditKind } from '../report/audit-kind.js';
import { reasonCode } from '../adapters/http/reason-code.js';

type IngestResult = { accepted: number; late: number };
type AlertResult = { accepted: number; duplicates: number; unmapped: { fingerprint: string; reason: string }[] };

interface Checkpoint {
  version: 1;
  savedAt: number;
  detection: DetectionSnapshot;
  /** Absent in checkpoints written before the merge stage existed. */
  merge?: MergeSnapshot;
  decision: DecisionSnapshot;
}

export interface ServiceOptions {
  config: HarbingerConfig;
  log: Logger;
  apiToken: string | undefined;
  /** Slack secrets (from SLACK_BOT_TOKEN, SLACK_WEBHOOK_URL, SLACK_SIGNING_SECRET). */
  slack?: { botToken?: string; webhookUrl?: string; signingSecret?: string };
  routing?: RoutingController;
  /** The wall clock, injectable for tests. */
  now?: () => number;
}

/**
 * The composition root of `harbinger serve`: the pipeline in the middle, adapters around it
 * (HTTP ingest and API, remote_write, Alertmanager, Prometheus poller, JSONL feed, audit log,
 * checkpoints, routing controller). The only place that reads the wall clock.
 */
/** New metrics are checked against the SLO gates this often (warned about once each). */
const GATE_REPORT_INTERVAL_MS = 60_000;
/** Metrics remembered as warned about; past it, the log says each new one again rather than grow. */
const MAX_GATE_WARNINGS = 10_000;

export class HarbingerService implements HttpPort {
  readonly metrics = new ServiceMetrics();
  readonly pipeline: Pipeline;
  private readonly log: Logger;
  private readonly cfg: HarbingerConfig;
  private readonly now: () => number;
  private readonly mapper: LabelMapper;
  private readonly store: FileStateStore<Checkpoint>;
  private readonly audit: FileAuditLog;
  private readonly feed: WriteStream;
  private readonly routing: RoutingController;
  private readonly slack: SlackFeed | undefined;
  private kafka: KafkaRunner | undefined;
  private modelWatcher: ModelWatcher | undefined;
  private server: Server | undefined;
  private poller: PrometheusPoller | undefined;
  private timers: NodeJS.Timeout[] = [];
  private started = false;
  private restoredFrom: string = 'nothing (fresh start)';

  constructor(opts: ServiceOptions) {
    // Behind the dry-run controller nothing moves: the data cannot validate an action.
    this.cfg = opts.config.routing.controller === 'dry-run' ? withActionsReachingData(opts.config, false) : opts.config;
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    const dir = this.cfg.server.dataDir;
    mkdirSync(dir, { recursive: true });
    this.mapper = new LabelMapper(this.cfg.mapping);
    this.store = new FileStateStore<Checkpoint>(join(dir, 'state.json'));
    this.audit = new FileAuditLog(join(dir, 'audit.jsonl'));
    this.feed = createWriteStream(join(dir, 'recommendations.jsonl'), { flags: 'a' });
    this.routing = opts.routing ?? createRoutingController(this.cfg.routing, this.log);
    this.slack = this.createSlackFeed(opts.slack ?? {});
    // With Kafka, detection runs per partition in the runner and this pipeline's decision engine
    // is the decider's (while this instance holds it); its output goes out through the runner,
    // which acts on a decision once and publishes it.
    this.pipeline = new Pipeline(this.cfg, {
      output: (e) => {
        if (this.kafka === undefined) this.onOutput(e);
        else if (e.type === 'recommendation' || e.type === 'outcome' || e.type === 'incident') this.kafka.collect(e);
      },
      rejected: (_r, reason) => this.metrics.rejected.inc({ source: 'pipeline', reason: reasonCode(reason) }),
    });
    this.apiToken = opts.apiToken;
    if (this.cfg.kafka === undefined) this.restore();
  }

  private readonly apiToken: string | undefined;

  /** Listen and start the timers; resolves with the bound address. */
  async start(): Promise<{ host: string; port: number }> {
    const host = this.cfg.server.host ?? (this.apiToken === undefined ? '127.0.0.1' : '0.0.0.0');
    if (this.apiToken === undefined) {
      const loopback = host === '127.0.0.1' || host === '::1' || host === 'localhost';
      if (!loopback && !this.cfg.server.allowUnauthenticated)
        throw new Error(`refusing to listen on ${host} without HARBINGER_API_TOKEN (set the token, or server.allowUnauthenticated: true)`);
      this.log.warn(
        { host },
        loopback
          ? 'no HARBINGER_API_TOKEN: authentication is off, listening on loopback only'
          : 'no HARBINGER_API_TOKEN and server.allowUnauthenticated: authentication is OFF on a non-loopback address',
      );
    }
    this.server = createHttpServer(
      this,
      { token: this.apiToken, bodyLimitBytes: this.cfg.server.bodyLimitBytes, maxDecompressedBytes: this.cfg.server.maxDecompressedBytes },
      this.metrics,
      this.log,
    );
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.cfg.server.port, host, () => resolve());
    });
    const addr = this.server.address() as AddressInfo;
    if (this.cfg.prometheus !== undefined) {
      this.poller = new PrometheusPoller(
        this.cfg.prometheus,
        (samples) => void Promise.resolve(this.ingest(samples, [], 'prometheus')).catch(() => undefined /* logged and counted in forward() */),
        this.log,
        (secs, failed) => {
          this.metrics.pollDuration.observe(secs);
          if (failed > 0) this.metrics.pollErrors.inc(failed);
        },
      );
      this.poller.start();
    }
    this.slack?.start();
    await this.loadConfidenceModel();
    if (this.cfg.kafka !== undefined) {
      this.kafka = new KafkaRunner(this.cfg.kafka, this.cfg.detection, this.pipeline.decision, this.log, {
        onDecision: (e) => this.onDecision(e),
        onRejected: (_r, reason) => this.metrics.rejected.inc({ source: 'kafka', reason: reasonCode(reason) }),
        now: this.now,
      });
      await this.kafka.start();
      this.restoredFrom = 'the Kafka state topic (or fresh)';
    }
    this.timers.push(setInterval(() => this.tick(), this.cfg.server.tickSeconds * 1000));
    this.timers.push(setInterval(() => this.checkpoint(), this.cfg.server.checkpointIntervalSeconds * 1000));
    this.timers.push(setInterval(() => this.warnAboutGates(), GATE_REPORT_INTERVAL_MS));
    this.warnAboutGates();
    for (const t of this.timers) t.unref();
    this.started = true;
    this.log.info(
      {
        host: addr.address,
        port: addr.port,
        dataDir: this.cfg.server.dataDir,
        restoredFrom: this.restoredFrom,
        routing: this.routing.name,
        prometheus: this.cfg.prometheus?.url ?? null,
        slack: this.slack === undefined ? 'off' : 'on',
      },
      'harbinger serving',
    );
    return { host: addr.address, port: addr.port };
  }

  /** Graceful stop: no new requests, timers off, state checkpointed, feed flushed. */
  async stop(): Promise<void> {
    this.started = false;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.poller?.stop();
    this.modelWatcher?.close();
    await this.kafka?.stop();
    if (this.server !== undefined) {
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
      this.server.closeAllConnections?.();
    }
    this.checkpoint();
    await this.slack?.stop(5000);
    await new Promise<void>((resolve) => this.feed.end(() => resolve()));
    this.log.info('harbinger stopped; state checkpointed');
  }

  // ---- HttpPort -------------------------------------------------------------------------------

  ingest(samples: Sample[], events: ContextEvent[], source: string): IngestResult | Promise<IngestResult> {
    let accepted = 0;
    let late = 0;
    // One sample from the far future would move event time there and make all real data late:
    // at the edge, where the wall clock is known, anything more than a few minutes ahead is refused.
    if (this.cfg.server.wallClockWatermark) {
      const limit = this.now() + this.cfg.server.maxClockSkewSeconds * 1000;
      const future = samples.filter((s) => s.ts > limit).length + events.filter((e) => e.ts > limit).length;
      if (future > 0) {
        this.metrics.rejected.inc({ source, reason: 'future' }, future);
        samples = samples.filter((s) => s.ts <= limit);
        events = events.filter((e) => e.ts <= limit);
      }
    }
    if (this.kafka !== undefined) return this.forward(this.kafka, samples, events, source);
    for (const e of events) {
      if (this.pipeline.offerEvent(e)) {
        accepted++;
        this.metrics.eventsReceived.inc({ source });
      } else late++;
    }
    let acceptedSamples = 0;
    for (const s of samples) {
      if (this.pipeline.offerSample(s)) acceptedSamples++;
      else late++;
    }
    accepted += acceptedSamples;
    if (samples.length + events.length > 0) this.lastIngest = this.now();
    if (acceptedSamples > 0) this.metrics.samplesReceived.inc({ source }, acceptedSamples);
    if (late > 0) this.metrics.rejected.inc({ source, reason: 'late' }, late);
    return { accepted, late };
  }

  /**
   * On Kafka every sample must reach the partition that owns its series: forwarded there, and
   * answered only once the broker has it (a failure is a 503, so the sender retries).
   */
  private async forward(kafka: KafkaRunner, samples: Sample[], events: ContextEvent[], source: string): Promise<IngestResult> {
    try {
      await kafka.produce(samples, events);
    } catch (err) {
      this.metrics.rejected.inc({ source, reason: 'kafka' }, samples.length + events.length);
      this.log.error({ err: (err as Error).message, samples: samples.length, events: events.length }, 'kafka: forwarding to the input topics failed');
      throw new HttpError(503, `could not forward to Kafka: ${(err as Error).message}`);
    }
    if (samples.length + events.length > 0) this.lastIngest = this.now();
    if (samples.length > 0) this.metrics.samplesReceived.inc({ source }, samples.length);
    if (events.length > 0) this.metrics.eventsReceived.inc({ source }, events.length);
    return { accepted: samples.length + events.length, late: 0 };
  }

  async remoteWrite(req: WriteRequest): Promise<{ accepted: number; skipped: Record<string, number> }> {
    const samples: Sample[] = [];
    const skipped: Record<string, number> = {};
    const skip = (reason: string, n: number): void => {
      skipped[reason] = (skipped[reason] ?? 0) + n;
      this.metrics.rejected.inc({ source: 'remote_write', reason }, n);
    };
    for (const ts of req.timeseries) {
      const labels: Record<string, string> = {};
      for (const l of ts.labels) labels[l.name] = l.value;
      const m = this.mapper.map(labels);
      if (!m.ok) {
        // Series the mapping does not ask for are expected (Prometheus sends everything): not an error.
        skipped['unmapped'] = (skipped['unmapped'] ?? 0) + ts.samples.length;
        continue;
      }
      for (const s of ts.samples) {
        // A stale marker ends a series in Prometheus: here it is simply no data (a gap).
        if (isStaleMarker(s.value)) skip('stale_marker', 1);
        else if (!Number.isFinite(s.value)) skip('non_finite', 1);
        else samples.push({ ts: s.timestamp, signal: m.signal, metric: m.metric, stack: m.stack, service: m.service, value: s.value });
      }
    }
    samples.sort((a, b) => a.ts - b.ts);
    const { accepted } = await this.ingest(samples, [], 'remote_write');
    return { accepted, skipped };
  }

  alertmanager(p: AlertmanagerPayload): AlertResult | Promise<AlertResult> {
    if (this.kafka === undefined) return this.applyAlerts(p);
    const kafka = this.kafka;
    // Only the decider holds incidents; a 503 makes Alertmanager retry (through the Service, another replica).
    if (!kafka.decides()) throw new HttpError(503, 'this instance does not hold the decider right now; Alertmanager will retry');
    return kafka.exclusive(() => this.applyAlerts(p));
  }

  private applyAlerts(p: AlertmanagerPayload): AlertResult {
    const { triggers, unmapped } = toTriggers(p, this.cfg.mapping);
    let accepted = 0;
    let duplicates = 0;
    const now = this.clock();
    for (const t of triggers) {
      const r = this.pipeline.decision.onAlert(t, Math.max(now, t.status === 'resolved' ? (t.endsAt ?? now) : t.startsAt));
      this.metrics.alerts.inc({ status: t.status, result: r });
      if (r === 'duplicate') duplicates++;
      else accepted++;
    }
    if (unmapped.length > 0) this.metrics.alerts.inc({ status: 'unknown', result: 'unmapped' }, unmapped.length);
    return { accepted, duplicates, unmapped };
  }

  gates(): GateCoverage {
    return gateCoverage(this.kafka !== undefined ? this.kafka.series() : this.pipeline.detection.series());
  }

  /** Warn once per metric and kind (met no gate, or its normal is past its gate): at start and as metrics appear. */
  private warnAboutGates(): void {
    const fresh = this.gates().warnings.filter((w) => !this.gateWarnings.has(`${w.kind} ${w.metric}`));
    for (const w of fresh) if (this.gateWarnings.size < MAX_GATE_WARNINGS) this.gateWarnings.add(`${w.kind} ${w.metric}`);
    for (const w of fresh) this.log.warn({ metric: w.metric, kind: w.kind }, w.message);
  }

  private readonly gateWarnings = new Set<string>();

  incidents(): ReturnType<HttpPort['incidents']> {
    return this.pipeline.decision.incidents();
  }

  recommendations(): Recommendation[] {
    return this.pipeline.decision.allRecommendations();
  }

  decide(id: string, verdict: 'approve' | 'reject', by: string): DecisionResult | Promise<DecisionResult> {
    const apply = (): DecisionResult => {
      const ts = this.clock();
      return verdict === 'approve' ? this.pipeline.decision.approve(id, by, ts) : this.pipeline.decision.reject(id, by, ts);
    };
    if (this.kafka === undefined) return apply();
    const kafka = this.kafka;
    if (!kafka.decides())
      return {
        ok: false,
        code: 'not_decider',
        reason: 'this instance does not hold the decider (the detections partition) right now; send the decision to the instance that does',
      };
    return kafka.exclusive(apply).then((r) => {
      // Checkpoint at once: a take-over must not forget a human's decision.
      if (r.ok) kafka.checkpointDecider().catch((err: Error) => this.log.error({ err: err.message }, 'kafka: decider checkpoint after a decision failed'));
      return r;
    });
  }

  /**
   * Slack's interactivity endpoint: verify the signature on the raw body, acknowledge at once
   * (Slack wants an answer within 3 seconds), and apply the decision right after.
   */
  async slackInteraction(req: IncomingMessage, body: Buffer): Promise<{ status: number; body: unknown }> {
    if (this.slack === undefined)
      return { status: 404, body: { error: 'Slack is not configured (set SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL, and SLACK_SIGNING_SECRET)' } };
    const r = this.slack.handleInteraction({ headers: req.headers, rawBody: body, nowSeconds: Math.floor(this.now() / 1000) });
    if (r.decision !== undefined) {
      const d = r.decision;
      setImmediate(() => {
        Promise.resolve(this.decide(d.recommendationId, d.verdict, d.userId)).then(
          (res) => this.log.info({ recommendation: d.recommendationId, verdict: d.verdict, user: d.userId, result: res.reason }, 'decision from Slack'),
          (err: Error) => this.log.error({ recommendation: d.recommendationId, err: err.message }, 'decision from Slack failed'),
        );
      });
    }
    return { status: r.status, body: r.body };
  }

  /** Liveness: false only when this process cannot recover by itself and should be restarted. */
  live(): { live: boolean; reason: string } {
    return this.kafka?.failure !== undefined ? { live: false, reason: `kafka consumer stopped: ${this.kafka.failure}` } : { live: true, reason: 'ok' };
  }

  ready(): { ready: boolean; reason: string } {
    if (!this.started) return { ready: false, reason: 'starting' };
    const l = this.live();
    if (!l.live) return { ready: false, reason: l.reason };
    if (this.poller !== undefined && this.poller.lastSuccess === 0) return { ready: false, reason: 'no successful Prometheus poll yet' };
    return { ready: true, reason: `state restored from ${this.restoredFrom}` };
  }

  // ---- internals ------------------------------------------------------------------------------

  /** Event time for actions that come from outside the data (approvals, alerts, ticks). */
  private clock(): number {
    return this.cfg.server.wallClockWatermark ? this.now() : this.pipeline.decision.currentTime();
  }

  private tick(): void {
    const now = this.now();
    // Only a quiet source lets the wall clock move event time: while data flows (a backlog, a
    // remote_write WAL replay), event time is the data's own.
    // On Kafka, event time is the partitions' own (idle ones are handled by the runner), and the
    // decision engine belongs to the decider: the wall clock drives neither.
    if (this.cfg.kafka === undefined && this.cfg.server.wallClockWatermark && now - this.lastIngest >= this.cfg.server.idleSeconds * 1000) {
      this.pipeline.advanceTo(now - this.cfg.detection.eventTime.allowedLatenessSeconds * 1000);
      this.pipeline.decision.onTick(now);
    }
    const stats = this.pipeline.stats();
    this.metrics.series.set(stats.series);
    this.metrics.incidentsOpen.set(this.pipeline.decision.incidents().filter((i) => i.status !== 'resolved').length);
    const maxTs = this.pipeline.detection.maxEventTime();
    if (Number.isFinite(maxTs)) this.metrics.eventTimeLag.set((now - maxTs) / 1000);
    if (Number.isFinite(stats.watermark)) this.metrics.watermarkLag.set((now - stats.watermark) / 1000);
    if (this.slack !== undefined) this.metrics.slackOutbox.set(this.slack.queueDepth());
    if (this.kafka !== undefined) this.updateKafkaMetrics(this.kafka);
  }

  private onOutput(e: PipelineOutput): void {
    if (e.type !== 'recommendation' && e.type !== 'outcome' && e.type !== 'incident') return;
    this.onDecision(e);
  }

  private onDecision(e: DecisionEvent): void {
    // The audit entry is on disk before anything acts on the decision.
    this.audit.append(e.ts, auditKind(e), e.type === 'outcome' && e.by !== undefined ? e.by : 'harbinger', e);
    this.feed.write(`${JSON.stringify(e)}\n`);
    this.slack?.onDecision(e);
    if (e.type === 'recommendation') {
      this.metrics.recommendations.inc({ action: e.action, status: e.status });
      if (this.cfg.server.consoleFeed)
        this.log.info(
          {
            recommendation: e.id,
            incident: e.incidentId,
            stack: e.stack,
            action: e.action,
            percent: e.percent,
            status: e.status,
            confidence: e.confidence,
            blockedBy: e.blockedBy,
          },
          e.reason,
        );
      if (e.status === 'executed') void this.execute(e);
    } else if (e.type === 'outcome') {
      this.metrics.outcomes.inc({ outcome: e.outcome });
      this.recordForTraining(e);
    }
  }

  /**
   * The learned confidence model, when its selection says it beat the formula on held-out data;
   * hot-reloaded when the files change. Any failure keeps the formula: confidence never goes dark.
   */
  private async loadConfidenceModel(): Promise<void> {
    const setting = this.cfg.server.confidenceModel;
    const formula = formulaConfidence({ warnScore: this.cfg.detection.threshold.warnScore, horizonMinutes: this.cfg.detection.prediction.horizonMinutes });
    const showFormula = (): void => {
      this.metrics.confidenceModel.reset();
      this.metrics.confidenceModel.set({ source: 'formula', version: 'formula', backend: 'none' }, 1);
    };
    showFormula();
    if (setting === 'formula') return;
    try {
      // Imported lazily: TensorFlow.js loads only when a learned model is wanted.
      const { initBackend } = await import('../model/backend.js');
      const { loadConfidenceModel, shippedModelDir, watchConfidenceModel } = await import('../model/load.js');
      const dir = setting === 'shipped' ? shippedModelDir() : setting;
      const backend = await initBackend();
      const use = (m: Awaited<ReturnType<typeof loadConfidenceModel>>): void => {
        if (m === undefined) {
          this.pipeline.decision.setConfidenceModel(formula);
          showFormula();
          this.log.info({ dir }, 'confidence: the formula (no learned model selected)');
          return;
        }
        this.pipeline.decision.setConfidenceModel(m.model);
        this.metrics.confidenceModel.reset();
        this.metrics.confidenceModel.set({ source: 'learned', version: m.version, backend }, 1);
        this.log.info({ dir, version: m.version, backend }, 'confidence: learned model loaded');
      };
      const initial = await loadConfidenceModel(dir, { onSkip: (reason) => this.log.info({ dir, reason }, 'confidence: learned model not used') });
      use(initial);
      this.modelWatcher = watchConfidenceModel(dir, use, {
        initial: initial ?? null,
        onError: (e) => this.log.warn({ err: (e as Error).message }, 'confidence: reload failed, keeping the current model'),
      });
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'confidence: learned model unavailable, using the formula');
    }
  }

  private createSlackFeed(secrets: { botToken?: string; webhookUrl?: string; signingSecret?: string }): SlackFeed | undefined {
    if (secrets.botToken === undefined && secrets.webhookUrl === undefined) return undefined;
    const mode = this.cfg.slack.mode ?? (secrets.botToken !== undefined ? 'bot' : 'webhook');
    return new SlackFeed({
      config: {
        mode,
        baseUrl: this.cfg.slack.baseUrl,
        includeInformational: this.cfg.slack.includeInformational,
        outboxPath: join(this.cfg.server.dataDir, 'slack-outbox.jsonl'),
        ...(this.cfg.slack.channel !== undefined ? { channel: this.cfg.slack.channel } : {}),
      },
      secrets,
      logger: this.log,
      onSent: (i) => this.metrics.slackMessages.inc({ kind: i.kind, result: 'sent' }),
      onFailed: (i) => this.metrics.slackMessages.inc({ kind: i.kind, result: 'failed' }),
      onRetry: (i) => this.metrics.slackMessages.inc({ kind: i.kind, result: 'retried' }),
    });
  }

  /** Operator decisions and validations become labels for the next `harbinger train --data`. */
  private recordForTraining(o: Extract<DecisionEvent, { type: 'outcome' }>): void {
    if (!['approved', 'rejected', 'effective', 'ineffective'].includes(o.outcome)) return;
    const rec = this.pipeline.decision.getRecommendation(o.recommendationId);
    if (rec === undefined) return;
    import('../model/training-log.js')
      .then(({ appendTrainingLog, trainingLogEntryFromOutcome }) => {
        const entry = trainingLogEntryFromOutcome(rec, o);
        if (entry !== undefined) appendTrainingLog(join(this.cfg.server.dataDir, 'training-log.jsonl'), entry);
      })
      .catch((err: Error) => this.log.warn({ err: err.message }, 'training log not written'));
  }

  private async execute(rec: Recommendation): Promise<void> {
    try {
      const r: { ok: boolean; detail: string; weights?: Record<string, number> } = await this.routing.apply(rec);
      this.audit.append(rec.ts, r.ok ? 'execution.applied' : 'execution.failed', this.routing.name, {
        recommendationId: rec.id,
        detail: r.detail,
        ...(r.weights !== undefined ? { weights: r.weights } : {}),
      });
      if (!r.ok) {
        this.log.error({ recommendation: rec.id, controller: this.routing.name, detail: r.detail }, 'routing controller did not apply the action');
        this.pipeline.decision.onExecutionResult(rec.id, false, r.detail, this.clock());
      }
      // The traffic split changed: the pipeline must know, or business metrics per traffic share
      // and the cold-cache rule would judge the next minutes against the old split.
      if (r.ok && r.weights !== undefined) {
        const shift: ContextEvent = {
          ts: Math.max(rec.ts, this.pipeline.detection.maxEventTime()),
          kind: 'traffic_shift',
          id: `${rec.id}-applied`,
          service: rec.service,
          attributes: { weights: r.weights, recommendationId: rec.id },
        };
        if (this.kafka === undefined) this.pipeline.offerEvent(shift);
        else
          this.kafka
            .announce(shift)
            .catch((err: Error) =>
              this.log.error(
                { recommendation: rec.id, err: err.message },
                'kafka: announcing the applied traffic split failed; shards judge business metrics by the old split until the next one',
              ),
            );
      }
    } catch (err) {
      this.audit.append(rec.ts, 'execution.failed', this.routing.name, { recommendationId: rec.id, detail: (err as Error).message });
      this.log.error({ recommendation: rec.id, err: (err as Error).message }, 'routing controller failed');
      this.pipeline.decision.onExecutionResult(rec.id, false, (err as Error).message, this.clock());
    }
  }

  private kafkaSeen = { rebalances: 0, deadLetters: 0, messages: 0, suppressed: 0 };
  private lastIngest = 0;

  private updateKafkaMetrics(k: KafkaRunner): void {
    const st = k.stats;
    this.metrics.kafkaRebalances.inc(st.rebalances - this.kafkaSeen.rebalances);
    this.metrics.kafkaDeadLetters.inc(st.deadLetters - this.kafkaSeen.deadLetters);
    this.metrics.kafkaMessages.inc(st.messages - this.kafkaSeen.messages);
    this.metrics.kafkaSuppressed.inc(st.suppressed - this.kafkaSeen.suppressed);
    this.kafkaSeen = { rebalances: st.rebalances, deadLetters: st.deadLetters, messages: st.messages, suppressed: st.suppressed };
    this.metrics.kafkaAssigned.set(st.assignedPartitions);
    this.metrics.kafkaDecider.set(st.deciderActive ? 1 : 0);
    if (st.deciderWatermark !== null) this.metrics.kafkaDeciderWatermark.set(st.deciderWatermark / 1000);
    k.lag().then(
      (lags) => {
        for (const l of lags) this.metrics.kafkaLag.set({ topic: l.topic, partition: String(l.partition) }, l.lag);
      },
      (e: Error) => this.log.debug({ err: e.message }, 'kafka lag not available'),
    );
  }

  kafkaStats(): KafkaRunner['stats'] | undefined {
    return this.kafka?.stats;
  }

  private checkpoint(): void {
    if (this.cfg.kafka !== undefined) return; // the Kafka runner checkpoints to its state topic
    const t = performance.now();
    try {
      this.store.save({ version: 1, savedAt: this.now(), ...this.pipeline.snapshot() });
      this.metrics.checkpointDuration.observe((performance.now() - t) / 1000);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'checkpoint failed; the previous one is intact');
    }
  }

  private restore(): void {
    let cp: Checkpoint | undefined;
    try {
      cp = this.store.load();
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'state checkpoint unreadable: starting fresh (the file is left for inspection)');
      return;
    }
    if (cp === undefined) return;
    this.pipeline.restore(cp);
    this.restoredFrom = `checkpoint of ${new Date(cp.savedAt).toISOString()}`;
  }
}

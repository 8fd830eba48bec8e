import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gateCoverage, type GateCoverage } from '../core/detection/gate-coverage.js';
import { withActionsReachingData } from '../config/decision.js';
import type { HarbingerConfig } from '../config/load.js';
import type { KafkaConfig } from '../adapters/kafka/config.js';
import type { ContextEvent, Sample } from '../domain/types.js';
import type { DecisionEvent, DecisionResult, Recommendation } from '../domain/decision.js';
import type { IncidentView } from '../core/incident/incident-trail.js';
import { HttpError } from '../adapters/http/http-error.js';
import { ServiceMetrics } from '../adapters/http/metrics.js';
import { createHttpServer, type HttpPort, type RolloutAnswer } from '../adapters/http/server.js';
import type { ApiToken, Role } from '../adapters/http/auth.js';
import { reasonCode } from '../adapters/http/reason-code.js';
import { FileAuditLog } from '../adapters/file/audit-log.js';
import { FileStateStore } from '../adapters/state/file-state-store.js';
import { harbingerVersion } from './version.js';
import type { ChainHead } from '../core/audit/hash-chain.js';
import { LabelMapper } from '../adapters/mapping/label-mapper.js';
import { PrometheusPoller } from '../adapters/prometheus/poller.js';
import { HealthProber } from '../adapters/health-checks/prober.js';
import { toTriggers, type AlertmanagerPayload } from '../adapters/alertmanager/webhook.js';
import { isStaleMarker, type WriteRequest } from '../adapters/remote-write/write-request.js';
import type { RoutingController } from '../adapters/routing/routing-controller.js';
import type { SlackFeed } from '../adapters/slack/slack-feed.js';
import type { Logger } from '../adapters/log/logger.js';
import type { ModelWatcher } from '../model/load.js';
import { createRoutingController } from './routing-factory.js';
import { loadConfidenceModel } from './confidence-model.js';
import { createSlackFeed } from './slack-factory.js';
import { warmStart } from './warm-start.js';
import { SlackApprovers } from '../adapters/slack/approvers.js';
import { userGroupMembers } from '../adapters/slack/slack-client.js';
import { RolloutGatePort } from './rollout-gate-port.js';
import type { IngestResult, Kept, Runtime } from './runtime/runtime.js';
import { EmbeddedRuntime } from './runtime/embedded-runtime.js';
import { KafkaRuntime } from './runtime/kafka-runtime.js';
import type { DecisionSink } from './sinks/decision-sink.js';
import { DecisionDelivery } from './decision-delivery.js';
import { PersistenceHealth } from './persistence-health.js';
import { auditSink } from './sinks/audit-sink.js';
import { feedSink } from './sinks/feed-sink.js';
import { metricsSink } from './sinks/metrics-sink.js';
import { routingSink } from './sinks/routing-sink.js';
import { trainingLogSink } from './sinks/training-log-sink.js';

type AlertResult = { accepted: number; duplicates: number; unmapped: { fingerprint: string; reason: string }[] };

export interface ServiceOptions {
  config: HarbingerConfig;
  log: Logger;
  apiToken: string | undefined;
  /** Slack secrets (from SLACK_BOT_TOKEN, SLACK_WEBHOOK_URL, SLACK_SIGNING_SECRET). */
  slack?: { botToken?: string; webhookUrl?: string; signingSecret?: string };
  routing?: RoutingController;
  /** HMAC key for the audit log (HARBINGER_AUDIT_KEY): entries are authenticated with it. */
  auditKey?: string;
  /**
   * Tokens limited to one role, beside the API token (which may do everything): ingest
   * (HARBINGER_INGEST_TOKEN: samples, events, remote_write, Alertmanager), read
   * (HARBINGER_READ_TOKEN), approve (HARBINGER_APPROVER_TOKEN: approve/reject, and read).
   */
  roleTokens?: { ingest?: string; read?: string; approve?: string };
  /** The wall clock, injectable for tests. */
  now?: () => number;
  /** What POST /-/reload does (serve's SIGHUP reload); absent: the endpoint answers 404. */
  onReload?: () => void;
  /** HARBINGER_GITHUB_WEBHOOK_SECRET: turns on POST /v1/hooks/github (deliveries signed with it). */
  githubWebhookSecret?: string;
}

/** The audit head as a checkpoint holds it, and the oldest executed action whose controller had not answered then. */
type CheckpointedHead = ChainHead & { unansweredFrom?: number };

/** New metrics are checked against the SLO gates this often (warned about once each). */
const GATE_REPORT_INTERVAL_MS = 60_000;
/** Metrics remembered as warned about; past it, the log says each new one again rather than grow. */
const MAX_GATE_WARNINGS = 10_000;

/**
 * The composition root of `harbinger serve`: a runtime (the pipeline in this process, or on Kafka)
 * in the middle; the HTTP port, remote_write, Alertmanager and the Prometheus poller in front of
 * it; the decision sinks (audit log, JSONL feed, Slack, routing controller, training log,
 * metrics) behind it. The only place that reads the wall clock.
 */
export class HarbingerService implements HttpPort {
  readonly metrics = new ServiceMetrics();
  readonly runtime: Runtime;
  private readonly log: Logger;
  private readonly cfg: HarbingerConfig;
  private readonly now: () => number;
  private readonly onReload: (() => void) | undefined;
  private readonly githubWebhookSecret: string | undefined;
  private readonly tokens: ApiToken[];
  private readonly mapper: LabelMapper;
  private readonly audit: FileAuditLog;
  private readonly routing: RoutingController;
  private readonly slack: SlackFeed | undefined;
  /** Who may click Approve/Reject in Slack (slack.approvers), or undefined: anyone in the channel. */
  private readonly approvers: SlackApprovers | undefined;
  private readonly delivery: DecisionDelivery;
  private readonly routingSink: ReturnType<typeof routingSink>;
  private readonly gateWarnings = new Set<string>();
  private readonly gate: RolloutGatePort;
  private readonly auditHead: FileStateStore<CheckpointedHead>;
  /** Why state or the audit log cannot be written now (undefined: they can). Ingest and readiness fail closed on it. */
  private readonly health: PersistenceHealth;
  private lastAnnouncedHead = -1;
  private refusedSeen = 0;
  private evictedSeen = 0;
  private modelWatcher: ModelWatcher | undefined;
  private server: Server | undefined;
  private poller: PrometheusPoller | undefined;
  private prober: HealthProber | undefined;
  private timers: NodeJS.Timeout[] = [];
  private started = false;

  constructor(opts: ServiceOptions) {
    // Behind the dry-run controller nothing moves: the data cannot validate an action.
    this.cfg = opts.config.routing.controller === 'dry-run' ? withActionsReachingData(opts.config, false) : opts.config;
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    this.onReload = opts.onReload;
    this.githubWebhookSecret = opts.githubWebhookSecret;
    this.metrics.buildInfo.set({ version: harbingerVersion(), nodejs_version: process.version }, 1);
    this.tokens = [
      ...(opts.apiToken !== undefined ? [{ token: opts.apiToken, roles: ['ingest', 'read', 'approve', 'admin'] as Role[] }] : []),
      ...(opts.roleTokens?.ingest !== undefined ? [{ token: opts.roleTokens.ingest, roles: ['ingest'] as Role[] }] : []),
      ...(opts.roleTokens?.read !== undefined ? [{ token: opts.roleTokens.read, roles: ['read'] as Role[] }] : []),
      ...(opts.roleTokens?.approve !== undefined ? [{ token: opts.roleTokens.approve, roles: ['approve', 'read'] as Role[] }] : []),
    ];
    const dir = this.cfg.server.dataDir;
    mkdirSync(dir, { recursive: true });
    this.mapper = new LabelMapper(this.cfg.mapping);
    // The audit log is verified against its checkpointed head before anything is appended: an
    // edited, rewritten or truncated log stops the service (fail closed); a torn tail is repaired.
    this.health = new PersistenceHealth(this.metrics, this.log);
    this.auditHead = new FileStateStore<CheckpointedHead>(join(dir, 'audit.head.json'));
    const saved = this.auditHead.load();
    const anchor = saved === undefined ? undefined : { seq: saved.seq, hash: saved.hash };
    this.audit = new FileAuditLog(join(dir, 'audit.jsonl'), {
      ...(opts.auditKey !== undefined ? { key: opts.auditKey } : {}),
      ...(anchor !== undefined ? { anchor } : {}),
      // An action executed before that checkpoint whose controller had not answered: from its entry on.
      ...(saved?.unansweredFrom !== undefined ? { sinceSeq: saved.unansweredFrom - 1 } : {}),
      now: this.now,
      rotation: this.cfg.server.logs.audit,
    });
    if (this.audit.opened.repaired !== undefined) this.log.warn(this.audit.opened.repaired, 'audit log: a torn last line was cut off (recorded in the log)');
    if (this.audit.opened.unauthenticated !== undefined)
      this.log.warn(
        { entries: this.audit.opened.unauthenticated },
        'audit log has keyed entries but HARBINGER_AUDIT_KEY is not set: their authenticity was not checked',
      );
    this.routing = opts.routing ?? createRoutingController(this.cfg.routing, this.log, dir, this.metrics.delivery);
    this.slack = createSlackFeed(this.cfg, opts.slack ?? {}, this.metrics, this.log);
    const botToken = opts.slack?.botToken;
    this.approvers =
      this.cfg.slack.approvers === undefined
        ? undefined
        : new SlackApprovers(
            this.cfg.slack.approvers,
            botToken !== undefined ? userGroupMembers({ token: botToken, baseUrl: this.cfg.slack.baseUrl }) : undefined,
            this.now,
          );
    const hooks = {
      onDecision: (e: DecisionEvent, replayed: boolean) => this.delivery.deliver(e, replayed),
      onRejected: (reason: string) => this.metrics.rejected.inc({ source: this.cfg.kafka !== undefined ? 'kafka' : 'pipeline', reason: reasonCode(reason) }),
    };
    const kafka = this.cfg.kafka;
    this.runtime =
      kafka !== undefined
        ? new KafkaRuntime({ ...this.cfg, kafka } as HarbingerConfig & { kafka: KafkaConfig }, this.log, hooks, this.now)
        : new EmbeddedRuntime(this.cfg, this.log, hooks, this.now);
    this.gate = new RolloutGatePort(this.cfg, () => this.runtime, this.audit, this.log, this.now);
    this.routingSink = routingSink(
      this.routing,
      this.audit,
      () => this.runtime,
      () => this.clock(),
      this.log,
    );
    // In order: the audit entry is on disk before anything acts on the decision.
    const sinks: DecisionSink[] = [
      auditSink(this.audit),
      feedSink(join(dir, 'recommendations.jsonl'), this.cfg.server.logs.feed),
      ...(this.slack !== undefined ? [{ name: 'slack', decision: (e: DecisionEvent) => this.slack!.onDecision(e) }] : []),
      metricsSink(this.metrics, this.log, this.cfg.server.consoleFeed),
      this.routingSink,
      trainingLogSink(dir, (id) => this.runtime.decision.getRecommendation(id), this.log, this.cfg.server.logs.trainingLog),
    ];
    this.delivery = new DecisionDelivery(sinks, this.audit.opened.since, this.health, this.log, (id, reason) =>
      this.runtime.executionFailed(id, reason, this.clock()),
    );
    this.recover();
  }

  /**
   * After a crash: the runtime applies what was acknowledged after its checkpoint. Decisions it
   * makes again that the audit log already holds were delivered before the crash and are not
   * delivered twice; an executed action whose controller call left no trace in the audit log is
   * sent again, under the same idempotency key (the recommendation id).
   */
  private recover(): void {
    this.runtime.recover();
    for (const rec of this.delivery.unansweredExecutions((id) => this.runtime.decision.getRecommendation(id))) {
      this.log.warn(
        { recommendation: rec.id },
        'an executed action had no recorded controller answer before the restart: sending it again (same idempotency key)',
      );
      void this.routingSink.execute(rec);
    }
  }

  /** Listen and start the timers; resolves with the bound address. */
  async start(): Promise<{ host: string; port: number }> {
    // A bot token Slack refuses is found now, not at the first incident (its messages would all fail).
    const slackProblem = await this.slack?.verify();
    if (slackProblem !== undefined) throw new Error(`slack: ${slackProblem}`);
    this.metrics.exportOnly({
      slack: this.slack !== undefined,
      kafka: this.cfg.kafka !== undefined,
      prometheus: this.cfg.prometheus !== undefined,
      delivery: this.slack !== undefined || this.routing.name === 'webhook',
    });
    // History first: nothing live (HTTP, the poller) may move event time past it while it is learned.
    if (this.runtime instanceof EmbeddedRuntime && (await warmStart(this.cfg, this.runtime, this.now(), this.metrics, this.log))) await this.checkpoint();
    const host = this.cfg.server.host ?? (this.tokens.length === 0 ? '127.0.0.1' : '0.0.0.0');
    if (this.tokens.length === 0) {
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
      {
        tokens: this.tokens,
        bodyLimitBytes: this.cfg.server.bodyLimitBytes,
        maxDecompressedBytes: this.cfg.server.maxDecompressedBytes,
        headersTimeoutSeconds: this.cfg.server.headersTimeoutSeconds,
        requestTimeoutSeconds: this.cfg.server.requestTimeoutSeconds,
        keepAliveTimeoutSeconds: this.cfg.server.keepAliveTimeoutSeconds,
        maxConnections: this.cfg.server.maxConnections,
        remoteWriteMaxSeries: this.cfg.limits.remoteWriteMaxSeries,
        remoteWriteMaxSamples: this.cfg.limits.remoteWriteMaxSamples,
        deployHooks: { config: this.cfg.deployHooks, githubSecret: this.githubWebhookSecret },
      },
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
        (samples) => void Promise.resolve(this.ingest(samples, [], 'prometheus')).catch(() => undefined /* logged and counted in ingest() */),
        this.log,
        (secs, failed) => {
          this.metrics.pollDuration.observe(secs);
          if (failed > 0) this.metrics.pollErrors.inc(failed);
        },
        this.now,
      );
      this.poller.start();
    }
    if (this.cfg.healthChecks !== undefined) {
      const emit = (samples: Sample[]): void =>
        void Promise.resolve(this.ingest(samples, [], 'health-check')).catch(() => undefined /* logged and counted in ingest() */);
      this.prober = new HealthProber(this.cfg.healthChecks, emit, this.log, { now: this.now, env: process.env });
      this.prober.start();
    }
    this.slack?.start();
    if (this.slack !== undefined && this.cfg.slack.approvers === undefined)
      this.log.warn('slack.approvers is not set: anyone in the Slack channel can approve or reject a recommendation');
    this.modelWatcher = await loadConfidenceModel(this.cfg, (m) => this.runtime.decision.setConfidenceModel(m), this.metrics, this.log);
    await this.runtime.start();
    this.timers.push(setInterval(() => this.tick(), this.cfg.server.tickSeconds * 1000));
    this.timers.push(setInterval(() => void this.checkpoint(), this.cfg.server.checkpointIntervalSeconds * 1000));
    this.timers.push(setInterval(() => this.warnAboutGates(), GATE_REPORT_INTERVAL_MS));
    this.warnAboutGates();
    for (const t of this.timers) t.unref();
    this.started = true;
    this.log.info(
      {
        host: addr.address,
        port: addr.port,
        dataDir: this.cfg.server.dataDir,
        runtime: this.runtime.kind,
        restoredFrom: this.runtime.restoredFrom,
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
    await this.prober?.stop();
    this.modelWatcher?.close();
    await this.runtime.stop();
    if (this.server !== undefined) {
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
      this.server.closeAllConnections?.();
    }
    await this.checkpoint(true);
    this.runtime.close();
    await this.slack?.stop(5000);
    await this.routing.close?.();
    await this.delivery.close();
    this.log.info('harbinger stopped; state checkpointed');
  }

  // ---- HttpPort -------------------------------------------------------------------------------

  async ingest(samples: Sample[], events: ContextEvent[], source: string): Promise<IngestResult> {
    // What cannot be kept is not acknowledged: the sender keeps it and retries.
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
      // What is not kept is not acknowledged: a 503 makes the sender retry. On Kafka the data must
      // reach the broker; embedded, the write-ahead log (a full disk stops it).
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
    // Only the decider holds incidents; a 503 makes Alertmanager retry (through the Service, another replica).
    if (!this.runtime.decides()) throw new HttpError(503, 'this instance does not hold the decider right now; Alertmanager will retry');
    return this.unpersistedIs503(() => this.runtime.exclusive(() => this.applyAlerts(p)));
  }

  private applyAlerts(p: AlertmanagerPayload): AlertResult {
    const { triggers, unmapped } = toTriggers(p, this.cfg.mapping);
    let accepted = 0;
    let duplicates = 0;
    const now = this.clock();
    for (const t of triggers) {
      const r = this.runtime.alert(t, Math.max(now, t.status === 'resolved' ? (t.endsAt ?? now) : t.startsAt));
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

  rolloutGate(q: { service: string; stack: string; step: number | undefined; caller: string }): RolloutAnswer {
    return this.gate.answer(q);
  }

  gates(): GateCoverage {
    return gateCoverage(this.runtime.series());
  }

  /** Warn once per metric and kind (met no gate, or its normal is past its gate): at start and as metrics appear. */
  private warnAboutGates(): void {
    const fresh = this.gates().warnings.filter((w) => !this.gateWarnings.has(`${w.kind} ${w.metric}`));
    for (const w of fresh) if (this.gateWarnings.size < MAX_GATE_WARNINGS) this.gateWarnings.add(`${w.kind} ${w.metric}`);
    for (const w of fresh) this.log.warn({ metric: w.metric, kind: w.kind }, w.message);
  }

  incidents(): ReturnType<HttpPort['incidents']> {
    return this.runtime.decision.incidents();
  }

  recommendations(): Recommendation[] {
    return this.runtime.decision.allRecommendations();
  }

  /** On Kafka the series live in the shards' engines on other instances: the page then shows none. */
  incidentView(id: string): IncidentView | undefined {
    const inc = this.runtime.decision.incidents().find((i) => i.id === id);
    if (inc === undefined) return undefined;
    const recs = this.recommendations();
    if (this.runtime instanceof EmbeddedRuntime) return this.runtime.pipeline.trail.view(inc, recs);
    return { incident: inc, recommendations: recs.filter((r) => r.incidentId === inc.id), series: [], events: [], outcomes: [] };
  }

  decide(id: string, verdict: 'approve' | 'reject', by: string): DecisionResult | Promise<DecisionResult> {
    if (!this.runtime.decides()) {
      const reason = 'this instance does not hold the decider (the detections partition) right now; send the decision to the instance that does';
      return { ok: false, code: 'not_decider', reason };
    }
    const apply = (): DecisionResult => {
      const ts = this.clock();
      const r = this.runtime.decide(id, verdict, by, ts);
      if (r.ok) this.runtime.afterHumanDecision();
      return r;
    };
    return this.unpersistedIs503(() => this.runtime.exclusive(apply));
  }

  /** A command the write-ahead log could not take (a full disk) is a 503 the caller retries, not a 500. */
  private unpersistedIs503<T>(fn: () => T | Promise<T>): T | Promise<T> {
    const refuse = (err: unknown): never => {
      if (err instanceof HttpError) throw err;
      this.health.failed('wal', `the write-ahead log cannot be written: ${(err as Error).message}`);
      throw new HttpError(503, `not applied: the write-ahead log cannot be written: ${(err as Error).message}`);
    };
    try {
      const r = fn();
      return r instanceof Promise ? r.catch(refuse) : r;
    } catch (err) {
      return refuse(err);
    }
  }

  /**
   * Slack's interactivity endpoint: verify the signature on the raw body, acknowledge at once
   * (Slack wants an answer within 3 seconds), and apply the decision right after.
   */
  reload(): boolean {
    if (this.onReload === undefined) return false;
    this.log.info('POST /-/reload: reloading the configuration');
    // After the answer is written: the reload stops this service and its server.
    setImmediate(this.onReload);
    return true;
  }

  async slackInteraction(req: IncomingMessage, body: Buffer): Promise<{ status: number; body: unknown }> {
    if (this.slack === undefined)
      return { status: 404, body: { error: 'Slack is not configured (set SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL, and SLACK_SIGNING_SECRET)' } };
    const r = this.slack.handleInteraction({ headers: req.headers, rawBody: body, nowSeconds: Math.floor(this.now() / 1000) });
    // Only the listed people (or members of the listed user groups) may approve or reject; a click
    // from anyone else in the channel changes nothing.
    const allowed = r.decision !== undefined && this.approvers !== undefined ? await this.approvers.allows(r.decision.userId) : undefined;
    if (r.decision !== undefined && allowed?.allowed === false) {
      this.log.warn(
        { recommendation: r.decision.recommendationId, user: r.decision.userId, verdict: r.decision.verdict, why: allowed.reason },
        'Slack decision from a user not in slack.approvers: ignored',
      );
      this.metrics.slackMessages.inc({ kind: 'decision', result: 'refused' });
      return {
        status: 200,
        body: { response_type: 'ephemeral', replace_original: false, text: 'You are not in the approvers for Harbinger recommendations: nothing was changed.' },
      };
    }
    if (r.decision !== undefined) {
      const d = r.decision;
      setImmediate(() => {
        new Promise<DecisionResult>((resolve) => resolve(this.decide(d.recommendationId, d.verdict, d.userId))).then(
          (res) => this.log.info({ recommendation: d.recommendationId, verdict: d.verdict, user: d.userId, result: res.reason }, 'decision from Slack'),
          (err: Error) => this.log.error({ recommendation: d.recommendationId, err: err.message }, 'decision from Slack failed'),
        );
      });
    }
    return { status: r.status, body: r.body };
  }

  /** Liveness: false only when this process cannot recover by itself and should be restarted. */
  live(): { live: boolean; reason: string } {
    const failure = this.runtime.failure;
    return failure !== undefined ? { live: false, reason: `kafka consumer stopped: ${failure}` } : { live: true, reason: 'ok' };
  }

  ready(): { ready: boolean; reason: string } {
    if (!this.started) return { ready: false, reason: 'starting' };
    const l = this.live();
    if (!l.live) return { ready: false, reason: l.reason };
    if (this.health.problem !== undefined) return { ready: false, reason: this.health.problem };
    if (this.poller !== undefined && this.poller.lastSuccess === 0) return { ready: false, reason: 'no successful Prometheus poll yet' };
    return { ready: true, reason: `state restored from ${this.runtime.restoredFrom}` };
  }

  /** The Kafka runner's counters, when running on Kafka (tests and the bench read them). */
  kafkaStats(): KafkaRuntime['stats'] | undefined {
    return this.runtime instanceof KafkaRuntime ? this.runtime.stats : undefined;
  }

  // ---- internals ------------------------------------------------------------------------------

  /** Event time for actions that come from outside the data (approvals, alerts, ticks). */
  private clock(): number {
    return this.cfg.server.wallClockWatermark ? this.now() : this.runtime.decision.currentTime();
  }

  private tick(): void {
    const now = this.now();
    this.runtime.tick(now, this.metrics);
    this.metrics.incidentsOpen.set(this.runtime.decision.incidents().filter((i) => i.status !== 'resolved').length);
    this.metrics.awaitingApproval.set(this.runtime.decision.allRecommendations().filter((r) => r.status === 'awaiting_approval').length);
    const refused = this.runtime.decision.refusedIncidents;
    if (refused > this.refusedSeen) this.metrics.incidentsRefused.inc(refused - this.refusedSeen);
    this.refusedSeen = refused;
    // A counter fed from a count that restarts with the engine (a reload or restore): only growth is added.
    const evicted = this.runtime.decision.evictedContextEvents;
    if (evicted > this.evictedSeen) this.metrics.contextEventsEvicted.inc(evicted - this.evictedSeen);
    this.evictedSeen = evicted;
    if (this.slack !== undefined) this.metrics.slackOutbox.set(this.slack.queueDepth());
  }

  /** Checkpoint state and the audit head; a failure makes ingest answer 503 and /readyz fail until one succeeds. */
  private async checkpoint(final = false): Promise<void> {
    try {
      // The audit head goes with the state, so it is taken when the state is: what is audited while
      // a streamed checkpoint is written is made again from the write-ahead log after a crash, and
      // must then count as not yet delivered.
      let head = this.audit.head;
      let unansweredFrom = this.routingSink.oldestUnanswered();
      const written = await this.runtime.checkpoint(this.now(), this.metrics, final, () => {
        head = this.audit.head;
        unansweredFrom = this.routingSink.oldestUnanswered();
      });
      if (!written) return;
      this.auditHead.save({ ...head, ...(unansweredFrom !== undefined ? { unansweredFrom } : {}) });
      if (head.seq !== this.lastAnnouncedHead) {
        this.lastAnnouncedHead = head.seq;
        this.log.info({ auditEntries: head.seq, auditHead: head.hash }, 'audit head checkpointed');
      }
      this.metrics.auditEntries.set(head.seq);
      this.health.succeeded('checkpoint');
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'checkpoint failed; the previous one is intact; not accepting data until one succeeds');
      this.health.failed('checkpoint', `checkpoint failed: ${(err as Error).message}`);
    }
  }
}

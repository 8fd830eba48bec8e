import { mkdirSync } from 'node:fs';
import type { IncomingMessage, Server } from 'node:http';
import { gateCoverage, type GateCoverage } from '../core/detection/gate-coverage.js';
import { withActionsReachingData } from '../config/decision.js';
import type { HarbingerConfig } from '../config/load.js';
import type { KafkaConfig } from '../adapters/kafka/config.js';
import type { ContextEvent, Sample } from '../domain/types.js';
import type { DecisionEvent, DecisionResult, Recommendation } from '../domain/decision.js';
import type { IncidentView } from '../core/incident/incident-trail.js';
import { HttpError } from '../adapters/http/http-error.js';
import { ServiceMetrics } from '../adapters/http/metrics.js';
import type { HttpPort, RolloutAnswer } from '../adapters/http/server.js';
import type { ApiToken } from '../adapters/http/auth.js';
import { apiTokens, listenHttp } from './http-listener.js';
import { reasonCode } from '../adapters/http/reason-code.js';
import type { FileAuditLog } from '../adapters/file/audit-log.js';
import { AuditJournal } from './audit-journal.js';
import { harbingerVersion } from './version.js';
import { LabelMapper } from '../adapters/mapping/label-mapper.js';
import { PullSources } from './pull-sources.js';
import { DecisionGauges } from './decision-gauges.js';
import type { AlertmanagerPayload } from '../adapters/alertmanager/webhook.js';
import type { WriteRequest } from '../adapters/remote-write/write-request.js';
import { EdgeIntake, type AlertResult } from './edge-intake.js';
import type { RoutingController } from '../adapters/routing/routing-controller.js';
import type { SlackFeed } from '../adapters/slack/slack-feed.js';
import type { Logger } from '../adapters/log/logger.js';
import type { ModelWatcher } from '../model/load.js';
import { controllerFromConfig } from '../adapters/routing/registry.js';
import { loadConfidenceModel } from './confidence-model.js';
import { slackFeedFromConfig } from '../adapters/slack/slack-factory.js';
import { warmStart } from './warm-start.js';
import { SlackApprovers } from '../adapters/slack/approvers.js';
import { userGroupMembers } from '../adapters/slack/slack-client.js';
import { RolloutGatePort } from './rollout-gate-port.js';
import { slackInteraction } from './slack-decisions.js';
import type { IngestResult, Runtime } from './runtime/runtime.js';
import { EmbeddedRuntime } from './runtime/embedded-runtime.js';
import { KafkaRuntime } from './runtime/kafka-runtime.js';
import { DecisionDelivery } from './decision-delivery.js';
import { PersistenceHealth } from './persistence-health.js';
import { routingSink } from './sinks/routing-sink.js';
import { decisionSinks } from './sinks/decision-sinks.js';

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
  private readonly intake: EdgeIntake;
  private readonly routingSink: ReturnType<typeof routingSink>;
  private readonly gateWarnings = new Set<string>();
  private readonly gate: RolloutGatePort;
  private readonly journal: AuditJournal;
  /** Why state or the audit log cannot be written now (undefined: they can). Ingest and readiness fail closed on it. */
  private readonly health: PersistenceHealth;
  private readonly gauges = new DecisionGauges();
  private modelWatcher: ModelWatcher | undefined;
  private server: Server | undefined;
  private readonly sources = new PullSources();
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
    this.tokens = apiTokens(opts.apiToken, opts.roleTokens);
    const dir = this.cfg.server.dataDir;
    mkdirSync(dir, { recursive: true });
    this.mapper = new LabelMapper(this.cfg.mapping);
    this.health = new PersistenceHealth(this.metrics, this.log);
    this.journal = new AuditJournal(dir, opts.auditKey, this.cfg, this.log, this.now);
    this.audit = this.journal.log;
    this.routing = opts.routing ?? controllerFromConfig(this.cfg.routing, { log: this.log, dataDir: dir, delivery: this.metrics.delivery });
    this.slack = slackFeedFromConfig(this.cfg.slack, dir, opts.slack ?? {}, this.metrics, this.log);
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
    this.intake = new EdgeIntake(this.cfg, this.runtime, this.health, this.metrics, this.log, this.now);
    this.gate = new RolloutGatePort(this.cfg, () => this.runtime, this.audit, this.log, this.now);
    this.routingSink = routingSink(
      this.routing,
      this.audit,
      () => this.runtime,
      () => this.clock(),
      this.log,
    );
    const sinks = decisionSinks({
      cfg: this.cfg,
      audit: this.audit,
      slack: this.slack,
      routing: this.routingSink,
      recommendation: (id) => this.runtime.decision.getRecommendation(id),
      metrics: this.metrics,
      log: this.log,
    });
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
    const { server, address: addr } = await listenHttp(this, this.cfg, this.tokens, this.githubWebhookSecret, this.metrics, this.log);
    this.server = server;
    this.sources.start(this.cfg, (samples, source) => this.ingest(samples, [], source), this.metrics, this.log, this.now);
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
    await this.sources.stop();
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

  ingest(samples: Sample[], events: ContextEvent[], source: string): Promise<IngestResult> {
    return this.intake.ingest(samples, events, source);
  }

  remoteWrite(req: WriteRequest): Promise<{ accepted: number; skipped: Record<string, number> }> {
    return this.intake.remoteWrite(req, this.mapper);
  }

  alertmanager(p: AlertmanagerPayload): AlertResult | Promise<AlertResult> {
    // Only the decider holds incidents; a 503 makes Alertmanager retry (through the Service, another replica).
    if (!this.runtime.decides()) throw new HttpError(503, 'this instance does not hold the decider right now; Alertmanager will retry');
    return this.unpersistedIs503(() => this.runtime.exclusive(() => this.intake.alerts(p, this.clock())));
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

  /** POST /-/reload: serve's SIGHUP reload, after the answer is written. */
  reload(): boolean {
    if (this.onReload === undefined) return false;
    this.log.info('POST /-/reload: reloading the configuration');
    // After the answer is written: the reload stops this service and its server.
    setImmediate(this.onReload);
    return true;
  }

  slackInteraction(req: IncomingMessage, body: Buffer): Promise<{ status: number; body: unknown }> {
    const decide = (id: string, verdict: 'approve' | 'reject', by: string) => this.decide(id, verdict, by);
    return slackInteraction(this.slack, this.approvers, req, body, this.now(), decide, this.metrics, this.log);
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
    if (this.sources.waitingForFirstPoll) return { ready: false, reason: 'no successful Prometheus poll yet' };
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
    this.gauges.update(this.runtime, this.metrics, this.slack?.queueDepth());
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
      this.journal.saveHead(head, unansweredFrom, this.metrics);
      this.health.succeeded('checkpoint');
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'checkpoint failed; the previous one is intact; not accepting data until one succeeds');
      this.health.failed('checkpoint', `checkpoint failed: ${(err as Error).message}`);
    }
  }
}

import type { IncomingMessage } from 'node:http';
import type { GateCoverage } from '../../core/detection/gate-coverage.js';
import type { IncidentView } from '../../core/incident/incident-trail.js';
import type { DecisionResult, Incident, Recommendation } from '../../domain/decision.js';
import type { ContextEvent, Sample } from '../../domain/types.js';
import type { AlertmanagerPayload } from '../alertmanager/webhook.js';
import type { DeployHooksConfig } from '../deploy-hooks/config.js';
import type { WriteRequest } from '../remote-write/write-request.js';
import type { ApiToken } from './auth.js';

/** What the rollout gate answers (GET /v1/gate, Flagger's webhooks). */
export interface RolloutAnswer {
  service: string;
  stack: string;
  step: number | null;
  verdict: 'promote' | 'hold' | 'rollback';
  reasons: { metric: string; verdict: 'promote' | 'hold' | 'rollback'; detail: string }[];
  /** When this step began, as the gate saw it (ISO 8601). */
  since: string;
}

/** What the ingest endpoints answer (beside the records refused while parsing). */
export interface IngestResult {
  accepted: number;
  /** Behind the watermark: too late to be judged. */
  late: number;
  /** Stamped further ahead of this server's clock than it accepts, and the latest time it accepts. */
  future?: { count: number; limit: string };
  /** Samples of new series refused because `limits.maxSeries` series are kept. */
  limited?: { count: number; limit: number; reason: string };
}

export type AlertResult = { accepted: number; duplicates: number; unmapped: { fingerprint: string; reason: string }[] };

/** What the HTTP layer needs from the service: a small port, so routes never reach into the core. */
export interface HttpPort {
  ingest(samples: Sample[], events: ContextEvent[], source: string): IngestResult | Promise<IngestResult>;
  /** Liveness (GET /healthz); absent means always live. */
  live?(): { live: boolean; reason: string };
  remoteWrite(req: WriteRequest): { accepted: number; skipped: Record<string, number> } | Promise<{ accepted: number; skipped: Record<string, number> }>;
  alertmanager(p: AlertmanagerPayload): AlertResult | Promise<AlertResult>;
  incidents(): Incident[];
  /** One incident as its page plots it (series, context events, outcomes); undefined: no such incident. */
  incidentView?(id: string): IncidentView | undefined;
  /** Which SLO gate each metric met, which met none, and the warnings that follow. */
  gates(): GateCoverage;
  /** The rollout gate's verdict for one step of a progressive delivery (see core/gate). */
  rolloutGate(q: { service: string; stack: string; step: number | undefined; caller: string }): RolloutAnswer;
  recommendations(): Recommendation[];
  decide(id: string, verdict: 'approve' | 'reject', by: string): DecisionResult | Promise<DecisionResult>;
  ready(): { ready: boolean; reason: string };
  /** Reload the configuration and secrets (POST /-/reload, as SIGHUP); false: this process cannot (not started by `harbinger serve`). */
  reload?(): boolean;
  /** Slack's interactivity endpoint (signature-verified inside; 404 when Slack is not configured). */
  slackInteraction(req: IncomingMessage, body: Buffer): Promise<{ status: number; body: unknown }>;
}

export interface HttpOptions {
  /** The API tokens and what each may do; empty: auth off (loopback only). */
  tokens: readonly ApiToken[];
  bodyLimitBytes: number;
  maxDecompressedBytes: number;
  headersTimeoutSeconds: number;
  requestTimeoutSeconds: number;
  keepAliveTimeoutSeconds: number;
  maxConnections: number;
  /** limits.remoteWriteMaxSeries / remoteWriteMaxSamples. */
  remoteWriteMaxSeries: number;
  remoteWriteMaxSamples: number;
  /** The deploy tools' webhooks (/v1/hooks/*): how they map, and GitHub's secret (absent: that receiver is off). */
  deployHooks?: { config: DeployHooksConfig; githubSecret: string | undefined };
}

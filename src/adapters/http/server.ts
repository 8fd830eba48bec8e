import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { GateCoverage } from '../../core/detection/gate-coverage.js';
import type { DecisionCode, DecisionResult, Incident, Recommendation } from '../../domain/decision.js';
import type { ContextEvent, Sample } from '../../domain/types.js';
import type { Logger } from '../log/logger.js';
import type { ServiceMetrics } from './metrics.js';
import { HttpError } from './http-error.js';
import { discardBody, LINGER_MS, lingerBytes, readBody } from './body.js';
import { checkAuth, type ApiToken, type Role } from './auth.js';
import { parseIngestBody } from './ingest.js';
import { reasonCode } from './reason-code.js';
import { alertmanagerPayloadSchema, type AlertmanagerPayload } from '../alertmanager/webhook.js';
import { parseRemoteWrite, RemoteWriteError, type WriteRequest } from '../remote-write/write-request.js';
import { deployHookRoutes } from '../deploy-hooks/routes.js';
import { deployHooksConfigSchema, type DeployHooksConfig } from '../deploy-hooks/config.js';
import type { IncidentView } from '../../core/incident/incident-trail.js';
import { renderIncidentPage, type IncidentPage } from '../../report/incident-page.js';

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

function stepOf(v: string | null | undefined): number | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new HttpError(400, `step: a traffic percent between 0 and 100, got ${JSON.stringify(v.slice(0, 20))}`);
  return n;
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

/** How an approve/reject that did not take effect answers: 404 for an id nobody knows, 409 for a state that forbids it (or an instance that does not hold the decider). */
const DECISION_STATUS: Readonly<Record<DecisionCode, number>> = {
  approved: 200,
  rejected: 200,
  unknown_recommendation: 404,
  not_awaiting_approval: 409,
  expired: 409,
  blocked: 409,
  not_decider: 409,
};

/** What the HTTP layer needs from the service: a small port, so routes never reach into the core. */
type AlertResult = { accepted: number; duplicates: number; unmapped: { fingerprint: string; reason: string }[] };

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

type Handler = (req: IncomingMessage, res: ServerResponse, params: string[]) => Promise<void>;

export function createHttpServer(port: HttpPort, opts: HttpOptions, metrics: ServiceMetrics, log: Logger): Server {
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };
  const authed =
    (role: Role, fn: Handler, allowBasic = false): Handler =>
    async (req, res, params) => {
      checkAuth(req, opts.tokens, role, allowBasic);
      await fn(req, res, params);
    };

  // `defaultType`: what an untyped record is on /v1/samples and /v1/events; /v1/ingest has none (replay's rule: `type` is required).
  const ingest = (defaultType: 'sample' | 'event' | undefined): Handler =>
    authed('ingest', async (req, res) => {
      const body = await readBody(req, opts.bodyLimitBytes);
      const parsed = parseIngestBody(body, defaultType);
      for (const e of parsed.errors) metrics.rejected.inc({ source: 'http', reason: reasonCode(e.reason) });
      const samples: Sample[] = [];
      const events: ContextEvent[] = [];
      for (const r of parsed.records) {
        if (r.ok && r.kind === 'sample') samples.push(r.sample);
        else if (r.ok && r.kind === 'event') events.push(r.event);
      }
      const { accepted, late, future, limited } = await port.ingest(samples, events, 'http');
      const rejected = parsed.errors.slice(0, 100);
      // What the edge refused besides bad records: samples from the future, and new series past the limit.
      const ahead = {
        ...(future !== undefined
          ? { future: { ...future, reason: `stamped after ${future.limit}, ahead of this server's clock by more than it allows: check the sender's clock` } }
          : {}),
        ...(limited !== undefined ? { limited } : {}),
      };
      if (accepted === 0 && late === 0 && (parsed.errors.length > 0 || future !== undefined))
        return json(res, 400, { error: 'no valid record in the body', accepted, late, rejected, rejectedTotal: parsed.errors.length, ...ahead });
      json(res, 200, { accepted, late, rejected, rejectedTotal: parsed.errors.length, ...ahead });
    });

  // The on-call page holds no data (the script fetches it with the user's token), so it is served
  // without auth; rendered once, since it is the same for everyone.
  let page: IncidentPage | undefined;
  const ui: Handler = async (_q, res) => {
    page ??= renderIncidentPage();
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': page.contentSecurityPolicy,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    res.end(page.html);
  };

  const routes: { method: string; path: RegExp; name: string; handler: Handler }[] = [
    {
      method: 'GET',
      path: /^\/ui$/,
      name: 'ui',
      handler: async (_q, res) => {
        res.writeHead(308, { location: '/ui/' });
        res.end();
      },
    },
    { method: 'GET', path: /^\/ui\/(?:incidents\/[^/]+)?$/, name: 'ui', handler: ui },
    {
      method: 'GET',
      path: /^\/v1\/incidents\/([^/]+)\/series$/,
      name: 'incident_series',
      handler: authed('read', async (_q, res, [id]) => {
        let incidentId: string;
        try {
          incidentId = decodeURIComponent(id!);
        } catch {
          throw new HttpError(400, 'incident id: malformed percent-encoding');
        }
        const view = port.incidentView?.(incidentId);
        if (view === undefined) throw new HttpError(404, `no incident '${id}' (resolved incidents are kept for a while, then forgotten)`);
        json(res, 200, view);
      }),
    },
    {
      method: 'GET',
      path: /^\/healthz$/,
      name: 'healthz',
      handler: async (_q, res) => {
        const l = port.live?.() ?? { live: true, reason: 'ok' };
        json(res, l.live ? 200 : 503, l.live ? { status: 'ok' } : { status: 'failing', reason: l.reason });
      },
    },
    {
      method: 'GET',
      path: /^\/readyz$/,
      name: 'readyz',
      handler: async (_q, res) => {
        const r = port.ready();
        json(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', reason: r.reason });
      },
    },
    {
      method: 'GET',
      path: /^\/metrics$/,
      name: 'metrics',
      handler: async (_q, res) => {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(await metrics.registry.metrics());
      },
    },
    { method: 'POST', path: /^\/v1\/samples$/, name: 'samples', handler: ingest('sample') },
    { method: 'POST', path: /^\/v1\/events$/, name: 'events', handler: ingest('event') },
    // Mixed sample and event lines in file order, exactly as replay reads them (a fixture streamed as it is).
    { method: 'POST', path: /^\/v1\/ingest$/, name: 'ingest', handler: ingest(undefined) },
    {
      method: 'GET',
      path: /^\/v1\/incidents$/,
      name: 'incidents',
      handler: authed('read', async (_q, res) => json(res, 200, { incidents: port.incidents() })),
    },
    { method: 'GET', path: /^\/v1\/gates$/, name: 'gates', handler: authed('read', async (_q, res) => json(res, 200, port.gates())) },
    {
      // Argo Rollouts' web metric provider and any script: always 200 with the verdict (jsonPath {$.verdict}).
      method: 'GET',
      path: /^\/v1\/gate$/,
      name: 'gate',
      handler: authed('read', async (req, res) => {
        const q = new URL(req.url ?? '/', 'http://localhost').searchParams;
        const service = q.get('service') ?? '';
        const stack = q.get('stack') ?? '';
        if (service === '' || stack === '')
          throw new HttpError(400, 'service and stack are required: /v1/gate?service=<service>&stack=<new version stack>[&step=<percent>]');
        json(res, 200, port.rolloutGate({ service, stack, step: stepOf(q.get('step')), caller: 'api' }));
      }),
    },
    {
      // Flagger's webhooks: 2xx lets the rollout go on (confirm-rollout, confirm-promotion) or rolls it back (rollback).
      method: 'POST',
      path: /^\/v1\/gate\/flagger\/(confirm-rollout|confirm-promotion|rollback)$/,
      name: 'gate_flagger',
      handler: authed('read', async (req, res, [hook]) => {
        const body = await readBody(req, 64 * 1024);
        let payload: { name?: unknown; namespace?: unknown; metadata?: Record<string, unknown> };
        try {
          payload = JSON.parse(body.toString('utf8')) as typeof payload;
        } catch {
          throw new HttpError(400, 'body must be the JSON Flagger sends: {"name","namespace","phase","metadata":{...}}');
        }
        if (payload === null || typeof payload !== 'object' || Array.isArray(payload))
          throw new HttpError(400, 'body must be a JSON object, as Flagger sends: {"name","namespace","phase","metadata":{...}}');
        const meta = payload.metadata !== null && typeof payload.metadata === 'object' ? payload.metadata : {};
        const service = typeof meta['service'] === 'string' ? meta['service'] : typeof payload.name === 'string' ? payload.name : '';
        const stack = typeof meta['stack'] === 'string' ? meta['stack'] : 'canary';
        if (service === '') throw new HttpError(400, 'no service: set metadata.service in the webhook, or name the canary after it');
        const a = port.rolloutGate({ service, stack, step: stepOf(typeof meta['step'] === 'string' ? meta['step'] : undefined), caller: `flagger ${hook}` });
        const proceed = hook === 'rollback' ? a.verdict === 'rollback' : hook === 'confirm-promotion' ? a.verdict === 'promote' : a.verdict !== 'rollback';
        json(res, proceed ? 200 : 412, a);
      }),
    },
    {
      method: 'GET',
      path: /^\/v1\/recommendations$/,
      name: 'recommendations',
      handler: authed('read', async (req, res) => {
        // Optional filters: ?service=&stack=&status=&action=&since=<ISO or epoch ms>
        const q = new URL(req.url ?? '/', 'http://localhost').searchParams;
        const since = q.get('since');
        const sinceMs = since === null ? -Infinity : /^\d+$/.test(since) ? Number(since) : Date.parse(since);
        if (Number.isNaN(sinceMs)) throw new HttpError(400, `since: not an ISO-8601 time or epoch milliseconds: '${since}'`);
        const match = (field: string, value: string): boolean => q.get(field) === null || q.get(field) === value;
        const recs = port
          .recommendations()
          .filter((r) => match('service', r.service) && match('stack', r.stack) && match('status', r.status) && match('action', r.action) && r.ts >= sinceMs);
        json(res, 200, { recommendations: recs });
      }),
    },
    {
      // Prometheus' convention. Answered before the reload runs: a reload restarts this server.
      method: 'POST',
      path: /^\/-\/reload$/,
      name: 'reload',
      handler: authed('admin', async (_req, res) => {
        if (port.reload?.() !== true) throw new HttpError(404, 'reload is available in harbinger serve (send SIGHUP or POST /-/reload there)');
        json(res, 202, {
          reloading: true,
          note: 'the configuration is read and validated again; an invalid one is refused and logged, the service keeps running on the previous one',
        });
      }),
    },
    {
      method: 'POST',
      path: /^\/v1\/recommendations\/([A-Za-z0-9._-]+)\/(approve|reject)$/,
      name: 'decide',
      handler: authed('approve', async (req, res, [id, verb]) => {
        const body = await readBody(req, 16 * 1024);
        let by = 'api';
        if (body.length > 0) {
          try {
            const o = JSON.parse(body.toString('utf8')) as { by?: unknown };
            if (typeof o.by === 'string' && o.by !== '') by = o.by.slice(0, 200);
          } catch {
            throw new HttpError(400, 'body must be JSON like {"by":"alice@example.com"} or empty');
          }
        }
        const r = await port.decide(id!, verb as 'approve' | 'reject', by);
        json(res, r.ok ? 200 : DECISION_STATUS[r.code], r);
      }),
    },
    {
      method: 'POST',
      path: /^\/v1\/alertmanager$/,
      name: 'alertmanager',
      handler: authed(
        'ingest',
        async (req, res) => {
          const body = await readBody(req, opts.bodyLimitBytes);
          let raw: unknown;
          try {
            raw = JSON.parse(body.toString('utf8'));
          } catch (e) {
            throw new HttpError(400, `not JSON: ${(e as Error).message}`);
          }
          const parsed = alertmanagerPayloadSchema.safeParse(raw);
          if (!parsed.success)
            throw new HttpError(
              400,
              'not an Alertmanager version 4 webhook payload',
              parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
            );
          json(res, 200, await port.alertmanager(parsed.data));
        },
        true,
      ),
    },
    {
      method: 'POST',
      path: /^\/api\/v1\/write$/,
      name: 'remote_write',
      handler: authed(
        'ingest',
        async (req, res) => {
          const [type = '', ...params] = (req.headers['content-type'] ?? '').split(';').map((p) => p.trim());
          if (type !== 'application/x-protobuf') throw new HttpError(415, `unsupported Content-Type '${type}': remote-write 1.0 sends application/x-protobuf`);
          // Remote-write 2.0 names its message (proto=io.prometheus.write.v2.Request): only 1.0 is read here, so say so (415 is what the spec asks for).
          const proto = params.find((p) => p.startsWith('proto='))?.slice('proto='.length);
          if (proto !== undefined && proto !== 'prometheus.WriteRequest')
            throw new HttpError(
              415,
              `remote-write message '${proto}' is not supported: send remote-write 1.0 (protobuf_message: prometheus.WriteRequest in remote_write)`,
            );
          const enc = req.headers['content-encoding'];
          if (enc !== undefined && enc !== 'snappy') throw new HttpError(415, `unsupported Content-Encoding '${enc}': remote-write 1.0 sends snappy`);
          const body = await readBody(req, opts.bodyLimitBytes);
          let wr: WriteRequest;
          try {
            wr = parseRemoteWrite(body, {
              maxDecompressedBytes: opts.maxDecompressedBytes,
              maxSeries: opts.remoteWriteMaxSeries,
              maxSamples: opts.remoteWriteMaxSamples,
            });
          } catch (e) {
            if (e instanceof RemoteWriteError) throw new HttpError(400, `invalid remote-write body: ${e.message}`);
            throw e;
          }
          await port.remoteWrite(wr);
          res.writeHead(204);
          res.end();
        },
        true,
      ),
    },
    // GitHub, Argo CD and Flagger webhooks: context events without hand work (src/adapters/deploy-hooks).
    ...deployHookRoutes(
      {
        config: opts.deployHooks?.config ?? deployHooksConfigSchema.parse({}),
        githubSecret: opts.deployHooks?.githubSecret,
        tokens: opts.tokens,
        bodyLimitBytes: opts.bodyLimitBytes,
        ingest: async (events, source) => port.ingest([], events, source),
      },
      json,
    ),
    {
      method: 'POST',
      path: /^\/v1\/slack\/interactions$/,
      name: 'slack',
      handler: async (req, res) => {
        const body = await readBody(req, 64 * 1024);
        const r = await port.slackInteraction(req, body);
        if (r.status === 200 && (r.body === undefined || r.body === '')) {
          res.writeHead(200);
          res.end();
          return;
        }
        json(res, r.status, r.body);
      },
    },
  ];

  // Timeouts are checked every second (Node's default is every 30 s, which would let a slow client hold a socket that long).
  const server = createServer({ connectionsCheckingInterval: 1000 }, (req, res) => {
    let route = 'unknown';
    const done = (code: number): void => {
      metrics.httpRequests.inc({ route, code: String(code) });
    };
    res.on('finish', () => done(res.statusCode));
    const handle = async (): Promise<void> => {
      // Inside the handler's catch: a request target the URL parser rejects ('//', '///%F2') is a
      // 400 for that request, not an exception that ends the process.
      let url: URL;
      try {
        url = new URL(req.url ?? '/', 'http://localhost');
      } catch {
        throw new HttpError(400, 'invalid request target');
      }
      const candidates = routes.filter((r) => r.path.test(url.pathname));
      if (candidates.length === 0) throw new HttpError(404, `no route for ${url.pathname}`);
      const r = candidates.find((c) => c.method === req.method);
      if (r === undefined) {
        res.setHeader('allow', candidates.map((c) => c.method).join(', '));
        throw new HttpError(405, `${req.method ?? '?'} not allowed on ${url.pathname}`);
      }
      route = r.name;
      await r.handler(req, res, (url.pathname.match(r.path) ?? []).slice(1));
    };
    handle().catch((e: unknown) => {
      if (res.headersSent) return;
      if (e instanceof HttpError) {
        if (e.status === 401 || e.status === 403) res.setHeader('www-authenticate', 'Bearer realm="harbinger"');
        const body = { error: e.message, ...(e.details !== undefined ? { details: e.details } : {}) };
        if (!e.closeConnection) return json(res, e.status, body);
        // A lingering close, as nginx and Apache do: the answer is sent whole (its length declared),
        // then the rest of the request body is read and thrown away, and only then is the response
        // ended, which closes the connection (`connection: close`). Ending it at once would close
        // the socket with the sender's bytes unread, and the kernel would answer them with a reset:
        // the sender sees EPIPE or ECONNRESET, often before it read this answer. A sender that does
        // not stop within the bounds (LINGER_MS, lingerBytes) is cut off.
        const socket = req.socket;
        const text = JSON.stringify(body);
        res.writeHead(e.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), connection: 'close' });
        res.write(text);
        void discardBody(req, { maxMs: LINGER_MS, maxBytes: lingerBytes(opts.bodyLimitBytes) }).then((ended) => {
          if (ended && socket.writable) {
            res.end();
            return;
          }
          // Never ended, so never 'finish': counted here.
          done(res.statusCode);
          socket.destroy();
        });
        return;
      }
      // Anything else is ours, and transient from the client's point of view: 500 lets Alertmanager
      // and Prometheus retry.
      log.error({ err: (e as Error).message, route }, 'request failed');
      json(res, 500, { error: 'internal error; retry later' });
    });
  });
  server.headersTimeout = opts.headersTimeoutSeconds * 1000;
  server.requestTimeout = opts.requestTimeoutSeconds * 1000;
  server.keepAliveTimeout = opts.keepAliveTimeoutSeconds * 1000;
  server.maxConnections = opts.maxConnections;
  return server;
}

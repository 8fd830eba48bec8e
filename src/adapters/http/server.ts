import { createServer, type Server } from 'node:http';
import type { Logger } from '../log/logger.js';
import { deployHookRoutes } from '../deploy-hooks/routes.js';
import { deployHooksConfigSchema } from '../deploy-hooks/config.js';
import { renderIncidentPage, type IncidentPage } from '../../report/incident-page.js';
import { discardBody, LINGER_MS, lingerBytes, readBody } from './body.js';
import type { HttpOptions, HttpPort } from './http-port.js';
import { HttpError } from './http-error.js';
import type { ServiceMetrics } from './metrics.js';
import { routeKit, type Handler, type Route } from './route-kit.js';
import { dataRoutes } from './routes/data-routes.js';
import { decisionRoutes } from './routes/decision-routes.js';
import { gateRoutes } from './routes/gate-routes.js';

export type { AlertResult, HttpOptions, HttpPort, IngestResult, RolloutAnswer } from './http-port.js';

/**
 * The HTTP server: every route group (data in, decisions, gates, deploy hooks) plus the probes,
 * /metrics, the on-call page and Slack's interactivity endpoint; one error path (4xx with the
 * reason, a lingering close when a body is refused mid-way, 500 for our own faults).
 */
export function createHttpServer(port: HttpPort, opts: HttpOptions, metrics: ServiceMetrics, log: Logger): Server {
  const kit = routeKit(opts.tokens);
  const { json } = kit;

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

  const routes: Route[] = [
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
    ...dataRoutes(port, opts, kit, metrics),
    ...decisionRoutes(port, kit),
    ...gateRoutes(port, kit),
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

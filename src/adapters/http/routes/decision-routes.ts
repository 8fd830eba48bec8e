import type { DecisionCode } from '../../../domain/decision.js';
import { readBody } from '../body.js';
import type { HttpPort } from '../http-port.js';
import { HttpError } from '../http-error.js';
import type { Route, RouteKit } from '../route-kit.js';

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

/** Incidents, recommendations and the human decision on them; the reload. */
export function decisionRoutes(port: HttpPort, { json, authed }: RouteKit): Route[] {
  return [
    {
      method: 'GET',
      path: /^\/v1\/incidents$/,
      name: 'incidents',
      handler: authed('read', async (_q, res) => json(res, 200, { incidents: port.incidents() })),
    },
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
  ];
}

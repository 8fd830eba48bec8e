import { readBody } from '../body.js';
import type { HttpPort } from '../http-port.js';
import { HttpError } from '../http-error.js';
import type { Route, RouteKit } from '../route-kit.js';

function stepOf(v: string | null | undefined): number | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 100) throw new HttpError(400, `step: a traffic percent between 0 and 100, got ${JSON.stringify(v.slice(0, 20))}`);
  return n;
}

/** The SLO gate coverage, and the rollout gate: Argo Rollouts' web provider and Flagger's webhooks. */
export function gateRoutes(port: HttpPort, { json, authed }: RouteKit): Route[] {
  return [
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
  ];
}

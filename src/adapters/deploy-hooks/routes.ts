import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ContextEvent } from '../../domain/types.js';
import { parseRecord } from '../../ingest/record-parser.js';
import { type ApiToken, checkAuth, checkToken } from '../http/auth.js';
import { readBody } from '../http/body.js';
import { HttpError } from '../http/http-error.js';
import { fromArgoCd } from './argocd.js';
import type { DeployHooksConfig } from './config.js';
import { fromFlagger } from './flagger.js';
import { fromGitHub } from './github.js';
import { verifyGitHubSignature } from './github-signature.js';
import type { HookResult } from './hook-result.js';
import { RecentIds } from './recent-ids.js';

/** What the routes need from the server: the settings, and the way into the pipeline that POST /v1/events takes. */
export interface DeployHookDeps {
  config: DeployHooksConfig;
  /** HARBINGER_GITHUB_WEBHOOK_SECRET; undefined: the GitHub receiver is off (404 with how to turn it on). */
  githubSecret: string | undefined;
  tokens: readonly ApiToken[];
  bodyLimitBytes: number;
  ingest(events: ContextEvent[], source: string): Promise<{ accepted: number; late: number }>;
}

type Handler = (req: IncomingMessage, res: ServerResponse, params: string[]) => Promise<void>;
export interface HookRoute {
  method: string;
  path: RegExp;
  name: string;
  handler: Handler;
}

/**
 * POST /v1/hooks/github, /v1/hooks/argocd, /v1/hooks/flagger: each authenticates the way its tool
 * can (GitHub's HMAC signature; Argo CD's configured Authorization header; Flagger's webhook
 * metadata, or a header added by a proxy), parses the body, lets the tool's pure mapping say what
 * it means, and hands the resulting context events through the record parser replay uses to the
 * pipeline. Answers: 200 with the events recorded, or with `ignored` and why (irrelevant events,
 * duplicates: the tool must not retry them); 400 with the reason for a body that cannot be read;
 * 401/403 for bad credentials.
 */
export function deployHookRoutes(deps: DeployHookDeps, json: (res: ServerResponse, status: number, body: unknown) => void): HookRoute[] {
  const seen = new RecentIds();

  const answer = async (res: ServerResponse, result: HookResult, source: string): Promise<void> => {
    if (result.kind === 'invalid') throw new HttpError(400, result.reason, result.details);
    if (result.kind === 'ignored') return json(res, 200, { accepted: 0, ignored: result.reason });
    const events: ContextEvent[] = [];
    for (const r of result.records) {
      const parsed = parseRecord(r);
      if (!parsed.ok || parsed.kind !== 'event')
        throw new HttpError(400, `the ${source} payload maps to an event Harbinger refuses: ${parsed.ok ? 'not an event' : parsed.reason}`);
      events.push(parsed.event);
    }
    const fresh = events.filter((e) => !seen.has(e.id));
    if (fresh.length === 0) return json(res, 200, { accepted: 0, ignored: `duplicate: ${events.map((e) => e.id).join(', ')} already received (a redelivery)` });
    const { accepted, late } = await deps.ingest(fresh, source);
    // Remembered once the pipeline has them: a delivery refused with a 503 must be taken when retried.
    for (const e of fresh) seen.add(e.id);
    json(res, 200, {
      accepted,
      late,
      events: fresh.map((e) => ({
        id: e.id,
        kind: e.kind,
        stack: e.stack,
        service: e.service,
        ts: new Date(e.ts).toISOString(),
        status: e.attributes['status'],
      })),
      ...(late > 0 ? { note: 'older than the event-time watermark: too late to be correlated (the change was reported long after it happened)' } : {}),
    });
  };

  return [
    {
      method: 'POST',
      path: /^\/v1\/hooks\/github$/,
      name: 'hook_github',
      handler: async (req, res) => {
        const secret = deps.githubSecret;
        if (secret === undefined)
          throw new HttpError(404, 'the GitHub receiver is off: set HARBINGER_GITHUB_WEBHOOK_SECRET (or _FILE), the secret of the GitHub webhook');
        const body = await readBody(req, deps.bodyLimitBytes);
        const sig = verifyGitHubSignature(secret, req.headers['x-hub-signature-256'], body);
        if (!sig.ok) throw new HttpError(401, sig.reason);
        const event = req.headers['x-github-event'];
        if (typeof event !== 'string' || event === '') throw new HttpError(400, 'missing X-GitHub-Event header (GitHub names the event there)');
        await answer(res, fromGitHub(event, parseGitHubBody(req, body), deps.config.github), 'github');
      },
    },
    {
      method: 'POST',
      path: /^\/v1\/hooks\/argocd$/,
      name: 'hook_argocd',
      // Argo CD's webhook service sends the headers (or basic auth) its configuration names.
      handler: async (req, res) => {
        checkAuth(req, deps.tokens, 'ingest', true);
        const body = await readBody(req, deps.bodyLimitBytes);
        await answer(res, fromArgoCd(parseJson(body), deps.config.argocd), 'argocd');
      },
    },
    {
      method: 'POST',
      path: /^\/v1\/hooks\/flagger$/,
      name: 'hook_flagger',
      handler: async (req, res) => {
        // Flagger's webhooks carry no headers: the token comes in the webhook's metadata, unless a
        // proxy in front adds an Authorization header.
        const header = req.headers['authorization'];
        if (header !== undefined) checkAuth(req, deps.tokens, 'ingest');
        const body = await readBody(req, deps.bodyLimitBytes);
        const payload = parseJson(body);
        if (header === undefined && deps.tokens.length > 0) {
          const meta = (payload as { metadata?: unknown } | null)?.metadata;
          const token = meta !== null && typeof meta === 'object' ? (meta as Record<string, unknown>)['token'] : undefined;
          if (typeof token !== 'string' || token === '')
            throw new HttpError(401, "no token: Flagger sends no headers; add `token: <HARBINGER_INGEST_TOKEN>` to the webhook's metadata");
          checkToken(token, deps.tokens, 'ingest');
        }
        await answer(res, fromFlagger(payload, deps.config.flagger), 'flagger');
      },
    },
  ];
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `not JSON: ${(e as Error).message}`);
  }
}

/** GitHub sends JSON, or with the webhook's content type set to form, `payload=<JSON>` (the signature covers the raw body either way). */
function parseGitHubBody(req: IncomingMessage, body: Buffer): unknown {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return parseJson(body);
  const payload = new URLSearchParams(body.toString('utf8')).get('payload');
  if (payload === null) throw new HttpError(400, 'form body without a payload field (GitHub sends payload=<JSON>)');
  return parseJson(Buffer.from(payload, 'utf8'));
}

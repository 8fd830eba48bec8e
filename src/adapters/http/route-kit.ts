import type { IncomingMessage, ServerResponse } from 'node:http';
import { checkAuth, type ApiToken, type Role } from './auth.js';

export type Handler = (req: IncomingMessage, res: ServerResponse, params: string[]) => Promise<void>;

/** One endpoint: the method, the path (its groups are the handler's params), and the name /metrics counts it by. */
export interface Route {
  method: string;
  path: RegExp;
  name: string;
  handler: Handler;
}

/** What every group of routes writes with: a JSON answer, and a handler behind a role's token. */
export interface RouteKit {
  json(res: ServerResponse, status: number, body: unknown): void;
  authed(role: Role, fn: Handler, allowBasic?: boolean): Handler;
}

export function routeKit(tokens: readonly ApiToken[]): RouteKit {
  return {
    json(res, status, body) {
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify(body));
    },
    authed:
      (role, fn, allowBasic = false) =>
      async (req, res, params) => {
        checkAuth(req, tokens, role, allowBasic);
        await fn(req, res, params);
      },
  };
}

import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

/** What a token may do: send data (samples, events, remote_write, Alertmanager), read state, approve/reject, administer (reload). */
export type Role = 'ingest' | 'read' | 'approve' | 'admin';

export interface ApiToken {
  token: string;
  roles: readonly Role[];
}

/**
 * Bearer-token check for the API and for Alertmanager's posts (which may also use basic auth:
 * Alertmanager's http_config offers `authorization` or `basic_auth`; any username, the token as
 * password). Constant-time comparison against every configured token; the matching token must
 * carry the route's role (a remote_write token cannot approve a traffic shift). Without any
 * configured token, auth is off and the server binds to loopback only.
 */
export function checkAuth(req: IncomingMessage, tokens: readonly ApiToken[], role: Role, allowBasic = false): void {
  if (tokens.length === 0) return;
  const header = req.headers['authorization'];
  if (typeof header !== 'string' || header === '') throw new HttpError(401, 'missing Authorization header (Bearer token required)');
  const [scheme, credentials = ''] = header.split(' ', 2);
  let presented: string | undefined;
  if (scheme?.toLowerCase() === 'bearer') presented = credentials.trim();
  else if (allowBasic && scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(credentials, 'base64').toString('utf8');
    presented = decoded.slice(decoded.indexOf(':') + 1);
  }
  if (presented === undefined) throw new HttpError(401, `unsupported Authorization scheme '${scheme ?? ''}'${allowBasic ? ' (Bearer or Basic)' : ' (Bearer)'}`);
  checkToken(presented, tokens, role);
}

/**
 * A token presented some other way than a header (Flagger's webhooks can send none: a token in the
 * webhook's metadata), checked as a bearer token is: constant time, and the route's role.
 */
export function checkToken(presented: string, tokens: readonly ApiToken[], role: Role): void {
  const a = Buffer.from(presented);
  // Every token is compared (no early exit), so timing says nothing about which one nearly matched.
  let match: ApiToken | undefined;
  for (const t of tokens) {
    const b = Buffer.from(t.token);
    if (a.length === b.length && timingSafeEqual(a, b) && match === undefined) match = t;
  }
  if (match === undefined) throw new HttpError(403, 'invalid token');
  if (!match.roles.includes(role)) throw new HttpError(403, `this token may not ${ROLE_VERB[role]} (its roles: ${match.roles.join(', ')})`);
}

const ROLE_VERB: Record<Role, string> = { ingest: 'send data', read: 'read state', approve: 'approve or reject', admin: 'administer the service' };

import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

/**
 * Bearer-token check for the API and for Alertmanager's posts (which may also use basic auth:
 * Alertmanager's http_config offers `authorization` or `basic_auth`; any username, the token as
 * password). Constant-time comparison. Without a configured token, auth is off and the server
 * binds to loopback only.
 */
export function checkAuth(req: IncomingMessage, token: string | undefined, allowBasic = false): void {
  if (token === undefined) return;
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
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw new HttpError(403, 'invalid token');
}

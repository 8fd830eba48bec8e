import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import type { Logger } from '../../src/adapters/log/logger.js';

/**
 * A loopback HTTP server for the health-check tests: a healthy endpoint, a slow one, a failing
 * one, a login-then-read API, one that never answers, and a "search index" whose document count
 * per stack the test sets.
 */
export interface ProbeTarget {
  url: string;
  port: number;
  /** Documents in each stack's search index (GET /search/<stack>/_count). */
  indexCount: Map<string, number>;
  /** Requests in flight on /hang, and the most seen at once. */
  hanging: { now: number; max: number };
  close(): Promise<void>;
}

export async function startProbeTarget(): Promise<ProbeTarget> {
  const indexCount = new Map<string, number>();
  const hanging = { now: 0, max: 0 };
  const held: ServerResponse[] = [];
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const search = /^\/search\/(\w+)\/_count$/.exec(path);
    if (path === '/ok') return json(res, 200, { status: 'up', db: { ok: true, replicas: [{ lag: 0 }] } });
    if (path === '/slow') return void setTimeout(() => json(res, 200, { status: 'up' }), 150);
    if (path === '/fail') return json(res, 503, { status: 'down' });
    if (path === '/login' && req.method === 'POST') return json(res, 200, { session: { token: 't-123' } });
    if (path === '/login-wrong' && req.method === 'POST') return json(res, 200, { session: { token: 'stale' } });
    if (path === '/orders') return req.headers.authorization === 'Bearer t-123' ? json(res, 200, { items: [{ id: 7 }] }) : json(res, 401, {});
    if (search !== null) return json(res, 200, { count: indexCount.get(search[1]!) ?? 0 });
    if (path === '/hang') {
      hanging.now++;
      hanging.max = Math.max(hanging.max, hanging.now);
      req.on('close', () => hanging.now--);
      held.push(res);
      return;
    }
    json(res, 404, {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    indexCount,
    hanging,
    close: async () => {
      for (const r of held) r.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A real pino logger whose lines the test reads. */
export function capturedLogger(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  return { log, lines };
}

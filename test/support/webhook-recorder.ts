import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { waitFor as poll } from './process.js';

export interface RecordedRequest {
  method: string;
  /** Path including query string, as sent. */
  path: string;
  /** Node's lower-cased header map. */
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Date.now() when the body was complete. */
  receivedAt: number;
}

export interface Recorder {
  /** Base URL, e.g. http://127.0.0.1:PORT (any path is accepted and recorded). */
  url: string;
  port: number;
  /** Every request so far, in arrival order (live array). */
  requests: RecordedRequest[];
  /** Resolves with the first request (already recorded or future) matching `pred`. */
  waitFor(pred: (r: RecordedRequest) => boolean, timeoutMs: number): Promise<RecordedRequest>;
  /** Status code for subsequent responses (default 200). */
  respondWith(status: number): void;
  /** Forget recorded requests. */
  clear(): void;
  stop(): Promise<void>;
}

/** Parses a recorded body as JSON. */
export function jsonBody<T = unknown>(r: RecordedRequest): T {
  return JSON.parse(r.body.toString('utf8')) as T;
}

/** Starts an HTTP server on 127.0.0.1 that records every request and answers `respondWith` status. */
export async function startRecorder(): Promise<Recorder> {
  const requests: RecordedRequest[] = [];
  let status = 200;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '/',
        headers: { ...(req.headers as IncomingHttpHeaders) },
        body: Buffer.concat(chunks),
        receivedAt: Date.now(),
      });
      res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status < 300 ? 'ok\n' : 'error\n');
    });
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('recorder: no address');
  const port = addr.port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    waitFor: (pred, timeoutMs) =>
      poll(() => requests.find(pred), timeoutMs, {
        intervalMs: 50,
        description: 'recorder request matching predicate',
        context: () =>
          `${requests.length} request(s) recorded:\n` +
          requests
            .slice(-10)
            .map(
              (r) =>
                `${r.method} ${r.path} (${r.body.length} bytes) ${r.body
                  .subarray(0, 300)
                  .toString('utf8')
                  .replace(/[^\x20-\x7e]/g, '.')}`,
            )
            .join('\n'),
      }),
    respondWith(s) {
      status = s;
    },
    clear() {
      requests.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

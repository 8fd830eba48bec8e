import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

/**
 * Reads a request body, refusing (413) past `limit` bytes without buffering the rest: a declared
 * length over the limit is refused before reading, and a chunked body when it crosses the limit.
 * The rest of an oversized body is not read here: the server answers the refusal, then reads and
 * throws away what the sender is still sending (`discardBody`, bounded) before it closes the
 * connection (see HttpError.closeConnection), so the sender reads its 413 instead of a reset.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(`body of ${declared} bytes exceeds the limit of ${limit} bytes`));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      settled = true;
      req.off('data', onData);
      chunks.length = 0;
      req.resume();
      reject(tooLarge(`body exceeds the limit of ${limit} bytes`));
    };
    req.on('data', onData);
    req.once('end', () => {
      if (!settled) resolve(Buffer.concat(chunks));
    });
    req.once('error', (e) => {
      if (settled) return;
      settled = true;
      reject(e);
    });
  });
}

function tooLarge(message: string): HttpError {
  const e = new HttpError(413, message);
  e.closeConnection = true;
  return e;
}

/**
 * How long the rest of a refused body is read (and thrown away) after the answer, at most, before
 * the connection is closed anyway. Closing while the sender is still sending makes the kernel answer
 * its next bytes with a reset (RST), and the sender sees EPIPE or ECONNRESET, often before it read
 * the 413. Apache lingers up to 2 s per read (30 s in all), nginx 5 s per read (30 s in all); 2 s
 * in all hears out the byte bound below (4 MiB by default) from a sender at 17 Mbit/s or more, and
 * the common overshoot (a body a few times the limit) from much slower ones, while a refused
 * request holds a connection slot (server.maxConnections) no longer than that.
 */
export const LINGER_MS = 2000;

/**
 * How many bytes of a refused body are read and thrown away, at most, before the connection is
 * closed anyway: four times the limit, and at least 4 MiB. Senders that go over a limit usually
 * overshoot by a small factor (a batch twice too big), and these are heard out; the floor lets the
 * routes with small limits (16 KiB, 64 KiB) hear out the same senders. Nothing read here is kept,
 * so this bounds bandwidth and CPU (milliseconds on a LAN), not memory.
 */
export function lingerBytes(limit: number): number {
  return Math.max(4 * limit, 4 * 1024 * 1024);
}

/**
 * Reads what is left of a request body and throws it away (nothing is kept: each chunk is only
 * counted), for at most `maxMs` and `maxBytes`. Resolves true when the body ended within those
 * bounds, false when it did not (or the connection went away first): the caller then destroys
 * the connection, cutting off a sender that would never stop.
 */
export function discardBody(req: IncomingMessage, bounds: { maxMs: number; maxBytes: number }): Promise<boolean> {
  if (req.readableEnded) return Promise.resolve(true);
  return new Promise<boolean>((resolve) => {
    let seen = 0;
    let over = false;
    const finish = (ended: boolean): void => {
      if (over) return;
      over = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      resolve(ended);
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > bounds.maxBytes) finish(false);
    };
    const onEnd = (): void => finish(true);
    const onClose = (): void => finish(req.readableEnded);
    const timer = setTimeout(() => finish(false), bounds.maxMs);
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('close', onClose);
    // A reset while discarding is no one's error: the connection is going away anyway.
    req.on('error', () => {});
    req.resume();
  });
}

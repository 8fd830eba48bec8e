import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

/**
 * Reads a request body, refusing (413) past `limit` bytes without buffering the rest: a declared
 * length over the limit is refused before reading, and a chunked body when it crosses the limit.
 * The rest of an oversized body is discarded, not torn off, so the sender reads the 413 (the
 * connection is closed after it: see HttpError.closeConnection).
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

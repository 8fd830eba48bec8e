import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarbingerService } from '../src/app/service.js';
import { parseConfig, withServeDefaults } from '../src/config/load.js';
import { createLogger } from '../src/adapters/log/logger.js';
import { LINGER_MS, lingerBytes } from '../src/adapters/http/body.js';
import { sleep, trackTempDir } from './support/index.js';

/**
 * A body over the route's limit is answered 413 with its reason, and the client reads that answer
 * even while it is still sending: the server reads and throws away the rest of the body (a
 * lingering close, as nginx and Apache do) instead of closing with unread bytes, which makes the
 * kernel reset the connection (the client then sees EPIPE or ECONNRESET, often without its 413).
 * The lingering is bounded: a client that never stops sending is cut off after LINGER_MS or
 * lingerBytes(limit) bytes, whichever comes first.
 *
 * The client is a raw TCP socket speaking HTTP/1.1, so that what the server does on the wire (a
 * reset, an early close) is seen as it is, not as an HTTP client library reports it.
 */
const TOKEN = 'oversized-body-token-0123456789';
const LIMIT = 64 * 1024;
const REPEATS = Number(process.env['HARBINGER_OVERSIZED_REPEATS'] ?? 200);
/** How many of the repeated requests are in flight at once. */
const PARALLEL = 10;

let service: HarbingerService;
let port: number;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hb-oversized-'));
  trackTempDir(dir);
  service = new HarbingerService({
    config: parseConfig(withServeDefaults({ server: { port: 0, dataDir: dir, bodyLimitBytes: LIMIT } })),
    log: createLogger('silent'),
    apiToken: TOKEN,
  });
  ({ port } = await service.start());
});

afterAll(async () => {
  await service?.stop();
});

interface Outcome {
  /** The status of the answer, when one was read. */
  status?: number;
  headers: Record<string, string>;
  body: string;
  /** The socket error, if any (EPIPE, ECONNRESET). */
  error?: string;
  /** Body bytes written before the connection closed (chunk framing not counted). */
  sent: number;
  /** From the first byte of the answer to the connection's close (ms). */
  answerToCloseMs?: number;
}

interface Sending {
  chunked: boolean;
  /** The body's length; for a declared length, what Content-Length says. */
  declared: number;
  /** Body bytes per write. */
  piece: number;
  /** Pause between writes (ms). */
  delayMs: number;
  /** Keep writing (past `declared`) until the connection closes. */
  endless?: boolean;
}

/** POSTs an oversized body to /v1/samples in several writes and reads what comes back until the connection closes. */
function postOversized(s: Sending): Promise<Outcome> {
  return new Promise((resolve) => {
    // Half-open allowed: like curl, or Node's client with the body queued, the client goes on
    // sending after the server's FIN; it closes its side once it has sent everything.
    const socket: Socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
    const received: Buffer[] = [];
    let firstByteAt: number | undefined;
    let error: string | undefined;
    let sent = 0;
    let closed = false;
    let sending = true;
    let serverEnded = false;
    socket.on('end', () => {
      serverEnded = true;
      if (!sending) socket.end();
    });
    socket.on('data', (c: Buffer) => {
      firstByteAt ??= performance.now();
      received.push(c);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
    });
    socket.on('close', () => {
      closed = true;
      const raw = Buffer.concat(received).toString('latin1');
      const at = raw.indexOf('\r\n\r\n');
      const head = at < 0 ? raw : raw.slice(0, at);
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const l of lines) {
        const i = l.indexOf(':');
        if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
      }
      const m = /^HTTP\/1\.1 (\d{3})/.exec(statusLine);
      resolve({
        ...(m ? { status: Number(m[1]) } : {}),
        headers,
        body: at < 0 ? '' : headers['transfer-encoding'] === 'chunked' ? dechunk(raw.slice(at + 4)) : raw.slice(at + 4),
        ...(error !== undefined ? { error } : {}),
        sent,
        ...(firstByteAt !== undefined ? { answerToCloseMs: performance.now() - firstByteAt } : {}),
      });
    });
    const framing = s.chunked ? 'transfer-encoding: chunked' : `content-length: ${s.declared}`;
    const piece = Buffer.alloc(s.piece, 0x78);
    socket.once('connect', async () => {
      socket.write(
        `POST /v1/samples HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${TOKEN}\r\ncontent-type: application/x-ndjson\r\n${framing}\r\n\r\n`,
      );
      while (!closed && (s.endless || sent < s.declared)) {
        const n = s.endless ? s.piece : Math.min(s.piece, s.declared - sent);
        const data = piece.subarray(0, n);
        const ok = socket.write(s.chunked ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), data, Buffer.from('\r\n')]) : data);
        sent += n;
        if (!ok) await new Promise<void>((r) => (closed ? r() : socket.once('drain', r).once('close', r)));
        if (s.delayMs > 0) await sleep(s.delayMs);
      }
      if (!closed && s.chunked) socket.write('0\r\n\r\n');
      sending = false;
      if (serverEnded) socket.end();
      // No FIN from the client: it waits for the server to close, as an HTTP/1.1 client does after `connection: close`.
    });
  });
}

/** The payload of a chunked answer (the server may frame its answer either way). */
function dechunk(text: string): string {
  let out = '';
  let at = 0;
  for (;;) {
    const eol = text.indexOf('\r\n', at);
    if (eol < 0) return out;
    const n = Number.parseInt(text.slice(at, eol), 16);
    if (!(n > 0)) return out;
    out += text.slice(eol + 2, eol + 2 + n);
    at = eol + 2 + n + 2;
  }
}

/** Sends `n` oversized requests, PARALLEL at a time, and tallies what the clients saw. */
async function repeat(n: number, s: Sending): Promise<{ outcomes: Outcome[]; tally: Record<string, number> }> {
  const outcomes: Outcome[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < n) {
        next++;
        outcomes.push(await postOversized(s));
      }
    }),
  );
  const tally: Record<string, number> = {};
  for (const o of outcomes) {
    const key = `${o.status ?? 'no answer'}${o.error !== undefined ? ` + ${o.error}` : ''}`;
    tally[key] = (tally[key] ?? 0) + 1;
  }
  return { outcomes, tally };
}

function expectRead413(o: Outcome): void {
  expect(o.status).toBe(413);
  expect(o.headers['connection']).toBe('close');
  expect(o.headers['content-type']).toMatch(/^application\/json/);
  const reason = JSON.parse(o.body) as { error?: string };
  expect(reason.error).toMatch(/exceeds the limit of 65536 bytes/);
}

describe('a body over the limit is answered 413, and the answer is read', () => {
  it(`declared Content-Length, sent in several writes: ${REPEATS} clients read their 413, none is reset`, async () => {
    // Twice the limit in 8 writes, 1 ms apart: the server refuses on the header, before any of it arrives.
    const { outcomes, tally } = await repeat(REPEATS, { chunked: false, declared: 2 * LIMIT, piece: LIMIT / 4, delayMs: 1 });
    process.stdout.write(`oversized declared: ${JSON.stringify(tally)}\n`);
    expect(tally).toEqual({ 413: REPEATS });
    for (const o of outcomes) {
      expectRead413(o);
      expect(o.sent).toBe(2 * LIMIT);
    }
  });

  it(`chunked, sent in several writes: ${REPEATS} clients read their 413, none is reset`, async () => {
    const { outcomes, tally } = await repeat(REPEATS, { chunked: true, declared: 2 * LIMIT, piece: LIMIT / 4, delayMs: 1 });
    process.stdout.write(`oversized chunked: ${JSON.stringify(tally)}\n`);
    expect(tally).toEqual({ 413: REPEATS });
    for (const o of outcomes) {
      expectRead413(o);
      expect(o.sent).toBe(2 * LIMIT);
    }
  });

  it('a client that never stops sending is cut off at the bound, after reading its 413', async () => {
    const deadline = LINGER_MS + 1500;
    const cutOff = (o: Promise<Outcome>): Promise<Outcome> =>
      Promise.race([o, sleep(deadline).then(() => Promise.reject(new Error(`still connected ${deadline} ms after the 413`)))]);
    const [fast, slow] = await Promise.all([
      // As fast as the socket takes it: cut off by the byte bound, long before the time bound.
      cutOff(postOversized({ chunked: true, declared: 0, piece: 64 * 1024, delayMs: 0, endless: true })),
      // 1 KiB every 20 ms under a declared 1 GiB: cut off by the time bound.
      cutOff(postOversized({ chunked: false, declared: 1024 ** 3, piece: 1024, delayMs: 20 })),
    ]);
    process.stdout.write(
      `oversized endless: fast sent ${fast.sent} bytes, closed ${fast.answerToCloseMs?.toFixed(0)} ms after the 413 (${fast.error ?? 'no error'}); ` +
        `slow sent ${slow.sent} bytes, closed ${slow.answerToCloseMs?.toFixed(0)} ms after the 413 (${slow.error ?? 'no error'})\n`,
    );
    for (const o of [fast, slow]) expectRead413(o);
    // The fast sender was heard out up to the byte bound (what it wrote includes what the kernel still buffered).
    expect(fast.sent).toBeGreaterThanOrEqual(lingerBytes(LIMIT));
    expect(fast.answerToCloseMs).toBeLessThan(LINGER_MS);
    // The slow one was read for the whole time bound, then cut off (timers do not fire early).
    expect(slow.answerToCloseMs).toBeGreaterThan(LINGER_MS - 300);
  });

  it('the server still answers afterwards', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
  });
});

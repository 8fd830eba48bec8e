import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { ProbeConfig } from './config.js';
import { fail, reasonOf, type ProbeResult, type ProbeRun } from './probe-result.js';

type TcpProbe = Extract<ProbeConfig, { kind: 'tcp' }>;
type TlsProbe = Extract<ProbeConfig, { kind: 'tls' }>;

const DAY_MS = 86_400_000;

/** Settles once the socket connected (or failed); the socket is always destroyed. */
function onceConnected<S extends Socket>(
  socket: S,
  event: 'connect' | 'secureConnect',
  signal: AbortSignal,
  check: (s: S) => ProbeResult,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const done = (r: ProbeResult): void => {
      signal.removeEventListener('abort', abort);
      socket.destroy();
      resolve(r);
    };
    const abort = (): void => done(fail('aborted'));
    signal.addEventListener('abort', abort, { once: true });
    socket.once(event, () => done(check(socket)));
    socket.once('error', (e) => done(fail(reasonOf(e))));
  });
}

/** Infrastructure: the port accepts a connection. */
export function tcpProbe(p: TcpProbe): ProbeRun {
  return (signal) => onceConnected(tcpConnect({ host: p.host, port: p.port }), 'connect', signal, () => ({ ok: true }));
}

/**
 * Infrastructure: a TLS handshake the client trusts (the system CAs, or `caFile`), and optionally
 * a certificate that does not expire within `minCertDays` (a renewal that failed weeks ago shows
 * before the outage). `now` is the prober's clock.
 */
export function tlsProbe(p: TlsProbe, now: () => number): ProbeRun {
  // Read once at construction: a missing CA file is a configuration problem, said at start.
  const ca = p.caFile !== undefined ? readFileSync(p.caFile) : undefined;
  return (signal) => {
    const socket = tlsConnect({ host: p.host, port: p.port, servername: p.servername ?? p.host, ...(ca !== undefined ? { ca } : {}) });
    return onceConnected<TLSSocket>(socket, 'secureConnect', signal, (s) => {
      if (!s.authorized) return fail(`certificate not trusted: ${String(s.authorizationError)}`);
      if (p.minCertDays === undefined) return { ok: true };
      const validTo = Date.parse(s.getPeerCertificate().valid_to);
      const daysLeft = (validTo - now()) / DAY_MS;
      if (!(daysLeft >= p.minCertDays)) return fail(`certificate expires in ${daysLeft.toFixed(1)} days (minCertDays ${p.minCertDays})`);
      return { ok: true };
    });
  };
}

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HarbingerConfig } from '../config/load.js';
import type { ServiceMetrics } from '../adapters/http/metrics.js';
import { createHttpServer, type HttpPort } from '../adapters/http/server.js';
import type { ApiToken, Role } from '../adapters/http/auth.js';
import type { Logger } from '../adapters/log/logger.js';

/** The API token (every role) and the tokens limited to one role. */
export function apiTokens(apiToken: string | undefined, roles: { ingest?: string; read?: string; approve?: string } | undefined): ApiToken[] {
  return [
    ...(apiToken !== undefined ? [{ token: apiToken, roles: ['ingest', 'read', 'approve', 'admin'] as Role[] }] : []),
    ...(roles?.ingest !== undefined ? [{ token: roles.ingest, roles: ['ingest'] as Role[] }] : []),
    ...(roles?.read !== undefined ? [{ token: roles.read, roles: ['read'] as Role[] }] : []),
    ...(roles?.approve !== undefined ? [{ token: roles.approve, roles: ['approve', 'read'] as Role[] }] : []),
  ];
}

/**
 * Listens with the HTTP port on server.host:server.port. Without any token it fails closed: it
 * listens on loopback only, unless server.allowUnauthenticated says otherwise (and warns either way).
 */
export async function listenHttp(
  port: HttpPort,
  cfg: HarbingerConfig,
  tokens: ApiToken[],
  githubSecret: string | undefined,
  metrics: ServiceMetrics,
  log: Logger,
): Promise<{ server: Server; address: AddressInfo }> {
  const host = cfg.server.host ?? (tokens.length === 0 ? '127.0.0.1' : '0.0.0.0');
  if (tokens.length === 0) {
    const loopback = host === '127.0.0.1' || host === '::1' || host === 'localhost';
    if (!loopback && !cfg.server.allowUnauthenticated)
      throw new Error(`refusing to listen on ${host} without HARBINGER_API_TOKEN (set the token, or server.allowUnauthenticated: true)`);
    log.warn(
      { host },
      loopback
        ? 'no HARBINGER_API_TOKEN: authentication is off, listening on loopback only'
        : 'no HARBINGER_API_TOKEN and server.allowUnauthenticated: authentication is OFF on a non-loopback address',
    );
  }
  const server = createHttpServer(
    port,
    {
      tokens,
      bodyLimitBytes: cfg.server.bodyLimitBytes,
      maxDecompressedBytes: cfg.server.maxDecompressedBytes,
      headersTimeoutSeconds: cfg.server.headersTimeoutSeconds,
      requestTimeoutSeconds: cfg.server.requestTimeoutSeconds,
      keepAliveTimeoutSeconds: cfg.server.keepAliveTimeoutSeconds,
      maxConnections: cfg.server.maxConnections,
      remoteWriteMaxSeries: cfg.limits.remoteWriteMaxSeries,
      remoteWriteMaxSamples: cfg.limits.remoteWriteMaxSamples,
      deployHooks: { config: cfg.deployHooks, githubSecret },
    },
    metrics,
    log,
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.server.port, host, () => resolve());
  });
  return { server, address: server.address() as AddressInfo };
}

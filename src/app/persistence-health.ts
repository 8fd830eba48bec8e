import type { ServiceMetrics } from '../adapters/http/metrics.js';
import type { Logger } from '../adapters/log/logger.js';

export type PersistenceSource = 'audit' | 'checkpoint' | 'wal';

/**
 * Whether what `serve` must keep (state checkpoints, the audit log) can be written now. While it
 * cannot, ingest answers 503 and /readyz fails (fail closed: nothing is acknowledged that cannot
 * be kept). The periodic checkpoint is the probe: when it succeeds, the directory is writable
 * again and the failure, of whatever kind, is cleared.
 */
export class PersistenceHealth {
  private failure: { source: PersistenceSource; reason: string } | undefined;

  constructor(
    private readonly metrics: ServiceMetrics,
    private readonly log: Logger,
  ) {
    metrics.persistenceHealthy.set(1);
  }

  /** Why writing fails now; undefined while it works. */
  get problem(): string | undefined {
    return this.failure?.reason;
  }

  failed(source: PersistenceSource, reason: string): void {
    this.failure = { source, reason };
    this.metrics.persistenceHealthy.set(0);
  }

  /** A write of this kind worked; a checkpoint (state and audit head, in the same directory) clears any kind. */
  succeeded(source: PersistenceSource): void {
    if (this.failure === undefined || (this.failure.source !== source && source !== 'checkpoint')) return;
    this.failure = undefined;
    this.metrics.persistenceHealthy.set(1);
    this.log.info('state and audit log writable again; accepting data');
  }
}

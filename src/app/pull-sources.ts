import type { HarbingerConfig } from '../config/load.js';
import type { Sample } from '../domain/types.js';
import type { ServiceMetrics } from '../adapters/http/metrics.js';
import type { Logger } from '../adapters/log/logger.js';
import { PrometheusPoller } from '../adapters/prometheus/poller.js';
import { HealthProber } from '../adapters/health-checks/prober.js';

/**
 * The sources the service pulls from itself, when configured: the Prometheus poller and the
 * synthetic health checks. Both feed the same intake as pushed data; a failed ingest is logged and
 * counted there, so it is not raised again here.
 */
export class PullSources {
  private poller: PrometheusPoller | undefined;
  private prober: HealthProber | undefined;

  start(cfg: HarbingerConfig, ingest: (samples: Sample[], source: string) => Promise<unknown>, metrics: ServiceMetrics, log: Logger, now: () => number): void {
    const feed = (source: string) => (samples: Sample[]) => void ingest(samples, source).catch(() => undefined);
    if (cfg.prometheus !== undefined) {
      this.poller = new PrometheusPoller(
        cfg.prometheus,
        feed('prometheus'),
        log,
        (secs, failed) => {
          metrics.prometheus.duration.observe(secs);
          if (failed > 0) metrics.prometheus.errors.inc(failed);
        },
        now,
      );
      this.poller.start();
    }
    if (cfg.healthChecks !== undefined) {
      this.prober = new HealthProber(cfg.healthChecks, feed('health-check'), log, { now, env: process.env });
      this.prober.start();
    }
  }

  /** Readiness waits for the first successful Prometheus poll, when there is a poller. */
  get waitingForFirstPoll(): boolean {
    return this.poller !== undefined && this.poller.lastSuccess === 0;
  }

  async stop(): Promise<void> {
    this.poller?.stop();
    await this.prober?.stop();
  }
}

import type { HarbingerConfig } from '../config/load.js';
import { PrometheusPoller } from '../adapters/prometheus/poller.js';
import type { ServiceMetrics } from '../adapters/http/metrics.js';
import type { Logger } from '../adapters/log/logger.js';
import type { EmbeddedRuntime } from './runtime/embedded-runtime.js';

/**
 * Warm start: at a fresh start with `prometheus.warmStartHours`, the baselines learn that much of
 * Prometheus' history before the first poll (the caller checkpoints after). On Kafka the shards
 * own detection state, so this is for the embedded runtime. Returns whether it ran.
 */
export async function warmStart(cfg: HarbingerConfig, runtime: EmbeddedRuntime, now: number, metrics: ServiceMetrics, log: Logger): Promise<boolean> {
  const p = cfg.prometheus;
  if (p === undefined || p.warmStartHours <= 0 || !runtime.fresh) return false;
  const to = Math.floor(now / 1000 / p.stepSeconds) * p.stepSeconds * 1000;
  const from = to - p.warmStartHours * 3_600_000;
  const started = performance.now();
  const history = new PrometheusPoller(p, () => undefined, log);
  let result = { samples: 0, failedQueries: 0 };
  await runtime.warm(async (offer) => {
    result = await history.history(from, to, offer);
  });
  metrics.samplesReceived.inc({ source: 'prometheus_history' }, result.samples);
  log.info(
    { hours: p.warmStartHours, samples: result.samples, failedQueries: result.failedQueries, seconds: Math.round(performance.now() - started) / 1000 },
    'warm start: baselines learned from Prometheus history',
  );
  return true;
}

import type { HarbingerConfig } from '../config/load.js';
import { formulaConfidence } from '../core/decide/confidence.js';
import type { ConfidenceModel } from '../core/decide/confidence.js';
import type { ServiceMetrics } from '../adapters/http/metrics.js';
import type { Logger } from '../adapters/log/logger.js';
import type { ModelWatcher } from '../model/load.js';

/**
 * The learned confidence model, when its selection says it beat the formula on held-out data;
 * hot-reloaded when the files change. Any failure keeps the formula: confidence never goes dark.
 * `use` installs a model in the decision engine; the returned watcher is closed at stop.
 */
export async function loadConfidenceModel(
  cfg: HarbingerConfig,
  use: (model: ConfidenceModel) => void,
  metrics: ServiceMetrics,
  log: Logger,
): Promise<ModelWatcher | undefined> {
  const setting = cfg.server.confidenceModel;
  const formula = formulaConfidence({ warnScore: cfg.detection.threshold.warnScore, horizonMinutes: cfg.detection.prediction.horizonMinutes });
  const showFormula = (): void => {
    metrics.confidenceModel.reset();
    metrics.confidenceModel.set({ source: 'formula', version: 'formula', backend: 'none' }, 1);
  };
  showFormula();
  if (setting === 'formula') return undefined;
  try {
    // Imported lazily: the model code loads only when a learned model is wanted. It runs in plain
    // TypeScript (src/model/dense-forward.ts): TensorFlow.js is never loaded by serve.
    const { loadConfidenceModel: load, shippedModelDir, watchConfidenceModel } = await import('../model/load.js');
    const dir = setting === 'shipped' ? shippedModelDir() : setting;
    const install = (m: Awaited<ReturnType<typeof load>>): void => {
      if (m === undefined) {
        use(formula);
        showFormula();
        log.info({ dir }, 'confidence: the formula (no learned model selected)');
        return;
      }
      use(m.model);
      metrics.confidenceModel.reset();
      metrics.confidenceModel.set({ source: 'learned', version: m.version, backend: m.backend }, 1);
      log.info({ dir, version: m.version, backend: m.backend }, 'confidence: learned model loaded');
    };
    const initial = await load(dir, { onSkip: (reason) => log.info({ dir, reason }, 'confidence: learned model not used') });
    install(initial);
    return watchConfidenceModel(dir, install, {
      initial: initial ?? null,
      onError: (e) => log.warn({ err: (e as Error).message }, 'confidence: reload failed, keeping the current model'),
    });
  } catch (e) {
    log.warn({ err: (e as Error).message }, 'confidence: learned model unavailable, using the formula');
    return undefined;
  }
}

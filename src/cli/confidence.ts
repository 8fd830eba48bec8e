import { pino } from 'pino';
import { Gauge } from 'prom-client';
import type { ServiceMetrics } from '../adapters/http/metrics.js';
import { loadConfidenceModel } from '../app/confidence-model.js';
import type { HarbingerConfig } from '../config/load.js';
import type { ConfidenceModel } from '../core/decide/confidence.js';
import { complain, EXIT, loadModelOption } from './command.js';

export interface ConfidenceChoice {
  /** The model to decide with; undefined: the decision engine's own formula. */
  model: ConfidenceModel | undefined;
  /** Which one and why, for the summary. */
  label: string;
}

/**
 * The confidence model a replay decides with. By default the one serve would use with the same
 * configuration (server.confidenceModel, then that folder's selection.json: the learned model only
 * where training selected it), found by calling serve's own loader so the two cannot drift apart.
 * `--model` overrides it: 'formula', or 'shipped' / a folder whose model is used whatever its
 * selection says. null: the --model folder holds no model (reported).
 */
export async function chooseConfidence(config: HarbingerConfig, flag: string | undefined, command: string): Promise<ConfidenceChoice | null> {
  if (flag === 'formula') return { model: undefined, label: 'formula (--model formula)' };
  if (flag !== undefined) {
    const model = await loadModelOption(flag, command);
    return model === null || model === undefined ? null : { model, label: `learned model from --model ${flag}` };
  }
  // Serve's loader reports its choice on the harbinger_confidence_model_info gauge and its problems
  // in the log. The gauge (unregistered) is read back here, structured; a warning (say, a corrupt
  // model, on which serve too keeps the formula) goes to stderr as one line.
  const shown = new Gauge({ name: 'harbinger_confidence_model_info', help: 'replay', labelNames: ['source', 'version', 'backend'], registers: [] });
  const log = pino({ level: 'warn' }, { write: (line: string) => warn(command, line) });
  let model: ConfidenceModel | undefined;
  // The loader uses only this gauge of the service's metrics.
  const metrics = { confidenceModel: shown } as unknown as ServiceMetrics;
  const watcher = await loadConfidenceModel(config, (m) => (model = m), metrics, log);
  watcher?.close(); // a replay decides with one model from start to end: no hot reload
  const labels = (await shown.get()).values.find((v) => v.value === 1)?.labels;
  const source = labels?.source === 'learned' ? `learned model ${String(labels.version)}` : 'formula';
  return { model, label: `${source}, as serve would decide (server.confidenceModel: ${config.server.confidenceModel})` };
}

function warn(command: string, line: string): void {
  const r = JSON.parse(line) as { msg?: string; err?: string };
  complain(command, `${r.msg ?? 'confidence model'}${r.err !== undefined ? `: ${r.err}` : ''}`, EXIT.ok);
}

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../adapters/file/durable-file.js';
import { evaluateKit, type KitOverall } from '../eval/kit-eval.js';
import type { HarbingerConfig } from '../config/load.js';
import { formulaConfidence, type ConfidenceModel } from '../core/decide/confidence.js';
import type { EvalSummary } from '../eval/fixture-eval.js';
import { initBackend } from './backend.js';
import { ConfidenceNet, DEFAULT_TRAIN_OPTIONS, type TrainOptions } from './confidence-net.js';
import { runScenarios, type LabeledSample, type ScenarioRun } from './dataset.js';
import { closedLoop, closedLoopSummary, falseMitigations, measureLatency, scoreModel, type LatencyStats } from './evaluate.js';
import { calibrationBins, type CalibrationBin, type ModelMetrics } from './metrics.js';
import { renderModelCard } from './model-card.js';
import { readTrainingLog, samplesFromLog } from './training-log.js';
import { FEATURE_VERSION } from './features.js';

/**
 * `harbinger train` end to end: samples from replays of generated scenarios (training seeds) and from
 * operator training logs → a seeded model → held-out evaluation against the formula (held-out seeds,
 * never trained on) → model.json + weights.bin + README.md (model card) + selection.json in `out`.
 */

export interface TrainRunOptions {
  config: HarbingerConfig;
  seeds: number[];
  heldout: number[];
  /** Training logs (JSONL) of operator decisions to merge. */
  data: string[];
  out: string | undefined;
  train: TrainOptions;
  /** Loss weight of one operator decision relative to one truth sample. */
  operatorWeight: number;
  /** Skip the closed-loop replays (faster; the selection then rests on the offline metrics alone). */
  closedLoop: boolean;
  /**
   * The independent scenario kit the learned model must also beat the formula on (scenarios from a
   * generator it was never trained on). Undefined: not available, so the formula stays the default.
   */
  kit?: { dir: string; seeds: string[] };
  onProgress?: (msg: string) => void;
}

export const DEFAULT_SEEDS = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
export const DEFAULT_HELDOUT = [12, 13, 14, 15, 16, 17, 18, 19];
export const DEFAULT_OPERATOR_WEIGHT = 5;

export interface Selection {
  default: 'formula' | 'learned';
  reason: string;
  decidedAt: string;
  modelVersion: string;
  featureVersion: number;
  /** The comparisons the decision rests on (learned vs formula, held-out). */
  checks: { name: string; learned: number; formula: number; better: 'lower' | 'higher'; ok: boolean }[];
}

export interface TrainRunResult {
  backend: string;
  net: ConfidenceNet;
  train: {
    samples: number;
    positives: number;
    truth: number;
    truthPositives: number;
    operator: number;
    operatorPositives: number;
    logs: { path: string; entries: number }[];
  };
  heldout: {
    samples: number;
    positives: number;
    learned: ModelMetrics;
    formula: ModelMetrics;
    calibration: { learned: CalibrationBin[]; formula: CalibrationBin[] };
  };
  closedLoop: { learned: EvalSummary; formula: EvalSummary; falseMitigations: { learned: string[]; formula: string[] } } | undefined;
  /** The kit's own scorer, pooled over its seeds, with each model deciding. */
  kit: { seeds: string[]; learned: KitOverall; formula: KitOverall } | undefined;
  latency: LatencyStats;
  selection: Selection;
  hourSpread: { scenario: string; hours: number[] }[];
  trainSeconds: number;
  options: TrainRunOptions;
}

export async function runTraining(o: TrainRunOptions): Promise<TrainRunResult> {
  const say = o.onProgress ?? ((): void => {});
  const backend = await initBackend();
  say(`backend: ${backend}`);
  const threshold = o.config.decision.confidence.minimum;
  const formula = formulaConfidence({ warnScore: o.config.detection.threshold.warnScore, horizonMinutes: o.config.detection.prediction.horizonMinutes });

  // Logs first: a bad line fails the run before a minute of replays.
  const logs = o.data.map((path) => ({ path, entries: readTrainingLog(path) }));
  const operatorSamples = samplesFromLog(
    logs.flatMap((l) => l.entries),
    o.operatorWeight,
  );
  const trainRuns = runScenarios(o.seeds, o.config, { onScenario: (n, s) => say(`training data: replaying ${n} seed ${s}`) });
  const truthSamples = trainRuns.flatMap((r) => r.samples);
  const samples: LabeledSample[] = [...truthSamples, ...operatorSamples];
  say(`training on ${samples.length} samples (${truthSamples.length} from truth, ${operatorSamples.length} operator decisions)`);
  const t0 = performance.now();
  const net = await ConfidenceNet.train(samples, o.train);
  const trainSeconds = (performance.now() - t0) / 1000;
  const learned = net.asConfidenceModel();

  const heldRuns = runScenarios(o.heldout, o.config, { onScenario: (n, s) => say(`held-out: replaying ${n} seed ${s}`) });
  const held = heldRuns.flatMap((r) => r.samples);
  const heldLearned = scoreModel((e) => net.predict(e), held, threshold);
  const heldFormula = scoreModel(formula, held, threshold);
  const calibration = {
    learned: calibrationBins(held.map((s) => ({ p: net.predict(s.evidence), y: s.label }))),
    formula: calibrationBins(held.map((s) => ({ p: formula(s.evidence), y: s.label }))),
  };

  let loop: TrainRunResult['closedLoop'];
  if (o.closedLoop) {
    const l = closedLoop(o.heldout, o.config, learned, (n, s) => say(`closed loop: replaying ${n} seed ${s} with the learned model deciding`));
    loop = {
      learned: l.summary,
      formula: closedLoopSummary(heldRuns),
      falseMitigations: { learned: falseMitigations(l.runs), formula: falseMitigations(heldRuns) },
    };
  }

  const evidence = held.length > 0 ? held.map((s) => s.evidence) : truthSamples.map((s) => s.evidence);
  const latency = measureLatency(learned, evidence);

  let kit: TrainRunResult['kit'];
  if (o.kit !== undefined) {
    const run = async (confidence: ConfidenceModel | undefined, who: string): Promise<KitOverall> =>
      (
        await evaluateKit({
          kitDir: o.kit!.dir,
          seeds: o.kit!.seeds,
          config: o.config,
          workDir: mkdtempSync(join(tmpdir(), 'harbinger-train-kit-')),
          onProgress: (m) => say(`independent kit (${who}): ${m}`),
          ...(confidence !== undefined ? { confidence } : {}),
        })
      ).pooled;
    kit = { seeds: o.kit.seeds, learned: await run(learned, 'learned deciding'), formula: await run(undefined, 'formula deciding') };
  }

  const selection = decide(heldLearned, heldFormula, loop, net.version, kit);
  if (o.out !== undefined) {
    // The metrics ride along in model.json too, so a model file alone says how good it was.
    await net.save(o.out, {
      heldout: { learned: heldLearned, formula: heldFormula },
      closedLoop: loop === undefined ? null : { learned: loop.learned, formula: loop.formula },
      selection: selection.default,
      seeds: o.seeds,
      heldoutSeeds: o.heldout,
    });
    selection.modelVersion = net.version;
  }

  const result: TrainRunResult = {
    backend,
    net,
    train: {
      samples: samples.length,
      positives: samples.filter((s) => s.label === 1).length,
      truth: truthSamples.length,
      truthPositives: truthSamples.filter((s) => s.label === 1).length,
      operator: operatorSamples.length,
      operatorPositives: operatorSamples.filter((s) => s.label === 1).length,
      logs: logs.map((l) => ({ path: l.path, entries: l.entries.length })),
    },
    heldout: { samples: held.length, positives: held.filter((s) => s.label === 1).length, learned: heldLearned, formula: heldFormula, calibration },
    closedLoop: loop,
    kit,
    latency,
    selection,
    hourSpread: hourSpread([...trainRuns, ...heldRuns]),
    trainSeconds,
    options: o,
  };
  if (o.out !== undefined) {
    mkdirSync(o.out, { recursive: true });
    // Atomic: a serving process hot-reloads the folder and must never read half a selection.
    writeFileAtomic(join(o.out, 'selection.json'), `${JSON.stringify(selection, null, 2)}\n`);
    writeFileSync(join(o.out, 'README.md'), renderModelCard(result));
  }
  return result;
}

/**
 * The learned model becomes the default only if it is better on held-out data: lower Brier score and
 * lower ECE (calibration), no lower precision and no lower recall of mitigations at the threshold, and,
 * in the closed loop, no fewer incidents mitigated and no more false mitigations than the formula.
 */
export function decide(
  l: ModelMetrics,
  f: ModelMetrics,
  loop: TrainRunResult['closedLoop'],
  modelVersion: string,
  kit: TrainRunResult['kit'] = undefined,
): Selection {
  const checks: Selection['checks'] = [
    { name: 'Brier score', learned: l.brier, formula: f.brier, better: 'lower', ok: l.brier < f.brier },
    { name: 'expected calibration error', learned: l.ece, formula: f.ece, better: 'lower', ok: l.ece < f.ece },
    { name: 'precision at threshold', learned: l.at.precision, formula: f.at.precision, better: 'higher', ok: l.at.precision >= f.at.precision },
    { name: 'recall at threshold', learned: l.at.recall, formula: f.at.recall, better: 'higher', ok: l.at.recall >= f.at.recall },
  ];
  if (loop !== undefined) {
    checks.push(
      {
        name: 'closed loop: incidents mitigated',
        learned: loop.learned.detected,
        formula: loop.formula.detected,
        better: 'higher',
        ok: loop.learned.detected >= loop.formula.detected,
      },
      {
        name: 'closed loop: false mitigations',
        learned: loop.learned.falseMitigations,
        formula: loop.formula.falseMitigations,
        better: 'lower',
        ok: loop.learned.falseMitigations <= loop.formula.falseMitigations,
      },
    );
  }
  // The project's own generator is what the model learned from; the independent kit is the test
  // it cannot have fitted. Without the kit there is no such test, and the formula stays.
  if (kit === undefined)
    checks.push({
      name: 'independent kit: not run (no ../shared/eval), so nothing the model cannot have fitted',
      learned: 0,
      formula: 0,
      better: 'higher',
      ok: false,
    });
  else {
    checks.push(
      {
        name: 'independent kit: incidents detected before breach',
        learned: kit.learned.detectedBeforeBreach.count,
        formula: kit.formula.detectedBeforeBreach.count,
        better: 'higher',
        ok: kit.learned.detectedBeforeBreach.count >= kit.formula.detectedBeforeBreach.count,
      },
      {
        name: 'independent kit: false mitigations',
        learned: kit.learned.falseMitigations,
        formula: kit.formula.falseMitigations,
        better: 'lower',
        ok: kit.learned.falseMitigations <= kit.formula.falseMitigations,
      },
    );
  }
  const failed = checks.filter((c) => !c.ok);
  const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(4));
  const reason =
    failed.length === 0
      ? `learned model better on held-out data: ${checks.map((c) => `${c.name} ${fmt(c.learned)} vs ${fmt(c.formula)}`).join('; ')}`
      : `formula kept: the learned model is not better on held-out data (${failed.map((c) => `${c.name} ${fmt(c.learned)} vs formula ${fmt(c.formula)}, ${c.better} is better`).join('; ')})`;
  return {
    default: failed.length === 0 ? 'learned' : 'formula',
    reason,
    decidedAt: new Date().toISOString(),
    modelVersion,
    featureVersion: FEATURE_VERSION,
    checks,
  };
}

/** Hours of day (UTC) of each scenario's label-1 samples, across seeds: the case against an hour feature. */
function hourSpread(runs: readonly ScenarioRun[]): { scenario: string; hours: number[] }[] {
  const by = new Map<string, number[]>();
  for (const r of runs) {
    for (const s of r.samples) {
      if (s.label !== 1 || s.evidence.hourOfDay === undefined) continue;
      const list = by.get(r.name) ?? [];
      list.push(s.evidence.hourOfDay);
      by.set(r.name, list);
    }
  }
  return [...by.entries()].map(([scenario, hours]) => ({ scenario, hours: hours.sort((a, b) => a - b) }));
}

export { DEFAULT_TRAIN_OPTIONS };

import type { HarbingerConfig } from '../config/load.js';
import type { ConfidenceModel } from '../core/decide/confidence.js';
import type { ConfidenceEvidence } from '../domain/decision.js';
import { scoreScenario, summarize, type EvalSummary } from '../eval/fixture-eval.js';
import { truthSchema } from '../eval/truth.js';
import type { LabeledSample, ScenarioRun } from './dataset.js';
import { runScenarios } from './dataset.js';
import { scoreAll, type ModelMetrics, type Scored } from './metrics.js';

/**
 * Held-out evaluation of a confidence model against the formula, two ways:
 *
 * - offline: the same held-out samples (replays with the formula in the loop, labeled by truth) scored
 *   by both models: Brier, ECE, log loss, precision and recall of mitigations at the threshold;
 * - closed loop: the held-out scenarios replayed again with the learned model deciding, scored like
 *   `harbinger eval` (incidents mitigated on the right stack, before the breach, lead time, false
 *   mitigations), since a different confidence changes which recommendations follow.
 */

export function scoreModel(model: (e: ConfidenceEvidence) => number, samples: readonly LabeledSample[], threshold: number): ModelMetrics {
  return scoreAll(
    samples.map((s): Scored => ({ p: model(s.evidence), y: s.label })),
    threshold,
  );
}

/** `harbinger eval`'s summary over replays that already happened. */
export function closedLoopSummary(runs: readonly ScenarioRun[]): EvalSummary {
  return summarize(runs.map((r) => scoreScenario(truthSchema.parse(r.truth), r.recs)));
}

/** The false mitigations of those replays, one line each ("perf-test@18 2026-03-09T03:51 shift_traffic us-west-2 (confidence 0.92)"). */
export function falseMitigations(runs: readonly ScenarioRun[]): string[] {
  return runs.flatMap((r) => {
    const s = scoreScenario(truthSchema.parse(r.truth), r.recs);
    return s.falseIds.map((id) => {
      const rec = r.recs.find((x) => x.id === id)!;
      return `${r.name}@${r.seed} ${new Date(rec.ts).toISOString().slice(0, 16)} ${rec.action} ${rec.stack} (confidence ${rec.confidence})`;
    });
  });
}

/** Replays the scenarios of `seeds` with `confidence` deciding and scores them like `harbinger eval`. */
export function closedLoop(
  seeds: readonly number[],
  config: HarbingerConfig,
  confidence: ConfidenceModel,
  onScenario?: (name: string, seed: number) => void,
): { runs: ScenarioRun[]; summary: EvalSummary } {
  const runs = runScenarios(seeds, config, { confidence, ...(onScenario !== undefined ? { onScenario } : {}) });
  return { runs, summary: closedLoopSummary(runs) };
}

export interface LatencyStats {
  calls: number;
  p50Us: number;
  p99Us: number;
  meanUs: number;
}

/** Per-call latency of a synchronous confidence model over `evidence` (cycled), after a warm-up. */
export function measureLatency(model: ConfidenceModel, evidence: readonly ConfidenceEvidence[], calls = 2000, warmup = 300): LatencyStats {
  if (evidence.length === 0) throw new Error('no evidence to time');
  for (let i = 0; i < warmup; i++) model(evidence[i % evidence.length]!);
  const t = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const e = evidence[i % evidence.length]!;
    const t0 = performance.now();
    model(e);
    t[i] = (performance.now() - t0) * 1000;
  }
  const sorted = Array.from(t).sort((a, b) => a - b);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return { calls, p50Us: q(0.5), p99Us: q(0.99), meanUs: sorted.reduce((a, b) => a + b, 0) / sorted.length };
}

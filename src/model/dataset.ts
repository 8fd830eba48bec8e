import type { HarbingerConfig } from '../config/load.js';
import { withActionsReachingData } from '../config/decision.js';
import type { ConfidenceModel } from '../core/decide/confidence.js';
import type { ConfidenceEvidence, Recommendation } from '../domain/decision.js';
import type { EventKind } from '../domain/types.js';
import { parseLine } from '../ingest/record-parser.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { generateScenario, PROBE_SCENARIOS, SCENARIO_NAMES, SCHEDULED_SCENARIOS } from '../../fixtures/generate.js';
import { MS_PER_MIN as MIN } from '../core/time-units.js';

/**
 * Training and evaluation samples from the fixtures' truth.
 *
 * A sample is a recommendation that reached the confidence phase (its `confidence_scoring` phase
 * is not 'skip'; reverts are not decisions of their own and are left out), with its evidence bundle.
 * Its label says whether a mitigation at that moment would have been right, by the rule of the fixture
 * evaluation (src/eval/fixture-eval.ts): 1 when the recommendation's stack is an incident's stack and
 * its time is within [incident start − 30 min, incident end], else 0.
 */

export interface LabeledSample {
  evidence: ConfidenceEvidence;
  label: 0 | 1;
  /** Weight in the training loss (truth samples 1; operator decisions `operatorWeight`). */
  weight: number;
  source: 'truth' | 'operator';
  /** Where it came from, for reports: "bad-deploy@3 2026-03-02T10:30Z us-west-2 rollback". */
  ref: string;
}

/** The part of a truth file labeling needs (both the generator's and src/eval/truth.ts's fit). */
export interface TruthWindows {
  incidents: readonly { stack: string; start: string; end: string }[];
}

export const EARLY_MARGIN_MINUTES = 30;

/** True when the recommendation went through the confidence phase (pass or fail) and is not a revert. */
export function reachedConfidence(r: Recommendation): boolean {
  if (r.reverts !== undefined) return false;
  // A look-ahead's confidence is how much of the event window its baselines learned, not the ITR
  // evidence this model scores (its evidence bundle is zeros by construction).
  if (r.cause.kind === 'scheduled') return false;
  const phase = r.phases.find((p) => p.name === 'confidence_scoring');
  return phase !== undefined && phase.result !== 'skip';
}

/** 1 when a mitigation for `stack` at `ts` is right per the truth (fixture-eval's window), else 0. */
export function truthLabel(truth: TruthWindows, stack: string, ts: number, earlyMarginMinutes = EARLY_MARGIN_MINUTES): 0 | 1 {
  return truth.incidents.some((i) => i.stack === stack && ts >= Date.parse(i.start) - earlyMarginMinutes * MIN && ts <= Date.parse(i.end)) ? 1 : 0;
}

export function labelRecommendations(truth: TruthWindows, recs: readonly Recommendation[], scenario = ''): LabeledSample[] {
  return recs.filter(reachedConfidence).map((r) => ({
    evidence: r.evidence,
    label: truthLabel(truth, r.stack, r.ts),
    weight: 1,
    source: 'truth' as const,
    ref: `${scenario} ${new Date(r.ts).toISOString().slice(0, 16)}Z ${r.stack} ${r.action}`.trim(),
  }));
}

export interface ReplayLinesOptions {
  /** The confidence model of the decision engine (default: the formula). */
  confidence?: ConfidenceModel;
  /** Context events of these kinds are withheld (e.g. an unannounced load test: 'perf_test'). */
  dropEventKinds?: readonly EventKind[];
}

/** Replays JSONL lines (a generated scenario or a fixture file's lines) in process; returns the recommendations. */
export function replayLines(lines: Iterable<string>, config: HarbingerConfig, opts: ReplayLinesOptions = {}): Recommendation[] {
  const recs: Recommendation[] = [];
  const pipeline = new Pipeline(withActionsReachingData(config, false), { output: (e) => e.type === 'recommendation' && recs.push(e) });
  if (opts.confidence !== undefined) pipeline.decision.setConfidenceModel(opts.confidence);
  const drop = new Set<string>(opts.dropEventKinds ?? []);
  for (const line of lines) {
    if (line.trim().length === 0) continue;
    const parsed = parseLine(line);
    if (!parsed.ok) continue;
    if (parsed.kind === 'sample') pipeline.offerSample(parsed.sample);
    else if (!drop.has(parsed.event.kind)) pipeline.offerEvent(parsed.event);
  }
  pipeline.flush();
  return recs;
}

export interface ScenarioRun {
  name: string;
  seed: number;
  truth: ReturnType<typeof generateScenario>['truth'];
  recs: Recommendation[];
  samples: LabeledSample[];
}

/** Generates scenario `name` with `seed` in memory, replays it, labels what reached the confidence phase. */
export function runScenario(name: string, seed: number, config: HarbingerConfig, opts: ReplayLinesOptions = {}): ScenarioRun {
  const { lines, truth } = generateScenario(name, seed);
  const recs = replayLines(lines, config, opts);
  return { name, seed, truth, recs, samples: labelRecommendations(truth, recs, `${name}@${seed}`) };
}

/**
 * The scenarios whose recommendations go through the ITR confidence phase: the scheduled-event ones
 * only exercise the look-ahead, so they would add no sample; the probe ones came after the shipped
 * model was trained. Leaving them out keeps the training runs (and the shipped model's comparison)
 * what they were.
 */
export const CONFIDENCE_SCENARIOS = SCENARIO_NAMES.filter(
  (n) => !(SCHEDULED_SCENARIOS as readonly string[]).includes(n) && !(PROBE_SCENARIOS as readonly string[]).includes(n),
);

/** Every scenario for every seed. `onScenario` reports progress. */
export function runScenarios(
  seeds: readonly number[],
  config: HarbingerConfig,
  opts: ReplayLinesOptions & { names?: readonly string[]; onScenario?: (name: string, seed: number) => void } = {},
): ScenarioRun[] {
  const out: ScenarioRun[] = [];
  for (const seed of seeds) {
    for (const name of opts.names ?? CONFIDENCE_SCENARIOS) {
      opts.onScenario?.(name, seed);
      out.push(runScenario(name, seed, config, opts));
    }
  }
  return out;
}

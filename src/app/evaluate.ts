import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { HarbingerConfig } from '../config/load.js';
import type { Recommendation } from '../domain/decision.js';
import { replayFile } from './replay.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { rolloutGateParams } from '../core/gate/rollout-gate.js';
import { RolloutGateEval } from '../eval/rollout-eval.js';
import type { ConfidenceModel } from '../core/decide/confidence.js';
import { truthSchema } from '../eval/truth.js';
import { scoreScenario, summarize, type EvalSummary, type ScenarioScore } from '../eval/fixture-eval.js';

export interface FixtureEvaluation {
  scenarios: ScenarioScore[];
  summary: EvalSummary;
}

/** Replays every `<name>.jsonl` that has a `<name>.truth.json` beside it and scores it. */
export async function evaluateFixtures(
  dir: string,
  config: HarbingerConfig,
  onScenario?: (name: string) => void,
  confidence?: ConfidenceModel,
): Promise<FixtureEvaluation> {
  const names = readdirSync(dir)
    .filter((f) => f.endsWith('.truth.json'))
    .map((f) => basename(f, '.truth.json'))
    .sort();
  if (names.length === 0) throw new Error(`no <name>.truth.json files in ${dir}`);
  const scenarios: ScenarioScore[] = [];
  for (const name of names) {
    onScenario?.(name);
    const parsed = truthSchema.safeParse(JSON.parse(readFileSync(join(dir, `${name}.truth.json`), 'utf8')));
    if (!parsed.success) throw new Error(`${name}.truth.json: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const recs: Recommendation[] = [];
    let pipeline: Pipeline | undefined;
    // The rollout gate asked about every deployment as the replay goes, on the detector's state then.
    const gate = new RolloutGateEval(parsed.data, rolloutGateParams(config), () => pipeline?.detection.series() ?? []);
    await replayFile(join(dir, `${name}.jsonl`), {
      config,
      onEvent: (e) => e.type === 'recommendation' && recs.push(e),
      onPipeline: (p) => (pipeline = p),
      beforeInput: (x) => gate.before(x),
      ...(confidence !== undefined ? { confidence } : {}),
    });
    scenarios.push({ ...scoreScenario(parsed.data, recs), rollouts: gate.rollouts });
  }
  return { scenarios, summary: summarize(scenarios) };
}

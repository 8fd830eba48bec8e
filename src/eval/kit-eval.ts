import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join, resolve } from 'node:path';
import type { HarbingerConfig } from '../config/load.js';
import { replayFile } from '../app/replay.js';
import type { ConfidenceModel } from '../core/decide/confidence.js';

/**
 * The independent scenario kit (`../shared/eval`: a generator and a scorer written apart from
 * `fixtures/`), run over several seeds: generate each seed's scenarios, replay every one through
 * the pipeline in process, and let the kit's own scorer judge the recommendations, per seed and
 * pooled over all seeds. The kit's scripts are run as they are, so its verdict is its own.
 */

/** The kit's scorer output for one set of scenarios (`score.mjs --json`, `overall`). */
export interface KitOverall {
  scenarios: number;
  incidents: number;
  detected: number;
  recall: number;
  mitigations: number;
  matchedMitigations: number;
  precision: number | null;
  leadTimeMin: { n: number; median: number | null; p10: number | null; min: number | null };
  detectedBeforeBreach: { count: number; of: number; share: number | null };
  beforeBreachWithRoom: { count: number; of: number; share: number | null };
  slowOnsetLeadMin: { n: number; median: number | null; min: number | null };
  localization: { correct: number; of: number; accuracy: number | null };
  action: { correct: number; of: number; accuracy: number | null };
  falseMitigations: number;
  stackDays: number;
  falsePerStackDay: number;
  trapMitigations: number;
}

export interface KitScenario {
  name: string;
  family: string;
  falseMitigations: number;
  trapMitigations: number;
  incidents: { kind: string; leadMin: number | null; maxLeadMin: number | null; detected: boolean; beforeBreach: boolean | null }[];
}

export interface KitEvaluation {
  kitDir: string;
  seeds: { seed: string; overall: KitOverall; scenarios: KitScenario[] }[];
  pooled: KitOverall;
}

export interface KitOptions {
  kitDir: string;
  seeds: readonly string[];
  config: HarbingerConfig;
  /** Comma-separated kit families (default: the kit's own default set). */
  families?: string;
  /** Scenarios per family (the kit's `--count`). */
  count?: string;
  /** Scratch space; removed afterwards unless `keep`. */
  workDir: string;
  keep?: boolean;
  onProgress?: (what: string) => void;
  /** A confidence model other than the formula (a learned one). */
  confidence?: ConfidenceModel;
}

/** `SHARED_DIR/eval`, else `../shared/eval` next to the checkout. */
export function defaultKitDir(): string {
  return process.env['SHARED_DIR'] !== undefined ? resolve(process.env['SHARED_DIR'], 'eval') : resolve(process.cwd(), '..', 'shared', 'eval');
}

export function kitAvailable(kitDir: string): boolean {
  return existsSync(join(kitDir, 'gen.mjs')) && existsSync(join(kitDir, 'score.mjs'));
}

function runNode(script: string, args: string[]): string {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${script} ${args.join(' ')} exited ${String(r.status)}: ${r.stderr.slice(0, 2000)}`);
  return r.stdout;
}

function score(kitDir: string, truthDir: string, outDir: string): { overall: KitOverall; scenarios: KitScenario[] } {
  return JSON.parse(runNode(join(kitDir, 'score.mjs'), ['--truth', truthDir, '--out', outDir, '--json'])) as { overall: KitOverall; scenarios: KitScenario[] };
}

/** Replays one scenario and writes its recommendations where the kit's scorer looks for them. */
async function replayScenario(input: string, output: string, config: HarbingerConfig, confidence: ConfidenceModel | undefined): Promise<void> {
  const out = createWriteStream(output);
  await replayFile(input, {
    config,
    onEvent: (e) => e.type === 'recommendation' && out.write(`${JSON.stringify(e)}\n`),
    ...(confidence !== undefined ? { confidence } : {}),
  });
  out.end();
  await once(out, 'finish');
}

export async function evaluateKit(opts: KitOptions): Promise<KitEvaluation> {
  const { kitDir, workDir } = opts;
  const pooledTruth = join(workDir, 'pooled', 'truth');
  const pooledOut = join(workDir, 'pooled', 'out');
  mkdirSync(pooledTruth, { recursive: true });
  mkdirSync(pooledOut, { recursive: true });
  const seeds: KitEvaluation['seeds'] = [];
  try {
    for (const seed of opts.seeds) {
      const inDir = join(workDir, `seed-${seed}`, 'in');
      const outDir = join(workDir, `seed-${seed}`, 'out');
      mkdirSync(outDir, { recursive: true });
      opts.onProgress?.(`seed ${seed}: generating`);
      runNode(join(kitDir, 'gen.mjs'), [
        '--seed',
        seed,
        '--out',
        inDir,
        ...(opts.families !== undefined ? ['--families', opts.families] : []),
        ...(opts.count !== undefined ? ['--count', opts.count] : []),
      ]);
      const names = readdirSync(inDir)
        .filter((f) => f.endsWith('.truth.json'))
        .map((f) => f.slice(0, -'.truth.json'.length))
        .sort();
      for (const name of names) {
        opts.onProgress?.(`seed ${seed}: replaying ${name}`);
        await replayScenario(join(inDir, `${name}.jsonl`), join(outDir, `${name}.out.jsonl`), opts.config, opts.confidence);
        // Pooled under a per-seed name: the scorer pairs a truth with its output by the name inside it.
        const pooledName = `s${seed}-${name}`;
        const truth = JSON.parse(readFileSync(join(inDir, `${name}.truth.json`), 'utf8')) as { name: string };
        writeFileSync(join(pooledTruth, `${pooledName}.truth.json`), JSON.stringify({ ...truth, name: pooledName }));
        symlinkSync(resolve(outDir, `${name}.out.jsonl`), join(pooledOut, `${pooledName}.out.jsonl`));
      }
      seeds.push({ seed, ...score(kitDir, inDir, outDir) });
    }
    return { kitDir, seeds, pooled: score(kitDir, pooledTruth, pooledOut).overall };
  } finally {
    if (opts.keep !== true) rmSync(workDir, { recursive: true, force: true });
  }
}

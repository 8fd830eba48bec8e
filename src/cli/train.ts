import { defaultKitDir, kitAvailable } from '../eval/kit-eval.js';
import { complain, EXIT, loadConfigOrReport, usageError, type Command } from './command.js';
import { unreadable, unwritableDir } from './paths.js';

const parseSeeds = (s: string | undefined, fallback: number[], what: string): number[] => {
  if (s === undefined) return fallback;
  const out: number[] = [];
  for (const part of s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0)) {
    const range = /^(\d+)-(\d+)$/.exec(part);
    if (range !== null) for (let i = Number(range[1]); i <= Number(range[2]); i++) out.push(i);
    else if (/^\d+$/.test(part)) out.push(Number(part));
    else throw new Error(`--${what}: '${part}' is not a seed (integers, comma-separated, or a range like 2-11)`);
  }
  if (out.length === 0) throw new Error(`--${what}: no seeds`);
  return out;
};

export const trainCommand: Command = {
  name: 'train',
  summary: 'train the learned confidence model on fixture truth and operator decisions; compare with the formula on held-out data',
  usage: `Usage: harbinger train [options]

Generates the fixture scenarios in memory with the training seeds, replays them, labels every
recommendation that reached the confidence phase from the truth (a mitigation then would have been
right, or not), merges recorded operator decisions (--data), and trains a small seeded dense net.
Then evaluates it against the hand-written formula on scenarios generated with the held-out seeds:
Brier score, expected calibration error, precision and recall of mitigations at the threshold, and
a closed-loop replay scored like 'harbinger eval', and the independent scenario kit (a generator
the model never saw, scored by its own scorer). Writes model.json + weights.bin, the model card
README.md and selection.json ("learned" only if the model is better on all of it) to --out.

Options:
  --data <log.jsonl>      training log of operator decisions to merge (repeatable)
  --out <dir>             where to write the model (default models/confidence)
  --seeds <list>          training seeds, e.g. 2,3,4 or 2-11 (default 2-11)
  --heldout <list>        held-out seeds, disjoint from --seeds (default 12-19)
  --seed <n>              weight initialization seed (default 7)
  --hidden <n>            hidden units; 0 = logistic regression (default 8)
  --epochs <n>            full-batch Adam steps (default 600)
  --operator-weight <w>   loss weight of one operator decision vs one truth sample (default 5)
  --no-closed-loop        skip the closed-loop replays (faster)
  --kit-seeds <list>      independent kit seeds (default 101,202,303; the kit is SHARED_DIR/eval or
                          ../shared/eval: without it the formula stays the default)
  --dry-run               evaluate and print, write nothing
  --config <file>         YAML or JSON configuration (threshold, detection parameters)
  --json                  print the result as JSON
  -h, --help              show this help`,
  options: {
    data: { type: 'string', multiple: true },
    out: { type: 'string' },
    seeds: { type: 'string' },
    heldout: { type: 'string' },
    seed: { type: 'string' },
    hidden: { type: 'string' },
    epochs: { type: 'string' },
    'operator-weight': { type: 'string' },
    'no-closed-loop': { type: 'boolean' },
    'kit-seeds': { type: 'string' },
    'dry-run': { type: 'boolean' },
    config: { type: 'string' },
    json: { type: 'boolean' },
  },
  maxPositionals: 0,
  async run(values) {
    const config = loadConfigOrReport(values['config'] as string | undefined, this.name);
    if (config === undefined) return EXIT.usage;
    let trainer: typeof import('../model/trainer.js');
    try {
      trainer = await import('../model/trainer.js');
    } catch (e) {
      // The runtime image leaves TensorFlow.js out (serve and replay run the model in plain TypeScript).
      if (!/@tensorflow\/tfjs/.test((e as Error).message)) throw e;
      return complain(
        this.name,
        'TensorFlow.js is not installed, and training needs it (serve, replay and eval do not): npm install @tensorflow/tfjs @tensorflow/tfjs-backend-wasm',
        EXIT.failed,
      );
    }
    const { runTraining, DEFAULT_SEEDS, DEFAULT_HELDOUT, DEFAULT_OPERATOR_WEIGHT, DEFAULT_TRAIN_OPTIONS } = trainer;
    const { metricRows, closedLoopRows } = await import('../model/model-card.js');
    const { textTable: table } = await import('../report/text-table.js');
    const num = (name: string, fallback: number, ok: (x: number) => boolean): number => {
      const raw = values[name] as string | undefined;
      if (raw === undefined) return fallback;
      const x = Number(raw);
      if (!Number.isFinite(x) || !ok(x)) throw new Error(`--${name}: invalid value '${raw}'`);
      return x;
    };
    let seeds: number[];
    let heldout: number[];
    let train;
    let operatorWeight: number;
    try {
      seeds = parseSeeds(values['seeds'] as string | undefined, DEFAULT_SEEDS, 'seeds');
      heldout = parseSeeds(values['heldout'] as string | undefined, DEFAULT_HELDOUT, 'heldout');
      const overlap = seeds.filter((s) => heldout.includes(s));
      if (overlap.length > 0) throw new Error(`--seeds and --heldout overlap (${overlap.join(',')}): held-out data must not be trained on`);
      train = {
        seed: num('seed', DEFAULT_TRAIN_OPTIONS.seed, Number.isInteger),
        hidden: num('hidden', DEFAULT_TRAIN_OPTIONS.hidden, (x) => Number.isInteger(x) && x >= 0 && x <= 256),
        epochs: num('epochs', DEFAULT_TRAIN_OPTIONS.epochs, (x) => Number.isInteger(x) && x > 0),
        learningRate: DEFAULT_TRAIN_OPTIONS.learningRate,
        l2: DEFAULT_TRAIN_OPTIONS.l2,
      };
      operatorWeight = num('operator-weight', DEFAULT_OPERATOR_WEIGHT, (x) => x > 0);
    } catch (e) {
      return usageError(this.name, (e as Error).message);
    }
    const json = values['json'] === true;
    const tty = process.stderr.isTTY === true;
    const out = values['dry-run'] === true ? undefined : ((values['out'] as string | undefined) ?? 'models/confidence');
    const { TrainingLogError } = await import('../model/training-log.js');
    for (const path of (values['data'] as unknown as string[] | undefined) ?? []) {
      const problem = unreadable(path, 'file');
      if (problem !== undefined) return complain(this.name, `--data ${path}: ${problem}`, EXIT.usage);
    }
    // Checked now: the model is written after minutes of training.
    const unwrit = out === undefined ? undefined : unwritableDir(out);
    if (unwrit !== undefined) return complain(this.name, `--out ${out}: ${unwrit}`, EXIT.usage);
    let r;
    try {
      r = await runTraining({
        config,
        seeds,
        heldout,
        data: (values['data'] as unknown as string[] | undefined) ?? [],
        out,
        train,
        operatorWeight,
        closedLoop: values['no-closed-loop'] !== true,
        ...(kitAvailable(defaultKitDir()) ? { kit: { dir: defaultKitDir(), seeds: String(values['kit-seeds'] ?? '101,202,303').split(',') } } : {}),
        onProgress: (msg) => {
          if (json) return;
          if (tty) process.stderr.write(`\r${msg}\x1b[K`);
          else if (!msg.includes('replaying')) process.stderr.write(`${msg}\n`);
        },
      });
    } catch (e) {
      if (!(e instanceof TrainingLogError)) throw e;
      return complain(this.name, e.message, EXIT.usage);
    }
    if (tty && !json) process.stderr.write('\r\x1b[K');
    if (json) {
      const { net, options, ...rest } = r;
      process.stdout.write(
        `${JSON.stringify({ ...rest, version: net.version, meta: net.meta, seeds: options.seeds, heldoutSeeds: options.heldout, out: options.out ?? null }, null, 2)}\n`,
      );
      return EXIT.ok;
    }
    const w = (s: string): boolean => process.stdout.write(`${s}\n`);
    w(
      `backend ${r.backend}; model ${r.net.version}; trained on ${r.train.samples} samples (${r.train.truth} truth from seeds ${seeds.join(',')}, ${r.train.operator} operator decisions) in ${r.trainSeconds.toFixed(1)} s`,
    );
    w(`held-out: ${r.heldout.samples} samples (${r.heldout.positives} where a mitigation was right), seeds ${heldout.join(',')}\n`);
    w(table(metricRows(r.heldout.learned, r.heldout.formula), false));
    if (r.closedLoop !== undefined) {
      w('');
      w(table(closedLoopRows(r.closedLoop.learned, r.closedLoop.formula), false));
      for (const d of r.closedLoop.falseMitigations.learned) w(`  false (learned): ${d}`);
      for (const d of r.closedLoop.falseMitigations.formula) w(`  false (formula): ${d}`);
    }
    w(`\ninference (${r.backend}, ${r.latency.calls} calls): p50 ${r.latency.p50Us.toFixed(0)} µs, p99 ${r.latency.p99Us.toFixed(0)} µs per recommendation`);
    w(`default: ${r.selection.default} (${r.selection.reason})`);
    w(out === undefined ? 'dry run: nothing written' : `wrote ${out}/model.json, weights.bin, selection.json, README.md`);
    r.net.dispose();
    return EXIT.ok;
  },
};

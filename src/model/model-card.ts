import { CONFIDENCE_SCENARIOS } from './dataset.js';
import { textTable } from '../report/text-table.js';
import type { EvalSummary } from '../eval/fixture-eval.js';
import { FEATURE_DOCS, FEATURE_VERSION } from './features.js';
import type { CalibrationBin, ModelMetrics } from './metrics.js';
import type { TrainRunResult } from './trainer.js';

/** The model card (`models/confidence/README.md`) for a training run, as Markdown. */

const f4 = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : '-');
const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '-');
const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;
const hhmm = (h: number): string => `${String(Math.floor(h)).padStart(2, '0')}:${String(Math.floor((h % 1) * 60)).padStart(2, '0')}`;

export function metricRows(l: ModelMetrics, f: ModelMetrics): string[][] {
  return [
    ['metric (held-out)', 'learned', 'formula', 'better'],
    ['Brier score', f4(l.brier), f4(f.brier), 'lower'],
    ['expected calibration error (10 bins)', f4(l.ece), f4(f.ece), 'lower'],
    ['log loss', f4(l.logLoss), f4(f.logLoss), 'lower'],
    [
      `precision of mitigations at ${l.at.threshold}`,
      `${f3(l.at.precision)} (${l.at.truePositives}/${l.at.mitigations})`,
      `${f3(f.at.precision)} (${f.at.truePositives}/${f.at.mitigations})`,
      'higher',
    ],
    [
      `recall of mitigations at ${l.at.threshold}`,
      `${f3(l.at.recall)} (${l.at.truePositives}/${l.at.truePositives + l.at.falseNegatives})`,
      `${f3(f.at.recall)} (${f.at.truePositives}/${f.at.truePositives + f.at.falseNegatives})`,
      'higher',
    ],
    ['false mitigations at threshold', String(l.at.falsePositives), String(f.at.falsePositives), 'lower'],
  ];
}

export function closedLoopRows(l: EvalSummary, f: EvalSummary): string[][] {
  const lead = (x: number | null): string => (x === null ? '-' : x.toFixed(1));
  return [
    ['closed loop (held-out replays)', 'learned deciding', 'formula deciding', 'better'],
    ['incidents mitigated on the right stack', `${l.detected}/${l.incidents}`, `${f.detected}/${f.incidents}`, 'higher'],
    ['mitigated before the SLO breach', `${l.beforeBreach}/${l.incidents}`, `${f.beforeBreach}/${f.incidents}`, 'higher'],
    ['median lead time (min)', lead(l.medianLeadMinutes), lead(f.medianLeadMinutes), 'higher'],
    ['false mitigations', String(l.falseMitigations), String(f.falseMitigations), 'lower'],
    ['  of which in trap scenarios', String(l.trapMitigations), String(f.trapMitigations), 'lower'],
  ];
}

function calibrationTable(l: CalibrationBin[], f: CalibrationBin[]): string {
  const rows = [['confidence bin', 'learned: n', 'mean p', 'observed', 'formula: n', 'mean p', 'observed']];
  for (let i = 0; i < l.length; i++) {
    const a = l[i]!;
    const b = f[i]!;
    if (a.n === 0 && b.n === 0) continue;
    rows.push([
      `[${a.from.toFixed(1)}, ${a.to.toFixed(1)}${i === l.length - 1 ? ']' : ')'}`,
      String(a.n),
      a.n > 0 ? f3(a.meanP) : '-',
      a.n > 0 ? f3(a.rate) : '-',
      String(b.n),
      b.n > 0 ? f3(b.meanP) : '-',
      b.n > 0 ? f3(b.rate) : '-',
    ]);
  }
  return textTable(rows, true);
}

export function renderModelCard(r: TrainRunResult): string {
  const o = r.options;
  const m = r.net.meta;
  const sel = r.selection;
  const trainCmd = `harbinger train --out ${o.out ?? 'models/confidence'} --seeds ${o.seeds.join(',')} --heldout ${o.heldout.join(',')} --seed ${o.train.seed} --hidden ${o.train.hidden} --epochs ${o.train.epochs}${o.data.map((d) => ` --data ${d}`).join('')}`;
  return `# Confidence model (learned)

**Default: ${sel.default === 'learned' ? 'the learned model' : 'the hand-written formula'}.** ${sel.reason}.
(\`selection.json\` records the decision; \`harbinger serve\` uses the learned model only when it says \`"learned"\`.)

| | |
| --- | --- |
| model version | \`${r.net.version}\` (feature version ${m.featureVersion}, weights SHA-256 prefix) |
| trained | ${m.trainedAt} on the \`${r.backend}\` backend in ${r.trainSeconds.toFixed(1)} s |
| architecture | ${m.train.hidden > 0 ? `dense ${m.featureNames.length} → ${m.train.hidden} (tanh) → 1 (sigmoid)` : `logistic regression: dense ${m.featureNames.length} → 1 (sigmoid)`} |
| training | full-batch Adam, lr ${m.train.learningRate}, ${m.train.epochs} epochs, L2 ${m.train.l2} on kernels, weighted binary cross-entropy, init seed ${m.train.seed} |
| output | P(a mitigation now is right), used as the recommendation's confidence; the ITR gate is ${r.heldout.learned.at.threshold} (\`decision.confidence.minimum\`) |
| files | \`model.json\` + \`weights.bin\` (the standard tfjs layers layout), \`selection.json\`, this card |

## What it predicts and from what data

Each ITR decision that reaches the confidence phase (src/core/decide/itr-workflow.ts, phase 6) carries an
evidence bundle. The model maps that bundle to the probability that a mitigation (rollback, pause, traffic
shift) at that moment is right.

**Labels.** (1) Fixture truth: the scenarios of \`fixtures/generate.ts\` (${CONFIDENCE_SCENARIOS.join(', ')}) are
generated in memory with the training seeds and replayed through the whole pipeline with the formula
deciding; every recommendation whose \`confidence_scoring\` phase is not \`skip\` (reverts excluded) is a
sample, labeled 1 when its stack is an incident's stack and its time is within [incident start − 30 min,
incident end] (the rule of \`harbinger eval\`), else 0. (2) Operator decisions from training logs
(\`--data\`, JSONL, see src/model/training-log.ts): approve and effective → 1, reject and ineffective → 0,
each weighted ${o.operatorWeight}× a truth sample (\`--operator-weight\`).

| data | samples | label 1 |
| --- | --- | --- |
| training: truth, seeds ${o.seeds.join(',')} | ${r.train.truth} | ${r.train.truthPositives} |
| training: operator decisions${r.train.logs.length > 0 ? ` (${r.train.logs.map((l) => `${l.path}: ${l.entries} entries`).join(', ')})` : ' (none)'} | ${r.train.operator} | ${r.train.operatorPositives} |
| held-out: truth, seeds ${o.heldout.join(',')} (never trained on) | ${r.heldout.samples} | ${r.heldout.positives} |

The committed fixtures are seed 1 and are in neither set.

## Features (version ${FEATURE_VERSION})

Defined once, in src/model/features.ts; every value is scaled to about [0, 1]. A model stores its feature
version and refuses vectors of another (\`FeatureVersionError\`); a change of features is a new version
and a retrain.

| # | feature | meaning |
| --- | --- | --- |
${FEATURE_DOCS.map((f, i) => `| ${i} | \`${f.name}\` | ${f.doc} |`).join('\n')}

Not a feature: the hour of day. It is recorded in every evidence bundle (\`hourOfDay\`) but the generator puts
each scenario's fault at about the same hour whatever the seed, so on this data the hour names the
scenario instead of measuring a risk, and a model would learn "03:00–07:00 is a memory leak". Hours (UTC)
of the label-1 samples per scenario, training and held-out seeds together:

${textTable([['scenario', 'label-1 samples', 'earliest', 'median', 'latest'], ...r.hourSpread.map((h) => [h.scenario, String(h.hours.length), hhmm(h.hours[0]!), hhmm(h.hours[Math.floor(h.hours.length / 2)]!), hhmm(h.hours[h.hours.length - 1]!)])], true)}

## Held-out evaluation

Offline: the held-out samples (formula deciding during the replay) scored by both models.

${textTable(metricRows(r.heldout.learned, r.heldout.formula), true)}

Calibration (reliability table; a calibrated model has mean p ≈ observed in every bin):

${calibrationTable(r.heldout.calibration.learned, r.heldout.calibration.formula)}

${
  r.closedLoop === undefined
    ? 'Closed loop: not run (`--no-closed-loop`).'
    : `Closed loop: the held-out scenarios replayed again with each model deciding, scored like \`harbinger eval\`:

${textTable(closedLoopRows(r.closedLoop.learned, r.closedLoop.formula), true)}

False mitigations in the closed loop (a mitigation outside every incident window of its stack):

${textTable([['deciding', 'false mitigation'], ...r.closedLoop.falseMitigations.learned.map((d) => ['learned', d]), ...r.closedLoop.falseMitigations.formula.map((d) => ['formula', d])], true)}`
}

${
  r.kit === undefined
    ? 'Independent kit: not available when this model was trained, so the formula stays the default.'
    : `Independent kit (\`../shared/eval\`: another generator, never trained on; seeds ${r.kit.seeds.join(', ')}; its own scorer, pooled):

${textTable(
  [
    ['independent kit', 'learned deciding', 'formula deciding'],
    ['incidents detected', `${r.kit.learned.detected}/${r.kit.learned.incidents}`, `${r.kit.formula.detected}/${r.kit.formula.incidents}`],
    [
      'mitigated before breach',
      `${r.kit.learned.detectedBeforeBreach.count}/${r.kit.learned.detectedBeforeBreach.of}`,
      `${r.kit.formula.detectedBeforeBreach.count}/${r.kit.formula.detectedBeforeBreach.of}`,
    ],
    ['median lead (min)', String(r.kit.learned.leadTimeMin.median ?? '-'), String(r.kit.formula.leadTimeMin.median ?? '-')],
    [
      'false mitigations',
      `${r.kit.learned.falseMitigations} (${r.kit.learned.falsePerStackDay}/stack-day)`,
      `${r.kit.formula.falseMitigations} (${r.kit.formula.falsePerStackDay}/stack-day)`,
    ],
    ['in trap windows', String(r.kit.learned.trapMitigations), String(r.kit.formula.trapMitigations)],
  ],
  true,
)}`
}

Selection rule (src/model/trainer.ts \`decide\`): the learned model is the default only if, on held-out data,
its Brier score and ECE are lower than the formula's, its precision and recall at the threshold are not
lower, in the closed loop it mitigates no fewer incidents with no more false mitigations, and on the
independent kit it mitigates no fewer incidents before their breach with no more false mitigations.

${textTable([['check', 'learned', 'formula', 'better', 'ok'], ...sel.checks.map((c) => [c.name, Number.isInteger(c.learned) ? String(c.learned) : f4(c.learned), Number.isInteger(c.formula) ? String(c.formula) : f4(c.formula), c.better, c.ok ? 'yes' : 'NO'])], true)}

## Inference cost

One recommendation = one 1-row forward pass (\`tf.tidy\` + \`dataSync\`) on the decision path, not per sample:
${r.latency.calls} calls on \`${r.backend}\`: p50 ${r.latency.p50Us.toFixed(0)} µs, p99 ${r.latency.p99Us.toFixed(0)} µs, mean ${r.latency.meanUs.toFixed(0)} µs.

## Limitations

- Trained and evaluated on synthetic scenarios from one generator; the held-out seeds vary noise, timing
  and magnitudes, not the kinds of failure. A real deployment should add its operators' decisions (below)
  and watch the calibration table drift.
- Samples are few (one per recommendation change, ${r.train.samples} in training), so the numbers above move
  by a few points between seeds; the model is deliberately small and L2-regularized.
- Samples come from replays with the formula deciding, one per change of recommendation: a situation the
  formula kept at 'observe' without a change (say an early, weak deviation that already carries a predicted
  breach) is rare in training, and the learned model, deciding, may act on it. The closed-loop tables above
  are the check for that; they list each model's false mitigations.
- Operator decisions are only in the training set; held-out metrics measure agreement with fixture truth.
- Probabilities are calibrated to the fixtures' base rate of right mitigations among decisions reaching
  the confidence phase (${pct(r.heldout.positives / Math.max(1, r.heldout.samples))} held-out).

## How to retrain

\`\`\`sh
npm run build
node dist/src/cli/main.js ${trainCmd.replace(/^harbinger /, '')}
# merge recorded operator decisions (approve/reject/effective/ineffective with their evidence):
node dist/src/cli/main.js train --data .harbinger/training-log.jsonl --out models/confidence
\`\`\`

Training is reproducible: the same data, seed and backend give the same weights (\`weights.bin\`).
Operator decisions are appended to the training log with \`appendTrainingLog\` /
\`trainingLogEntryFromOutcome\` (src/model/training-log.ts). \`harbinger serve\` hot-reloads a new
\`model.json\` (\`watchConfidenceModel\`, src/model/load.ts) and keeps the formula whenever \`selection.json\`
says \`"formula"\` or the model cannot be loaded.
`;
}

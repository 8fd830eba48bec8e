import type { ConfidenceModel } from '../core/decide/confidence.js';
import type { ConfidenceEvidence } from '../domain/decision.js';
import { tf } from './backend.js';
import type { LabeledSample } from './dataset.js';
import { assertFeatureVersion, FEATURE_COUNT, FEATURE_NAMES, FEATURE_VERSION, featurize, type FeatureVector } from './features.js';
import { loadModelFromDir, saveModelToDir } from './io.js';
import { type ConfidenceModelMeta, confidenceMeta, type TrainOptions } from './model-files.js';

/**
 * The learned confidence model: a small dense net (or, with `hidden: 0`, a logistic regression) from the
 * feature vector of src/model/features.ts to P(a mitigation is right). Trained full-batch with Adam on a
 * weighted binary cross-entropy plus an L2 penalty on the kernels; the initialization is seeded and the
 * batch is the whole data set in a fixed order, so the same data, options and backend give the same weights.
 */

export type { ConfidenceModelMeta, TrainOptions } from './model-files.js';

export const DEFAULT_TRAIN_OPTIONS: TrainOptions = { seed: 7, hidden: 8, epochs: 600, learningRate: 0.02, l2: 0.002 };

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

export class ConfidenceNet {
  private constructor(
    readonly model: tf.LayersModel,
    readonly meta: ConfidenceModelMeta,
    /** Short id of the weights (first 12 hex digits of their SHA-256) once saved or loaded. */
    public weightsId: string | undefined = undefined,
  ) {}

  /** Model version string: feature version and weights id, e.g. "f1-3a9c0e12b4d1". */
  get version(): string {
    return `f${this.meta.featureVersion}-${this.weightsId ?? 'unsaved'}`;
  }

  /** P(mitigation right) for one feature vector; refuses another feature version. */
  predictVector(v: FeatureVector): number {
    assertFeatureVersion(this.meta.featureVersion, v.version);
    return tf.tidy(() => (this.model.predict(tf.tensor2d(v.values, [1, v.values.length])) as tf.Tensor).dataSync()[0]!);
  }

  predict(e: ConfidenceEvidence): number {
    return this.predictVector(featurize(e));
  }

  predictMany(es: readonly ConfidenceEvidence[]): number[] {
    if (es.length === 0) return [];
    const rows = new Float32Array(es.length * FEATURE_COUNT);
    es.forEach((e, i) => {
      const v = featurize(e);
      assertFeatureVersion(this.meta.featureVersion, v.version);
      rows.set(v.values, i * FEATURE_COUNT);
    });
    return Array.from(tf.tidy(() => (this.model.predict(tf.tensor2d(rows, [es.length, FEATURE_COUNT])) as tf.Tensor).dataSync()));
  }

  /** The synchronous `ConfidenceModel` the decision engine takes (rounded to 3 decimals like the formula). */
  asConfidenceModel(): ConfidenceModel {
    return (e) => round3(this.predict(e));
  }

  /** Every weight tensor's values, in layer order (for reproducibility checks). */
  weights(): Float32Array[] {
    return this.model.getWeights().map((w) => w.dataSync() as Float32Array);
  }

  async save(dir: string, notes?: Record<string, unknown>): Promise<{ weightsSha256: string }> {
    const meta = notes === undefined ? this.meta : { ...this.meta, notes };
    const r = await saveModelToDir(this.model, dir, { harbinger: meta });
    this.weightsId = r.weightsSha256.slice(0, 12);
    return r;
  }

  /** Loads `<dir>/model.json`; throws FeatureVersionError for a model of another feature version. */
  static async load(dir: string): Promise<ConfidenceNet> {
    const { model, json, weightsSha256 } = await loadModelFromDir(dir);
    let meta: ConfidenceModelMeta;
    try {
      meta = confidenceMeta(dir, json);
    } catch (e) {
      model.dispose();
      throw e;
    }
    return new ConfidenceNet(model, meta, weightsSha256.slice(0, 12));
  }

  /** Trains a new model on `samples` (see the class comment). */
  static async train(samples: readonly LabeledSample[], opts: Partial<TrainOptions> = {}): Promise<ConfidenceNet> {
    const o: TrainOptions = { ...DEFAULT_TRAIN_OPTIONS, ...opts };
    if (samples.length === 0) throw new Error('no training samples');
    const model = buildModel(o);
    const n = samples.length;
    const rows = new Float32Array(n * FEATURE_COUNT);
    const ys = new Float32Array(n);
    const ws = new Float32Array(n);
    const wsum = samples.reduce((a, s) => a + s.weight, 0);
    samples.forEach((s, i) => {
      rows.set(featurize(s.evidence).values, i * FEATURE_COUNT);
      ys[i] = s.label;
      ws[i] = s.weight / wsum;
    });
    const x = tf.tensor2d(rows, [n, FEATURE_COUNT]);
    const y = tf.tensor2d(ys, [n, 1]);
    const w = tf.tensor2d(ws, [n, 1]);
    const optimizer = tf.train.adam(o.learningRate);
    const vars = model.trainableWeights.map((v) => v.read() as tf.Variable);
    const kernels = vars.filter((v) => v.shape.length === 2);
    const eps = 1e-6;
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      optimizer.minimize(
        () => {
          const p = tf.clipByValue(model.apply(x, { training: true }) as tf.Tensor, eps, 1 - eps);
          const bce = tf.neg(tf.add(tf.mul(y, tf.log(p)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, p)))));
          const data = tf.sum(tf.mul(w, bce));
          const penalty = kernels.reduce<tf.Scalar>((acc, k) => tf.add(acc, tf.sum(tf.square(k))), tf.scalar(0));
          return tf.add(data, tf.mul(o.l2, penalty)) as tf.Scalar;
        },
        false,
        vars,
      );
    }
    optimizer.dispose();
    tf.dispose([x, y, w]);
    const meta: ConfidenceModelMeta = {
      kind: 'harbinger-confidence',
      featureVersion: FEATURE_VERSION,
      featureNames: [...FEATURE_NAMES],
      train: o,
      trainedAt: new Date().toISOString(),
      samples: {
        total: n,
        positives: samples.filter((s) => s.label === 1).length,
        truth: samples.filter((s) => s.source === 'truth').length,
        operator: samples.filter((s) => s.source === 'operator').length,
      },
    };
    return new ConfidenceNet(model, meta);
  }

  dispose(): void {
    this.model.dispose();
  }
}

function buildModel(o: TrainOptions): tf.Sequential {
  const model = tf.sequential({ name: 'harbinger_confidence' });
  if (o.hidden > 0) {
    model.add(
      tf.layers.dense({
        inputShape: [FEATURE_COUNT],
        units: o.hidden,
        activation: 'tanh',
        kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed }),
        biasInitializer: 'zeros',
        name: 'hidden',
      }),
    );
    model.add(
      tf.layers.dense({
        units: 1,
        activation: 'sigmoid',
        kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed + 1 }),
        biasInitializer: 'zeros',
        name: 'confidence',
      }),
    );
  } else {
    model.add(
      tf.layers.dense({
        inputShape: [FEATURE_COUNT],
        units: 1,
        activation: 'sigmoid',
        kernelInitializer: tf.initializers.glorotUniform({ seed: o.seed }),
        biasInitializer: 'zeros',
        name: 'confidence',
      }),
    );
  }
  return model;
}

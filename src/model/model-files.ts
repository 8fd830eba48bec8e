import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FEATURE_NAMES, FEATURE_VERSION, FeatureVersionError } from './features.js';

/**
 * Reading a saved confidence model without TensorFlow.js: the files are the standard tfjs layers
 * layout (io.ts writes them), so serve and replay can run the model from them in plain TypeScript
 * (dense-forward.ts) and only `harbinger train` needs TF.js.
 *
 *   <dir>/model.json   { modelTopology, format, weightsManifest: [{ paths: ['weights.bin'], weights: [...] }],
 *                        userDefinedMetadata: { harbinger: ConfidenceModelMeta, weightsSha256 } }
 *   <dir>/weights.bin  little-endian float32 values, concatenated in manifest order
 */

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

/** One weight of the manifest, as tfjs writes it. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

export interface ModelJson {
  modelTopology: object;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
  userDefinedMetadata?: Record<string, unknown>;
  trainingConfig?: unknown;
}

/** What the trainer's options were; recorded in the metadata. */
export interface TrainOptions {
  /** Seed of the weight initialization. */
  seed: number;
  /** Hidden units (tanh); 0 = logistic regression. */
  hidden: number;
  epochs: number;
  learningRate: number;
  /** L2 penalty on the kernels. */
  l2: number;
}

/** What model.json's `userDefinedMetadata.harbinger` records. */
export interface ConfidenceModelMeta {
  kind: 'harbinger-confidence';
  featureVersion: number;
  featureNames: string[];
  train: TrainOptions;
  trainedAt: string;
  samples: { total: number; positives: number; truth: number; operator: number };
  /** Free-form notes from the trainer (data sources, held-out metrics). */
  notes?: Record<string, unknown>;
}

export class ModelFileError extends Error {
  override name = 'ModelFileError';
}

export function sha256(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** model.json and its weights, the weights checked against the SHA-256 model.json records. */
export interface ModelFiles {
  json: ModelJson;
  /** The weight specs of every manifest group, in order. */
  specs: WeightSpec[];
  weights: Uint8Array;
  weightsSha256: string;
}

export function readModelFiles(dir: string): ModelFiles {
  const path = join(dir, MODEL_JSON);
  let json: ModelJson;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as ModelJson;
  } catch (e) {
    throw new ModelFileError(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (typeof json.modelTopology !== 'object' || !Array.isArray(json.weightsManifest))
    throw new ModelFileError(`${path} is not a tfjs layers model.json (modelTopology and weightsManifest required)`);
  const specs: WeightSpec[] = [];
  const parts: Uint8Array[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      try {
        parts.push(readFileSync(join(dir, p)));
      } catch (e) {
        throw new ModelFileError(`cannot read weights ${join(dir, p)}: ${(e as Error).message}`);
      }
    }
  }
  const weights = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    weights.set(p, at);
    at += p.byteLength;
  }
  const weightsSha256 = sha256(weights);
  const recorded = json.userDefinedMetadata?.['weightsSha256'];
  if (typeof recorded === 'string' && recorded !== weightsSha256)
    throw new ModelFileError(
      `${dir}: weights do not match model.json (sha256 ${weightsSha256.slice(0, 12)} ≠ recorded ${recorded.slice(0, 12)}); a write in progress?`,
    );
  return { json, specs, weights, weightsSha256 };
}

/**
 * The Harbinger metadata of a model, checked: a confidence model, of this feature version, with
 * this version's feature names (a FeatureVersionError for another version, so callers can say
 * "retrain").
 */
export function confidenceMeta(dir: string, json: ModelJson): ConfidenceModelMeta {
  const meta = json.userDefinedMetadata?.['harbinger'] as ConfidenceModelMeta | undefined;
  if (meta?.kind !== 'harbinger-confidence')
    throw new ModelFileError(`${dir}/${MODEL_JSON} is not a Harbinger confidence model (userDefinedMetadata.harbinger.kind)`);
  if (meta.featureVersion !== FEATURE_VERSION) throw new FeatureVersionError(meta.featureVersion, FEATURE_VERSION);
  if (meta.featureNames.join(',') !== FEATURE_NAMES.join(','))
    throw new ModelFileError(
      `${dir}: feature names differ from feature version ${FEATURE_VERSION}'s although the version matches: [${meta.featureNames.join(', ')}]`,
    );
  return meta;
}

import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from './backend.js';

/**
 * File IO for tfjs layers models without tfjs-node (`model.save('file://…')` needs it): our own save
 * and load handlers over `tf.io.withSaveHandler` / `tf.io.fromMemory`, writing the standard layout that
 * tfjs-node and the Python converter use, so models move between environments:
 *
 *   <dir>/model.json   { modelTopology, format, generatedBy, convertedBy,
 *                        weightsManifest: [{ paths: ['weights.bin'], weights: [...] }], userDefinedMetadata }
 *   <dir>/weights.bin  the weights, concatenated little-endian float32, in manifest order
 *
 * Writes are atomic per file (temp + rename), weights first: a reader that sees a new model.json sees its
 * weights. model.json also records the SHA-256 of weights.bin (`userDefinedMetadata.weightsSha256`), checked
 * on load, so a half-updated directory is refused rather than read inconsistently.
 */

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

export interface ModelJson {
  modelTopology: object;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  userDefinedMetadata?: Record<string, unknown>;
  trainingConfig?: tf.io.TrainingConfig;
}

export class ModelFileError extends Error {
  override name = 'ModelFileError';
}

function sha256(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/** Saves a layers model as `<dir>/model.json` + `<dir>/weights.bin`. Returns the weights' SHA-256. */
export async function saveModelToDir(
  model: tf.LayersModel,
  dir: string,
  metadata: Record<string, unknown> = {},
): Promise<{ weightsSha256: string; bytes: number }> {
  let out: { weightsSha256: string; bytes: number } | undefined;
  await model.save(
    tf.io.withSaveHandler(async (a: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> => {
      if (a.modelTopology === undefined || a.modelTopology instanceof ArrayBuffer) throw new ModelFileError('expected a JSON model topology');
      const weights = new Uint8Array(a.weightData === undefined ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(a.weightData));
      const weightsSha256 = sha256(weights);
      const json: ModelJson = {
        modelTopology: a.modelTopology,
        format: a.format ?? 'layers-model',
        generatedBy: a.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: a.convertedBy ?? null,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: a.weightSpecs ?? [] }],
        userDefinedMetadata: { ...(a.userDefinedMetadata ?? {}), ...metadata, weightsSha256 },
      };
      mkdirSync(dir, { recursive: true });
      writeAtomic(join(dir, WEIGHTS_BIN), weights);
      writeAtomic(join(dir, MODEL_JSON), `${JSON.stringify(json, null, 1)}\n`);
      out = { weightsSha256, bytes: weights.byteLength };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
    }),
  );
  return out!;
}

/** Reads `<dir>/model.json` and its weight files (checking the recorded SHA-256) into a layers model. */
export async function loadModelFromDir(dir: string): Promise<{ model: tf.LayersModel; json: ModelJson; weightsSha256: string }> {
  const path = join(dir, MODEL_JSON);
  let json: ModelJson;
  try {
    json = JSON.parse(readFileSync(path, 'utf8')) as ModelJson;
  } catch (e) {
    throw new ModelFileError(`cannot read ${path}: ${(e as Error).message}`);
  }
  if (typeof json.modelTopology !== 'object' || !Array.isArray(json.weightsManifest))
    throw new ModelFileError(`${path} is not a tfjs layers model.json (modelTopology and weightsManifest required)`);
  const specs: tf.io.WeightsManifestEntry[] = [];
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
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const weights = new Uint8Array(total);
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
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology,
    weightSpecs: specs,
    weightData: weights.buffer,
    format: json.format ?? 'layers-model',
    generatedBy: json.generatedBy ?? '',
    convertedBy: json.convertedBy ?? null,
    // biome-ignore lint/complexity/noBannedTypes: TF.js declares userDefinedMetadata as {[key: string]: {}}.
    ...(json.userDefinedMetadata !== undefined ? { userDefinedMetadata: json.userDefinedMetadata as Record<string, {}> } : {}),
    ...(json.trainingConfig !== undefined ? { trainingConfig: json.trainingConfig } : {}),
  };
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  return { model, json, weightsSha256 };
}

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../adapters/file/durable-file.js';
import { tf } from './backend.js';
import { MODEL_JSON, type ModelJson, ModelFileError, readModelFiles, sha256, WEIGHTS_BIN } from './model-files.js';

/**
 * File IO for tfjs layers models without tfjs-node (`model.save('file://…')` needs it): our own save
 * and load handlers over `tf.io.withSaveHandler` / `tf.io.fromMemory`, writing the standard layout that
 * tfjs-node and the Python converter use, so models move between environments:
 *
 *   <dir>/model.json   { modelTopology, format, generatedBy, convertedBy,
 *                        weightsManifest: [{ paths: ['weights.bin'], weights: [...] }], userDefinedMetadata }
 *   <dir>/weights.bin  the weights, concatenated little-endian float32, in manifest order
 *
 * Writes are atomic and durable per file (temp, fsync, rename: durable-file.ts), weights first: a reader that sees a new model.json sees its
 * weights. model.json also records the SHA-256 of weights.bin (`userDefinedMetadata.weightsSha256`), checked
 * on load, so a half-updated directory is refused rather than read inconsistently.
 */

export { MODEL_JSON, ModelFileError, type ModelJson, WEIGHTS_BIN } from './model-files.js';

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
      writeFileAtomic(join(dir, WEIGHTS_BIN), weights);
      writeFileAtomic(join(dir, MODEL_JSON), `${JSON.stringify(json, null, 1)}\n`);
      out = { weightsSha256, bytes: weights.byteLength };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
    }),
  );
  return out!;
}

/** Reads `<dir>/model.json` and its weight files (checking the recorded SHA-256) into a layers model (training, tests). */
export async function loadModelFromDir(dir: string): Promise<{ model: tf.LayersModel; json: ModelJson; weightsSha256: string }> {
  const { json, specs, weights, weightsSha256 } = readModelFiles(dir);
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: json.modelTopology,
    weightSpecs: specs as tf.io.WeightsManifestEntry[],
    weightData: weights.buffer as ArrayBuffer,
    format: json.format ?? 'layers-model',
    generatedBy: json.generatedBy ?? '',
    convertedBy: json.convertedBy ?? null,
    // biome-ignore lint/complexity/noBannedTypes: TF.js declares userDefinedMetadata as {[key: string]: {}}.
    ...(json.userDefinedMetadata !== undefined ? { userDefinedMetadata: json.userDefinedMetadata as Record<string, {}> } : {}),
    ...(json.trainingConfig !== undefined ? { trainingConfig: json.trainingConfig as tf.io.TrainingConfig } : {}),
  };
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  return { model, json, weightsSha256 };
}

import { ModelFileError, type ModelFiles } from './model-files.js';

/**
 * The confidence model's forward pass in plain TypeScript, so inference (serve, replay, eval) needs
 * no TensorFlow.js: a Sequential stack of Dense layers read from the saved model.json + weights.bin,
 * each `y = activation(x · kernel + bias)`. The net is tiny (23 → 8 → 1, 201 weights), so a loop is
 * as fast as any backend and loads in well under a millisecond.
 *
 * Only what the trainer builds is accepted (Dense layers; tanh, sigmoid, relu or linear; float32
 * weights, not quantized); anything else is refused with the reason rather than computed wrongly.
 * Sums run in float64 over the float32 weights: the result differs from TF.js's float32 arithmetic
 * by rounding only (test/model-forward.test.ts bounds it at 1e-6).
 */

type Activation = (x: number) => number;

const ACTIVATIONS: Record<string, Activation> = {
  linear: (x) => x,
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  relu: (x) => (x > 0 ? x : 0),
};

interface DenseLayer {
  name: string;
  inputs: number;
  units: number;
  /** Row-major [inputs × units], as tfjs stores a Dense kernel. */
  kernel: Float32Array;
  bias: Float32Array | undefined;
  activation: Activation;
}

interface LayerJson {
  class_name?: string;
  config?: { name?: string; units?: number; activation?: string; use_bias?: boolean; batch_input_shape?: (number | null)[] };
}

export class DenseForward {
  private constructor(
    private readonly layers: readonly DenseLayer[],
    /** Length of the input vector. */
    readonly inputs: number,
  ) {}

  /** Builds the forward pass from files read by `readModelFiles`. */
  static fromFiles(files: ModelFiles, where: string): DenseForward {
    const topology = files.json.modelTopology as { class_name?: string; config?: { layers?: LayerJson[] } | LayerJson[] };
    const refuse = (why: string): never => {
      throw new ModelFileError(`${where}: ${why} (the plain-TypeScript forward pass runs Sequential Dense models only)`);
    };
    if (topology.class_name !== 'Sequential') refuse(`model class ${String(topology.class_name)}`);
    // Keras 2 writes config.layers; older tfjs wrote config as the list itself.
    const layerJson = Array.isArray(topology.config) ? topology.config : (topology.config?.layers ?? []);
    if (layerJson.length === 0) refuse('no layers');
    const weights = weightsByName(files, where);
    const layers: DenseLayer[] = [];
    let inputs = layerJson[0]?.config?.batch_input_shape?.[1] ?? refuse('the first layer has no input shape');
    const modelInputs = inputs;
    for (const l of layerJson) {
      const c = l.config ?? {};
      if (l.class_name !== 'Dense') refuse(`layer class ${String(l.class_name)}`);
      const activation = ACTIVATIONS[c.activation ?? 'linear'] ?? refuse(`activation ${String(c.activation)}`);
      const units = c.units ?? refuse(`layer ${String(c.name)} without units`);
      const kernel = weights.take(`${c.name}/kernel`, [inputs, units]);
      const bias = c.use_bias === false ? undefined : weights.take(`${c.name}/bias`, [units]);
      layers.push({ name: c.name ?? '', inputs, units, kernel, bias, activation });
      inputs = units;
    }
    if (inputs !== 1) refuse(`the last layer has ${inputs} units, not 1`);
    weights.assertAllUsed();
    return new DenseForward(layers, modelInputs);
  }

  /** The model's single output for one input vector. */
  predict(x: ArrayLike<number>): number {
    if (x.length !== this.inputs) throw new RangeError(`expected ${this.inputs} inputs, got ${x.length}`);
    let input: ArrayLike<number> = x;
    for (const l of this.layers) {
      const out = new Float64Array(l.units);
      for (let j = 0; j < l.units; j++) {
        let sum = l.bias === undefined ? 0 : l.bias[j]!;
        for (let i = 0; i < l.inputs; i++) sum += input[i]! * l.kernel[i * l.units + j]!;
        out[j] = l.activation(sum);
      }
      input = out;
    }
    return input[0]!;
  }
}

/** The weights as named float32 arrays, taken one by one with their shape checked. */
function weightsByName(files: ModelFiles, where: string) {
  const byName = new Map<string, { shape: number[]; values: Float32Array }>();
  let offset = 0;
  for (const spec of files.specs) {
    if (spec.dtype !== 'float32' || spec.quantization !== undefined)
      throw new ModelFileError(`${where}: weight ${spec.name} is ${spec.dtype}${spec.quantization !== undefined ? ' (quantized)' : ''}, not float32`);
    const count = spec.shape.reduce((a, b) => a * b, 1);
    if (offset + count * 4 > files.weights.byteLength) throw new ModelFileError(`${where}: weights.bin is shorter than the manifest says`);
    // A copy: the file buffer need not be 4-byte aligned, and the values are little-endian on every platform.
    const view = new DataView(files.weights.buffer, files.weights.byteOffset + offset, count * 4);
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) values[i] = view.getFloat32(i * 4, true);
    byName.set(spec.name, { shape: spec.shape, values });
    offset += count * 4;
  }
  if (offset !== files.weights.byteLength) throw new ModelFileError(`${where}: weights.bin is longer than the manifest says`);
  return {
    take(name: string, shape: number[]): Float32Array {
      const w = byName.get(name);
      if (w === undefined) throw new ModelFileError(`${where}: no weight ${name} in the manifest`);
      if (w.shape.join('x') !== shape.join('x')) throw new ModelFileError(`${where}: weight ${name} has shape [${w.shape}], expected [${shape}]`);
      byName.delete(name);
      return w.values;
    },
    assertAllUsed(): void {
      if (byName.size > 0) throw new ModelFileError(`${where}: weights no layer uses: ${[...byName.keys()].join(', ')}`);
    },
  };
}

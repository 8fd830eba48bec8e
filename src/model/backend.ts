import * as tf from '@tensorflow/tfjs';

/**
 * TensorFlow.js backend selection, once per process:
 *   1. `@tensorflow/tfjs-node` (native TensorFlow) when it is installed: an optional dependency, its
 *      install downloads libtensorflow and is skipped where that cannot be reached;
 *   2. `@tensorflow/tfjs-backend-wasm`: ships its .wasm in the package, works in Node without paths
 *      (SIMD on, threads off); ~10× the cpu backend on small dense nets;
 *   3. `cpu`: plain JavaScript, always there.
 * `tf.enableProdMode()` drops debug checks (and the banner asking for tfjs-node).
 */

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

let chosen: Promise<string> | undefined;

/** Picks and initializes the best available backend; returns its name ('tensorflow', 'wasm' or 'cpu'). Idempotent. */
export function initBackend(opts: { prefer?: BackendName } = {}): Promise<string> {
  chosen ??= select(opts.prefer);
  return chosen;
}

/** The backend in use, or undefined before `initBackend` resolved. */
export function currentBackend(): string | undefined {
  return chosen === undefined ? undefined : tf.getBackend();
}

async function select(prefer: BackendName | undefined): Promise<string> {
  tf.enableProdMode();
  const order: BackendName[] =
    prefer !== undefined ? [prefer, ...(['tensorflow', 'wasm', 'cpu'] as const).filter((b) => b !== prefer)] : ['tensorflow', 'wasm', 'cpu'];
  for (const name of order) {
    try {
      if (name === 'tensorflow') {
        // A variable specifier: the package is optional, so the compiler must not require it.
        const spec = '@tensorflow/tfjs-node';
        await import(spec);
      } else if (name === 'wasm') {
        await import('@tensorflow/tfjs-backend-wasm');
      }
      if (await tf.setBackend(name)) {
        await tf.ready();
        return tf.getBackend();
      }
    } catch {
      // Not installed, or its native part is missing: try the next one.
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return tf.getBackend();
}

export { tf };

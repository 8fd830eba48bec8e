import { existsSync, readFileSync, unwatchFile, watch, watchFile, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConfidenceModel } from '../core/decide/confidence.js';
import { DenseForward } from './dense-forward.js';
import { assertFeatureVersion, featurize } from './features.js';
import { confidenceMeta, MODEL_JSON, readModelFiles, WEIGHTS_BIN } from './model-files.js';
import type { Selection } from './trainer.js';

/**
 * Loading the learned confidence model for the decision path, and hot reload. No TensorFlow.js here:
 * the saved weights run through the plain-TypeScript forward pass (dense-forward.ts), so serve and
 * replay never load TF.js (only `harbinger train` does).
 *
 *   const m = await loadConfidenceModel(dir);            // undefined: keep the formula
 *   if (m) engine.setConfidenceModel(m.model);            // synchronous (e) => number, < 1 ms
 *   const w = watchConfidenceModel(dir, (m) => engine.setConfidenceModel(m?.model ?? formula), { onError: log });
 *
 * The learned model is used only when `<dir>/selection.json` says `"default": "learned"` (written by
 * `harbinger train` after the held-out comparison), unless `ignoreSelection`. Errors (a corrupt file, a model
 * of another feature version: FeatureVersionError) are thrown by `loadConfidenceModel` and reported to
 * `onError` by the watcher, which then keeps the model it had.
 */

export const SELECTION_JSON = 'selection.json';

export interface LoadedConfidenceModel {
  /** Synchronous confidence for the decision engine (`DecisionEngine.setConfidenceModel`). */
  model: ConfidenceModel;
  /** "f<feature version>-<weights sha256 prefix>". */
  version: string;
  /** What computes it: 'typescript' (dense-forward.ts; TF.js is for training only). */
  backend: string;
  featureVersion: number;
  selection: Selection | undefined;
  /** Releases the model (nothing to free without tensors; kept so callers need not know). */
  dispose(): void;
}

export interface LoadOptions {
  /** Load even when selection.json is missing or says "formula" (evaluation, tests). */
  ignoreSelection?: boolean;
  /** Told why undefined is returned (no model, or the formula is selected). */
  onSkip?: (reason: string) => void;
}

/** The shipped model folder (`models/confidence` of the package), from src/ (tests) or dist/src/ (built). */
export function shippedModelDir(): string {
  const candidates = ['../../models/confidence', '../../../models/confidence'].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  return candidates.find((d) => existsSync(join(d, MODEL_JSON))) ?? candidates[candidates.length - 1]!;
}

export function readSelection(dir: string): Selection | undefined {
  const path = join(dir, SELECTION_JSON);
  if (!existsSync(path)) return undefined;
  const s = JSON.parse(readFileSync(path, 'utf8')) as Selection;
  if (s.default !== 'learned' && s.default !== 'formula') throw new Error(`${path}: "default" must be "learned" or "formula"`);
  return s;
}

export async function loadConfidenceModel(dir: string, opts: LoadOptions = {}): Promise<LoadedConfidenceModel | undefined> {
  if (!existsSync(join(dir, MODEL_JSON))) {
    opts.onSkip?.(`no ${MODEL_JSON} in ${dir}`);
    return undefined;
  }
  const selection = readSelection(dir);
  if (opts.ignoreSelection !== true && selection?.default !== 'learned') {
    opts.onSkip?.(
      selection === undefined ? `no ${SELECTION_JSON} in ${dir}: the formula stays the default` : `${SELECTION_JSON} selects the formula: ${selection.reason}`,
    );
    return undefined;
  }
  const files = readModelFiles(dir);
  const meta = confidenceMeta(dir, files.json);
  const net = DenseForward.fromFiles(files, dir);
  const model: ConfidenceModel = (e) => {
    const v = featurize(e);
    assertFeatureVersion(meta.featureVersion, v.version);
    // Rounded to 3 decimals like the formula (and ConfidenceNet.asConfidenceModel).
    return Math.round(net.predict(v.values) * 1000) / 1000;
  };
  return {
    model,
    version: `f${meta.featureVersion}-${files.weightsSha256.slice(0, 12)}`,
    backend: 'typescript',
    featureVersion: meta.featureVersion,
    selection,
    dispose: () => {},
  };
}

export interface ModelWatcher {
  close(): void;
}

export interface WatchOptions extends LoadOptions {
  /** Quiet time after the last file event before reloading (default 300 ms). */
  debounceMs?: number;
  /** A reload failed; the previous model stays in place. */
  onError?: (e: Error) => void;
  /**
   * The model the caller loaded at start (from `loadConfidenceModel`), or null when it runs the formula:
   * the watcher then takes it over (and disposes it once replaced). Omitted: the watcher loads its own
   * reference copy to compare versions with.
   */
  initial?: LoadedConfidenceModel | null;
}

/**
 * Watches `dir` (model.json, weights.bin, selection.json) and reloads after a quiet `debounceMs`.
 * `onChange(next)` gets the new model, or undefined when the formula should take over (model removed or
 * the formula selected). The previous model is disposed after `onChange` returns, so swap it there.
 * Nothing is reported when a reload yields the same version and selection. `close()` stops watching and
 * leaves the last model handed out to the caller (still usable; dispose it when done).
 */
export function watchConfidenceModel(dir: string, onChange: (next: LoadedConfidenceModel | undefined) => void, opts: WatchOptions = {}): ModelWatcher {
  const debounceMs = opts.debounceMs ?? 300;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let current: LoadedConfidenceModel | undefined;
  let currentKey: string | undefined;
  let running: Promise<void> = Promise.resolve();
  const keyOf = (m: LoadedConfidenceModel | undefined): string => (m === undefined ? 'formula' : `${m.version}|${m.selection?.decidedAt ?? ''}`);

  const reload = async (): Promise<void> => {
    let next: LoadedConfidenceModel | undefined;
    try {
      next = await loadConfidenceModel(dir, opts);
    } catch (e) {
      opts.onError?.(e as Error);
      return;
    }
    if (closed) {
      next?.dispose();
      return;
    }
    const key = keyOf(next);
    if (key === currentKey) {
      next?.dispose();
      return;
    }
    const prev = current;
    current = next;
    currentKey = key;
    try {
      onChange(next);
    } finally {
      prev?.dispose();
    }
  };
  const schedule = (): void => {
    if (closed) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      running = running.then(reload);
    }, debounceMs);
  };

  // Seed the key with what is there now, without reporting it (the caller loaded it already).
  if (opts.initial !== undefined) {
    current = opts.initial ?? undefined;
    currentKey = keyOf(current);
  } else
    running = (async () => {
      try {
        const now = await loadConfidenceModel(dir, { ...opts, onSkip: () => {} });
        current = now;
        currentKey = keyOf(now);
      } catch {
        currentKey = undefined;
      }
    })();

  const files = new Set([MODEL_JSON, WEIGHTS_BIN, SELECTION_JSON]);
  let watcher: FSWatcher | undefined;
  const poll = join(dir, MODEL_JSON);
  if (existsSync(dir)) {
    // The folder, not the file: the trainer replaces model.json by rename, which a file watch would lose.
    watcher = watch(dir, (_event, name) => {
      if (name === null || files.has(name.toString())) schedule();
    });
  } else {
    watchFile(poll, { interval: 2000 }, schedule);
  }
  return {
    close(): void {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      watcher?.close();
      if (watcher === undefined) unwatchFile(poll, schedule);
    },
  };
}

import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfidenceEvidence } from '../src/domain/decision.js';
import { initBackend, tf } from '../src/model/backend.js';
import { ConfidenceNet } from '../src/model/confidence-net.js';
import type { LabeledSample } from '../src/model/dataset.js';
import { DenseForward } from '../src/model/dense-forward.js';
import { FEATURE_COUNT, featurize } from '../src/model/features.js';
import { loadConfidenceModel, shippedModelDir } from '../src/model/load.js';
import { readModelFiles } from '../src/model/model-files.js';

// The plain-TypeScript forward pass must give what TF.js gives on the same saved files, to 1e-6,
// for the shipped model and for freshly trained ones (both shapes the trainer builds).

const TOLERANCE = 1e-6;

/** A seeded LCG: the vectors are the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Feature vectors: uniform in [0, 1] (the features' range), some beyond it (the tails), and the corners. */
function vectors(n: number, seed: number): Float32Array[] {
  const r = rng(seed);
  const out = [new Float32Array(FEATURE_COUNT), new Float32Array(FEATURE_COUNT).fill(1)];
  for (let i = 0; i < n; i++) out.push(Float32Array.from({ length: FEATURE_COUNT }, () => (i % 10 === 0 ? r() * 6 - 3 : r())));
  return out;
}

function evidence(n: number, seed: number): ConfidenceEvidence[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => ({
    persistence: r(),
    magnitude: r() * 40,
    separation: r() * 20,
    businessImpact: [0, 0.5, 1][Math.floor(r() * 3)]!,
    correlation: r(),
    dataCompleteness: 0.5 + r() / 2,
    minutesToBreach: r() < 0.5 ? r() * 120 : null,
    magnitudes: { latency: r() * 30, reliability: r() * 10 },
    signals: r() < 0.5 ? ['latency'] : ['latency', 'reliability'],
    causeKind: r() < 0.3 ? 'deployment' : 'none',
    shareGain: r(),
    trafficShare: r() * 100,
    peers: Math.floor(r() * 5),
  }));
}

/** TF.js's predictions for raw vectors, one batch. */
function tfPredict(net: ConfidenceNet, xs: Float32Array[]): Float32Array {
  const rows = new Float32Array(xs.length * FEATURE_COUNT);
  for (const [i, x] of xs.entries()) rows.set(x, i * FEATURE_COUNT);
  return tf.tidy(() => (net.model.predict(tf.tensor2d(rows, [xs.length, FEATURE_COUNT])) as tf.Tensor).dataSync() as Float32Array);
}

function maxError(dir: string, net: ConfidenceNet, xs: Float32Array[]): number {
  const ts = DenseForward.fromFiles(readModelFiles(dir), dir);
  const expected = tfPredict(net, xs);
  let worst = 0;
  xs.forEach((x, i) => {
    worst = Math.max(worst, Math.abs(ts.predict(x) - expected[i]!));
  });
  return worst;
}

function training(n: number): LabeledSample[] {
  return evidence(n, 99).map((e, i) => ({
    evidence: e,
    label: e.minutesToBreach !== null && e.separation > 5 ? 1 : 0,
    weight: 1,
    source: 'truth',
    ref: `s${i}`,
  }));
}

describe('the plain-TypeScript forward pass equals TF.js', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('on the shipped model, over 5,000 vectors and 1,000 evidence bundles', async () => {
    const dir = shippedModelDir();
    const net = await ConfidenceNet.load(dir);
    const xs = [...vectors(5000, 1), ...evidence(1000, 2).map((e) => featurize(e).values)];
    const err = maxError(dir, net, xs);
    console.log(`shipped model: max |TS − TF.js| = ${err.toExponential(2)} over ${xs.length} vectors`);
    expect(err).toBeLessThan(TOLERANCE);
    net.dispose();
  });

  describe('on freshly trained models', () => {
    const dirs: string[] = [];
    const nets: ConfidenceNet[] = [];
    afterAll(() => {
      for (const n of nets) n.dispose();
    });

    for (const hidden of [8, 0, 32]) {
      it(`hidden ${hidden}${hidden === 0 ? ' (logistic regression)' : ''}`, async () => {
        const net = await ConfidenceNet.train(training(300), { seed: 3 + hidden, hidden, epochs: 150 });
        const dir = mkdtempSync(join(tmpdir(), 'harbinger-forward-'));
        await net.save(dir);
        nets.push(net);
        dirs.push(dir);
        const err = maxError(dir, net, vectors(3000, 10 + hidden));
        console.log(`trained, hidden ${hidden}: max |TS − TF.js| = ${err.toExponential(2)}`);
        expect(err).toBeLessThan(TOLERANCE);
        // What the decision engine gets: the same 3-decimal rounding of the same probability.
        const m = (await loadConfidenceModel(dir, { ignoreSelection: true }))!;
        expect(m.backend).toBe('typescript');
        expect(m.version).toBe(net.version);
        const es = evidence(200, 5);
        const viaTf = net.predictMany(es);
        for (const [i, e] of es.entries()) expect(Math.abs(m.model(e) - viaTf[i]!)).toBeLessThanOrEqual(0.0005 + TOLERANCE);
      });
    }
  });
});

describe('inference without TensorFlow.js', () => {
  // A resolve hook that makes every @tensorflow package unresolvable: the runtime image without TF.js.
  const hook = `data:text/javascript,${encodeURIComponent(
    "export async function resolve(s, c, next) { if (s.startsWith('@tensorflow/')) throw Object.assign(new Error('Cannot find package ' + s), { code: 'ERR_MODULE_NOT_FOUND' }); return next(s, c); }",
  )}`;
  const register = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register(${JSON.stringify(hook)});`)}`;
  const run = (args: string[]) => spawnSync(process.execPath, ['--import', register, 'dist/src/cli/main.js', ...args], { encoding: 'utf8', timeout: 120_000 });

  it('replays with the learned model when TF.js cannot be loaded', () => {
    const r = run(['replay', 'fixtures/scenarios/bad-deploy.jsonl', '--model', 'shipped', '--quiet']);
    expect(r.stderr).not.toMatch(/tensorflow/i);
    expect(r.status).toBe(0);
  });

  it('says that training needs TF.js, without a stack trace', () => {
    const r = run(['train', '--dry-run', '--seeds', '1', '--heldout', '2']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/TensorFlow\.js is not installed, and training needs it/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfidenceEvidence, Recommendation } from '../src/domain/decision.js';
import { initBackend, tf } from '../src/model/backend.js';
import { ConfidenceNet } from '../src/model/confidence-net.js';
import type { LabeledSample } from '../src/model/dataset.js';
import { truthLabel } from '../src/model/dataset.js';
import { measureLatency } from '../src/model/evaluate.js';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_VERSION, featurize, FeatureVersionError } from '../src/model/features.js';
import { ModelFileError } from '../src/model/io.js';
import { loadConfidenceModel, watchConfidenceModel, type LoadedConfidenceModel } from '../src/model/load.js';
import { atThreshold, brierScore, calibrationBins, expectedCalibrationError } from '../src/model/metrics.js';
import { decide } from '../src/model/trainer.js';
import { appendTrainingLog, readTrainingLog, samplesFromLog, TrainingLogError, trainingLogEntry } from '../src/model/training-log.js';

/** Deterministic synthetic evidence: a mitigation is right when a breach is predicted and the stack stands out. */
function synthetic(n: number, seed = 1): LabeledSample[] {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const out: LabeledSample[] = [];
  for (let i = 0; i < n; i++) {
    const breach = rnd() < 0.5;
    const sep = rnd() * 20;
    const e: ConfidenceEvidence = {
      persistence: 0.6 + rnd() * 0.4,
      magnitude: 4 + rnd() * 30,
      separation: sep,
      businessImpact: rnd() < 0.2 ? 1 : 0,
      correlation: rnd() < 0.3 ? 1 : 0.5,
      dataCompleteness: 1,
      minutesToBreach: breach ? rnd() * 90 : null,
      magnitudes: { latency: 4 + rnd() * 20 },
      signals: ['latency'],
      causeKind: 'none',
      peers: 1,
      trafficShare: 50,
    };
    out.push({ evidence: e, label: breach && sep > 5 ? 1 : 0, weight: 1, source: 'truth', ref: `syn-${i}` });
  }
  return out;
}

const tmp = (): string => mkdtempSync(join(tmpdir(), 'harbinger-model-'));

/** (confidence, outcome) pairs as the metrics take them. */
const outcomes = (...pairs: [number, 0 | 1][]): { p: number; y: 0 | 1 }[] => pairs.map(([p, y]) => ({ p, y }));

describe('metrics on hand-computed examples', () => {
  it('Brier score', () => {
    // (0.9-1)² = 0.01, (0.2-0)² = 0.04, (0.6-1)² = 0.16, (0.5-0)² = 0.25 → mean 0.115
    expect(brierScore(outcomes([0.9, 1], [0.2, 0], [0.6, 1], [0.5, 0]))).toBeCloseTo(0.115, 12);
    expect(brierScore(outcomes([1, 1], [0, 0]))).toBe(0);
    expect(brierScore(outcomes([0.5, 1], [0.5, 0]))).toBe(0.25);
  });

  it('expected calibration error', () => {
    // 10 bins. Bin [0.1,0.2): p 0.1, 0.1 with y 0, 1 → |0.1 − 0.5| = 0.4, weight 2/5.
    // Bin [0.9,1.0]: p 0.9, 0.9, 1.0 with y 1, 1, 0 → mean p 0.9333, rate 0.6667 → 0.2667, weight 3/5.
    // ECE = 0.4·0.4 + 0.6·0.26667 = 0.16 + 0.16 = 0.32
    const s = [
      { p: 0.1, y: 0 as const },
      { p: 0.1, y: 1 as const },
      { p: 0.9, y: 1 as const },
      { p: 0.9, y: 1 as const },
      { p: 1.0, y: 0 as const },
    ];
    expect(expectedCalibrationError(s)).toBeCloseTo(0.32, 10);
    const bins = calibrationBins(s);
    expect(bins[9]!.n).toBe(3);
    expect(bins[1]!.n).toBe(2);
    // Perfectly calibrated: in each bin the mean confidence equals the observed rate.
    expect(expectedCalibrationError(outcomes([0.25, 1], [0.25, 0], [0.25, 0], [0.25, 0]))).toBeCloseTo(0, 12);
  });

  it('precision and recall at the threshold', () => {
    const m = atThreshold(
      [
        { p: 0.9, y: 1 },
        { p: 0.55, y: 0 }, // at the threshold counts as a mitigation
        { p: 0.54, y: 1 },
        { p: 0.1, y: 0 },
      ],
      0.55,
    );
    expect(m).toMatchObject({ mitigations: 2, truePositives: 1, falsePositives: 1, falseNegatives: 1, precision: 0.5, recall: 0.5 });
    expect(atThreshold([{ p: 0.1, y: 0 }], 0.55)).toMatchObject({ precision: 1, recall: 1, mitigations: 0 });
  });

  it('labels a mitigation right only for the incident stack within [start − 30 min, end]', () => {
    const truth = { incidents: [{ stack: 'a', start: '2026-03-02T10:00:00Z', end: '2026-03-02T11:00:00Z' }] };
    expect(truthLabel(truth, 'a', Date.parse('2026-03-02T09:30:00Z'))).toBe(1);
    expect(truthLabel(truth, 'a', Date.parse('2026-03-02T09:29:00Z'))).toBe(0);
    expect(truthLabel(truth, 'a', Date.parse('2026-03-02T11:00:00Z'))).toBe(1);
    expect(truthLabel(truth, 'b', Date.parse('2026-03-02T10:30:00Z'))).toBe(0);
  });
});

describe('features', () => {
  it('one vector per evidence bundle, scaled to [0, 1], with neutral defaults for missing optional fields', () => {
    const bare: ConfidenceEvidence = {
      persistence: 0.8,
      magnitude: 9,
      separation: 4,
      businessImpact: 0.5,
      correlation: 1,
      dataCompleteness: 1,
      minutesToBreach: 30,
    };
    const v = featurize(bare);
    expect(v.version).toBe(FEATURE_VERSION);
    expect(v.values).toHaveLength(FEATURE_COUNT);
    expect(FEATURE_NAMES).toHaveLength(FEATURE_COUNT);
    expect(new Set(FEATURE_NAMES).size).toBe(FEATURE_COUNT);
    for (const x of v.values) expect(x >= 0 && x <= 1).toBe(true);
    const named = Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, v.values[i]!]));
    expect(named['breach_predicted']).toBe(1);
    expect(named['breached']).toBe(0);
    expect(named['breach_urgency']).toBeCloseTo(0.75, 6);
    expect(named['traffic_share']).toBeCloseTo(0.5, 6);
    expect(featurize({ ...bare, magnitude: 1e9, separation: Number.NaN, minutesToBreach: null }).values.every((x) => x >= 0 && x <= 1)).toBe(true);
  });
});

describe('the confidence net', () => {
  let data: LabeledSample[];
  let net: ConfidenceNet;

  beforeAll(async () => {
    await initBackend();
    data = synthetic(200);
    net = await ConfidenceNet.train(data, { seed: 11, epochs: 300 });
  });
  afterAll(() => net.dispose());

  it('runs on the best backend available (no tfjs-node here: wasm)', async () => {
    const b = await initBackend();
    expect(['tensorflow', 'wasm', 'cpu']).toContain(b);
    expect(tf.getBackend()).toBe(b);
  });

  it('learns the synthetic rule', () => {
    const p = net.predictMany(data.map((s) => s.evidence));
    expect(brierScore(p.map((x, i) => ({ p: x, y: data[i]!.label })))).toBeLessThan(0.08);
  });

  it('is reproducible: same data and seed, same weights; another seed, other weights', async () => {
    const again = await ConfidenceNet.train(data, { seed: 11, epochs: 300 });
    const other = await ConfidenceNet.train(data, { seed: 12, epochs: 300 });
    const a = net.weights();
    const b = again.weights();
    expect(b.length).toBe(a.length);
    for (let i = 0; i < a.length; i++) expect(Array.from(b[i]!)).toEqual(Array.from(a[i]!));
    expect(Array.from(other.weights()[0]!)).not.toEqual(Array.from(a[0]!));
    again.dispose();
    other.dispose();
  });

  it('saves model.json + weights.bin and loads them back with identical predictions', async () => {
    const dir = tmp();
    await net.save(dir);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest).toEqual([{ paths: ['weights.bin'], weights: expect.any(Array) }]);
    const params = net.weights().reduce((n, w) => n + w.length, 0);
    expect(readFileSync(join(dir, 'weights.bin')).byteLength).toBe(params * 4);
    expect(json.userDefinedMetadata.harbinger).toMatchObject({ kind: 'harbinger-confidence', featureVersion: FEATURE_VERSION, featureNames: FEATURE_NAMES });

    const back = await ConfidenceNet.load(dir);
    expect(back.version).toBe(net.version);
    const ev = data.slice(0, 50).map((s) => s.evidence);
    expect(back.predictMany(ev)).toEqual(net.predictMany(ev));
    for (const e of ev.slice(0, 10)) expect(back.predict(e)).toBe(net.predict(e));
    back.dispose();
  });

  it('refuses features of another version, and a saved model of another version, with a clear error', async () => {
    const v = featurize(data[0]!.evidence);
    expect(() => net.predictVector({ version: FEATURE_VERSION + 1, values: v.values })).toThrow(FeatureVersionError);
    expect(() => net.predictVector({ version: FEATURE_VERSION + 1, values: v.values })).toThrow(/trained on feature version 1, got features of version 2/);

    const dir = tmp();
    await net.save(dir);
    const path = join(dir, 'model.json');
    const json = JSON.parse(readFileSync(path, 'utf8'));
    json.userDefinedMetadata.harbinger.featureVersion = 99;
    writeFileSync(path, JSON.stringify(json));
    await expect(ConfidenceNet.load(dir)).rejects.toThrow(FeatureVersionError);
    await expect(ConfidenceNet.load(dir)).rejects.toThrow(/feature version 99/);
  });

  it('refuses weights that do not match model.json', async () => {
    const dir = tmp();
    await net.save(dir);
    const w = readFileSync(join(dir, 'weights.bin'));
    w[0] = w[0]! ^ 0xff;
    writeFileSync(join(dir, 'weights.bin'), w);
    await expect(ConfidenceNet.load(dir)).rejects.toThrow(ModelFileError);
  });

  it('loads for the decision engine only when selection.json says learned; infers in well under a millisecond', async () => {
    const dir = tmp();
    const skipped: string[] = [];
    expect(await loadConfidenceModel(dir, { onSkip: (r) => skipped.push(r) })).toBeUndefined();
    await net.save(dir);
    expect(await loadConfidenceModel(dir, { onSkip: (r) => skipped.push(r) })).toBeUndefined();
    writeFileSync(
      join(dir, 'selection.json'),
      JSON.stringify({ default: 'formula', reason: 'not better', decidedAt: 'x', modelVersion: net.version, featureVersion: 1, checks: [] }),
    );
    expect(await loadConfidenceModel(dir, { onSkip: (r) => skipped.push(r) })).toBeUndefined();
    expect(skipped).toHaveLength(3);
    expect(skipped[2]).toMatch(/selects the formula: not better/);
    const forced = await loadConfidenceModel(dir, { ignoreSelection: true });
    expect(forced?.version).toBe(net.version);
    forced!.dispose();

    writeFileSync(
      join(dir, 'selection.json'),
      JSON.stringify({ default: 'learned', reason: 'better', decidedAt: 'y', modelVersion: net.version, featureVersion: 1, checks: [] }),
    );
    const m = (await loadConfidenceModel(dir))!;
    expect(m.backend).toBe('typescript');
    expect(m.featureVersion).toBe(FEATURE_VERSION);
    const e = data[3]!.evidence;
    expect(m.model(e)).toBe(Math.round(net.predict(e) * 1000) / 1000);
    const lat = measureLatency(
      m.model,
      data.map((s) => s.evidence),
      2000,
    );
    console.log(`inference on ${m.backend}: p50 ${lat.p50Us.toFixed(0)} µs, p99 ${lat.p99Us.toFixed(0)} µs, mean ${lat.meanUs.toFixed(0)} µs`);
    expect(lat.p50Us).toBeLessThan(1000);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) m.model(e);
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });

  it('hot-reloads a new model.json (debounced) and falls back to the formula when the selection says so', async () => {
    const dir = tmp();
    await net.save(dir);
    writeFileSync(
      join(dir, 'selection.json'),
      JSON.stringify({ default: 'learned', reason: 'r', decidedAt: '1', modelVersion: net.version, featureVersion: 1, checks: [] }),
    );
    const initial = (await loadConfidenceModel(dir))!;
    const changes: (LoadedConfidenceModel | undefined)[] = [];
    const errors: Error[] = [];
    let wake: () => void = () => {};
    const watcher = watchConfidenceModel(
      dir,
      (m) => {
        changes.push(m);
        wake();
      },
      { debounceMs: 100, initial, onError: (e) => errors.push(e) },
    );
    const next = (): Promise<void> => new Promise<void>((r) => (wake = r));
    try {
      const other = await ConfidenceNet.train(data, { seed: 5, epochs: 50 });
      let changed = next();
      await other.save(dir);
      await changed;
      expect(changes).toHaveLength(1);
      expect(changes[0]!.version).toBe(other.version);
      expect(changes[0]!.version).not.toBe(initial.version);
      expect(changes[0]!.model(data[0]!.evidence)).toBe(Math.round(other.predict(data[0]!.evidence) * 1000) / 1000);

      changed = next();
      writeFileSync(
        join(dir, 'selection.json'),
        JSON.stringify({ default: 'formula', reason: 'r', decidedAt: '2', modelVersion: other.version, featureVersion: 1, checks: [] }),
      );
      await changed;
      expect(changes).toHaveLength(2);
      expect(changes[1]).toBeUndefined();
      other.dispose();
    } finally {
      watcher.close();
    }
    expect(errors).toEqual([]);
    expect(existsSync(join(dir, 'model.json'))).toBe(true);
  });
});

describe('the training log', () => {
  const rec = (id: string): Recommendation => ({
    type: 'recommendation',
    id,
    ts: Date.parse('2026-03-09T05:49:00Z'),
    incidentId: 'inc-1',
    stack: 'us-east-1',
    service: 'checkout',
    action: 'shift_traffic',
    percent: 50,
    targets: ['us-west-2'],
    confidence: 0.7,
    evidence: synthetic(1)[0]!.evidence,
    requiresApproval: true,
    blockedBy: null,
    status: 'awaiting_approval',
    reason: 'shift',
    phases: [],
    cause: { kind: 'unknown', reason: '' },
    predictedBreachAt: null,
  });

  it('appends JSONL entries with the evidence bundle and turns them into labeled samples', () => {
    const path = join(tmp(), 'sub', 'log.jsonl');
    appendTrainingLog(path, trainingLogEntry(rec('r1'), 'approve', { by: 'alice' }));
    appendTrainingLog(path, trainingLogEntry(rec('r1'), 'ineffective')); // validation beats the approval
    appendTrainingLog(path, trainingLogEntry(rec('r2'), 'reject', { weight: 2 }));
    appendTrainingLog(path, trainingLogEntry(rec('r3'), 'effective'));
    appendTrainingLog(path, trainingLogEntry(rec('r3'), 'reject')); // ...and a later verdict does not override it
    const entries = readTrainingLog(path);
    expect(entries).toHaveLength(5);
    expect(entries[0]).toMatchObject({
      v: 1,
      decision: 'approve',
      by: 'alice',
      recommendationId: 'r1',
      stack: 'us-east-1',
      confidence: 0.7,
      ts: '2026-03-09T05:49:00.000Z',
    });
    expect(entries[0]!.evidence.minutesToBreach).toBe(rec('r1').evidence.minutesToBreach);
    const samples = samplesFromLog(entries, 5);
    expect(samples.map((s) => [s.label, s.weight, s.source])).toEqual([
      [0, 5, 'operator'],
      [0, 2, 'operator'],
      [1, 5, 'operator'],
    ]);
  });

  it('reports a bad line with its number', () => {
    const path = join(tmp(), 'log.jsonl');
    appendTrainingLog(path, trainingLogEntry(rec('r1'), 'approve'));
    writeFileSync(path, `${readFileSync(path, 'utf8')}{"v":1,"decision":"maybe"}\n`);
    expect(() => readTrainingLog(path)).toThrow(TrainingLogError);
    expect(() => readTrainingLog(path)).toThrow(/log\.jsonl:2:/);
  });
});

describe('selection', () => {
  const m = (brier: number, ece: number, precision: number, recall: number) => ({
    n: 10,
    positives: 5,
    brier,
    ece,
    logLoss: 0,
    at: { threshold: 0.55, mitigations: 5, truePositives: 4, falsePositives: 1, falseNegatives: 1, precision, recall },
  });
  it('makes the learned model the default only when it is better on every held-out check', () => {
    const kit = (before: number, falses: number) => ({ detectedBeforeBreach: { count: before }, falseMitigations: falses }) as never;
    const kitEqual = { seeds: ['1'], learned: kit(9, 2), formula: kit(9, 2) };
    expect(decide(m(0.05, 0.04, 0.98, 0.9), m(0.17, 0.29, 0.92, 0.83), undefined, 'f1-x', kitEqual).default).toBe('learned');
    // Without the independent kit there is no test the model cannot have fitted: the formula stays.
    expect(decide(m(0.05, 0.04, 0.98, 0.9), m(0.17, 0.29, 0.92, 0.83), undefined, 'f1-x').default).toBe('formula');
    const kitWorse = decide(m(0.05, 0.04, 0.98, 0.9), m(0.17, 0.29, 0.92, 0.83), undefined, 'f1-x', { seeds: ['1'], learned: kit(9, 3), formula: kit(9, 2) });
    expect(kitWorse.default).toBe('formula');
    expect(kitWorse.reason).toMatch(/independent kit: false mitigations 3 vs formula 2/);
    const worse = decide(m(0.05, 0.04, 0.9, 0.9), m(0.17, 0.29, 0.92, 0.83), undefined, 'f1-x', kitEqual);
    expect(worse.default).toBe('formula');
    expect(worse.reason).toMatch(/precision at threshold 0.9000 vs formula 0.9200/);
    const loop = { learned: { detected: 4, falseMitigations: 0 }, formula: { detected: 5, falseMitigations: 0 } } as never;
    expect(decide(m(0.05, 0.04, 0.98, 0.9), m(0.17, 0.29, 0.92, 0.83), loop, 'f1-x', kitEqual).default).toBe('formula');
  });
});

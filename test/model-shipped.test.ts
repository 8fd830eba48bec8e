import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { FEATURE_VERSION } from '../src/model/features.js';
import { closedLoop } from '../src/model/evaluate.js';
import { loadConfidenceModel, readSelection, shippedModelDir } from '../src/model/load.js';

/** The model shipped in models/confidence: loadable, consistent with its selection, and safe on the committed fixtures. */

const config = parseConfig({});

describe('the shipped confidence model', () => {
  const dir = shippedModelDir();

  it('is the current feature version and matches selection.json', async () => {
    expect(dir.endsWith(join('models', 'confidence'))).toBe(true);
    const selection = readSelection(dir)!;
    expect(['learned', 'formula']).toContain(selection.default);
    const m = (await loadConfidenceModel(dir, { ignoreSelection: true }))!;
    expect(m.featureVersion).toBe(FEATURE_VERSION);
    expect(m.version).toBe(selection.modelVersion);
    expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain(m.version);
    m.dispose();
  });

  it('deciding on the committed fixtures (seed 1, in neither its training nor its held-out set), mitigates every incident with no false mitigation', async () => {
    const m = (await loadConfidenceModel(dir, { ignoreSelection: true }))!;
    const { summary } = closedLoop([1], config, m.model);
    expect(summary).toMatchObject({ incidents: 5, detected: 5, localizationAccuracy: 1, falseMitigations: 0, trapMitigations: 0 });
    expect(summary.beforeBreach).toBeGreaterThanOrEqual(4);
    m.dispose();
  });
});

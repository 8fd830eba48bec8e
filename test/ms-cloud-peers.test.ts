import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadMsCloudGroup } from '../src/eval/ms-cloud.js';
import { evaluatePeerLocalization } from '../src/eval/peer-eval.js';
import { defaultDetectionConfig } from '../src/config/detection.js';
import { sharedData } from './support/shared-data.js';

// Real labels from Microsoft's cloud monitoring set: 22 dependencies of one middle-tier service
// (hourly latency), several events where one dependency degrades while the others stay normal.
// Thresholds sit at what the default configuration reaches today (see README, "Evidence").
const msCloud = sharedData(join('ms-cloud-monitoring', 'data'), 'middle-tier-api-dependency-latency', 'ms-cloud peer localization');

describe.skipIf(msCloud.skip)('peer localization on ms-cloud middle-tier dependency latency', () => {
  // Loaded in beforeAll: a skipped describe still runs its body, and the corpus may be absent.
  let r: ReturnType<typeof evaluatePeerLocalization>;
  beforeAll(() => {
    const group = loadMsCloudGroup('middle-tier-api-dependency-latency', msCloud.dir);
    r = evaluatePeerLocalization(group, defaultDetectionConfig(), { exclude: ['outbound-01'], toleranceMs: 2 * 3600_000 });
  });

  it('finds the single-dependency events the experts labelled', () => {
    expect(r.events.length).toBe(9);
    // 5 right, 1 wrong since confirmed episodes need no minimum length (4 and 3 before).
    expect(r.hits).toBeGreaterThanOrEqual(5);
    expect(r.wrong).toBeLessThanOrEqual(1);
  });

  it('keeps local verdicts outside labelled events bounded', () => {
    // Mostly on outbound-23 and -16, which are 93 % and 99 % zeros: every non-zero hour looks local.
    // 70 today.
    expect(r.falseLocal).toBeLessThanOrEqual(75);
  });
});

/**
 * The independent scenario kit (../shared/eval, written apart from fixtures/), run end to end on a
 * seed nobody tuned on: its generator, the pipeline in process, its own scorer. Pins what must hold
 * on data of other names, units and shapes with the default configuration: quiet days and campaigns
 * stay quiet, and real incidents are mitigated on the right stack.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { defaultKitDir, evaluateKit, kitAvailable } from '../src/eval/kit-eval.js';

const kitDir = defaultKitDir();
const run = kitAvailable(kitDir) || process.env['CI'] === 'true';
if (!run) console.log(`skipping the independent kit checks: no gen.mjs/score.mjs in ${kitDir} (set SHARED_DIR)`);

describe.skipIf(!run)('independent scenario kit, default configuration', () => {
  it('a quiet day and a marketing campaign raise no mitigation; a bad deploy and a memory leak are mitigated on their stack', async () => {
    const kit = await evaluateKit({
      kitDir,
      seeds: ['424242'],
      families: 'quiet,campaign,bad_deploy,memory_leak',
      config: parseConfig({}),
      workDir: mkdtempSync(join(tmpdir(), 'hb-kit-test-')),
    });
    const scenarios = kit.seeds[0]!.scenarios;
    const byFamily = (f: string) => scenarios.find((s) => s.family === f)!;
    expect(byFamily('quiet').falseMitigations).toBe(0);
    expect(byFamily('campaign').falseMitigations).toBe(0);
    expect(kit.pooled.trapMitigations).toBe(0);
    expect(byFamily('bad_deploy').incidents.every((i) => i.detected)).toBe(true);
    expect(byFamily('memory_leak').incidents.every((i) => i.detected)).toBe(true);
    // The memory leak climbs for hours: it is mitigated well before its breach.
    expect(byFamily('memory_leak').incidents[0]!.leadMin!).toBeGreaterThan(15);
    expect(kit.pooled.localization.accuracy).toBe(1);
  }, 120_000);
});
